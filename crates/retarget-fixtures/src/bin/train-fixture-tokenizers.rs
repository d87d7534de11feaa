//! Retrains the fixture tokenizers with the `tokenizers` crate and writes them
//! to `DIR/{byte_level_bpe,wordpiece,unigram}.json` (the committed copies live
//! in `crates/retarget-fixtures/data/`).

use std::path::PathBuf;

use retarget_fixtures::tokenizers_train as train;

fn main() -> std::io::Result<()> {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other("usage: train-fixture-tokenizers DIR"))?;
    std::fs::create_dir_all(&out)?;
    let trained = [
        (
            "byte_level_bpe.json",
            train::byte_level_bpe(train::BPE_VOCAB),
        ),
        ("wordpiece.json", train::wordpiece(train::WORDPIECE_VOCAB)),
        ("unigram.json", train::unigram(train::UNIGRAM_VOCAB)),
    ];
    for (name, tokenizer) in trained {
        let path = out.join(name);
        tokenizer
            .save(&path, true)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        println!("{}", path.display());
    }
    Ok(())
}
