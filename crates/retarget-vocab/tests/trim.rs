//! `trim` on the fixture models (byte-level BPE, WordPiece and Unigram
//! tokenizers in real HF layout): same token strings on kept-token text,
//! embedding rows copied, ids renumbered everywhere, bad input refused.

use std::path::{Path, PathBuf};

use retarget_fixtures::corpus::lines;
use retarget_fixtures::{write_fixture, Fixture};
use retarget_vocab::tokenizer::usage::Selection;
use retarget_vocab::trim::read_corpus;
use retarget_vocab::{trim, TrimOptions, TrimReport, VocabError};
use safetensors::SafeTensors;
use tokenizers::Tokenizer;

fn options(corpus: PathBuf) -> TrimOptions {
    TrimOptions {
        corpus: read_corpus(&[corpus]).unwrap(),
        selection: Selection::MinCount(1),
        keep_tokens: None,
        pad_to_multiple: None,
        max_shard_bytes: 5_000_000_000,
    }
}

/// The first `n` fixture corpus lines as a file.
fn corpus(dir: &Path, n: usize) -> PathBuf {
    let path = dir.join("corpus.txt");
    std::fs::write(&path, lines()[..n].join("\n")).unwrap();
    path
}

fn rows(dir: &Path, name: &str) -> (Vec<usize>, Vec<u8>) {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(name).unwrap();
    (t.shape().to_vec(), t.data().to_vec())
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn trim_fixture(
    fixture: Fixture,
    n_lines: usize,
    pad: Option<usize>,
) -> (tempfile::TempDir, PathBuf, TrimReport) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join(fixture.name());
    write_fixture(fixture, &model).unwrap();
    let mut opts = options(corpus(dir.path(), n_lines));
    opts.pad_to_multiple = pad;
    let report = trim(&model, &dir.path().join("out"), &opts).unwrap();
    (dir, model, report)
}

/// Every corpus line tokenizes to the same token strings; every kept token's
/// rows are the original rows.
fn check_same_tokens_and_rows(model: &Path, out: &Path, n_lines: usize, tensors: &[&str]) {
    let original = Tokenizer::from_file(model.join("tokenizer.json")).unwrap();
    let trimmed = Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
    for line in &lines()[..n_lines] {
        let a = original.encode(*line, true).unwrap();
        let b = trimmed.encode(*line, true).unwrap();
        assert_eq!(a.get_tokens(), b.get_tokens(), "{line}");
    }
    for name in tensors {
        let (shape_a, data_a) = rows(model, name);
        let (shape_b, data_b) = rows(out, name);
        let row = data_a.len() / shape_a[0];
        for (new_id, token) in
            (0..trimmed.get_vocab_size(true)).map(|i| (i, trimmed.id_to_token(i as u32).unwrap()))
        {
            let old_id = original.token_to_id(&token).unwrap() as usize;
            assert_eq!(
                &data_b[new_id * row..(new_id + 1) * row],
                &data_a[old_id * row..(old_id + 1) * row],
                "{name} row of {token:?}"
            );
        }
        assert_eq!(shape_b[1..], shape_a[1..]);
    }
}

#[test]
fn byte_level_bpe_keeps_merges_and_the_tied_head() {
    let (dir, model, report) = trim_fixture(Fixture::LlamaTied, 4, Some(64));
    let out = dir.path().join("out");
    assert!(report.tokens_after < report.tokens_before, "{report:?}");
    assert_eq!(report.rows_after % 64, 0);
    check_same_tokens_and_rows(&model, &out, 4, &["model.embed_tokens.weight"]);
    assert_eq!(
        json(&out.join("config.json"))["vocab_size"],
        report.rows_after
    );
    let (shape, _) = rows(&out, "model.embed_tokens.weight");
    assert_eq!(shape[0], report.rows_after);
}

#[test]
fn untied_head_is_sliced_like_the_embedding() {
    let (dir, model, report) = trim_fixture(Fixture::LlamaUntied, 6, None);
    let out = dir.path().join("out");
    check_same_tokens_and_rows(
        &model,
        &out,
        6,
        &["model.embed_tokens.weight", "lm_head.weight"],
    );
    assert_eq!(rows(&out, "lm_head.weight").0[0], report.tokens_after);
}

#[test]
fn wordpiece_renumbers_the_post_processor_and_special_ids() {
    let (dir, model, report) = trim_fixture(Fixture::Bert, 5, None);
    let out = dir.path().join("out");
    assert!(report.tokens_after < report.tokens_before);
    check_same_tokens_and_rows(&model, &out, 5, &["bert.embeddings.word_embeddings.weight"]);
    let trimmed = Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
    let encoding = trimmed.encode(lines()[0], true).unwrap();
    assert_eq!(encoding.get_tokens()[0], "[CLS]");
    assert_eq!(encoding.get_ids()[0], trimmed.token_to_id("[CLS]").unwrap());
}

#[test]
fn unigram_keeps_scores_and_unknown() {
    let (dir, model, _) = trim_fixture(Fixture::T5, 3, None);
    let out = dir.path().join("out");
    check_same_tokens_and_rows(&model, &out, 3, &["shared.weight"]);
    let tok = json(&out.join("tokenizer.json"));
    let unk = tok["model"]["unk_id"].as_u64().unwrap() as usize;
    assert_eq!(tok["model"]["vocab"][unk][0], "<unk>");
}

#[test]
fn keep_top_and_keep_tokens_limit_and_extend_the_selection() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bert");
    write_fixture(Fixture::Bert, &model).unwrap();
    let keep = dir.path().join("keep.txt");
    std::fs::write(&keep, "[MASK]\n").unwrap();
    let mut opts = options(corpus(dir.path(), 10));
    opts.selection = Selection::Top(5);
    opts.keep_tokens = Some(keep);
    let report = trim(&model, &dir.path().join("out"), &opts).unwrap();
    assert_eq!(report.kept.used, 5);
    let trimmed = Tokenizer::from_file(dir.path().join("out/tokenizer.json")).unwrap();
    assert!(trimmed.token_to_id("[MASK]").is_some());
}

#[test]
fn bad_inputs_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n  \n").unwrap();
    let latin1 = dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9\n").unwrap();
    let keep = dir.path().join("keep.txt");
    std::fs::write(&keep, "no-such-token-here\n").unwrap();
    let no_tokenizer = dir.path().join("no-tokenizer");
    write_fixture(Fixture::LlamaTied, &no_tokenizer).unwrap();
    std::fs::remove_file(no_tokenizer.join("tokenizer.json")).unwrap();
    let good = corpus(dir.path(), 3);
    // The corpus is read before the library sees it.
    for (path, expected) in [(&empty, "no text"), (&latin1, "UTF-8")] {
        let err = read_corpus(std::slice::from_ref(path)).unwrap_err();
        assert!(
            err.is_bad_input() && err.to_string().contains(expected),
            "{err}"
        );
    }
    let no_text = TrimOptions {
        corpus: Vec::new(),
        ..options(good.clone())
    };
    let cases: Vec<(PathBuf, TrimOptions, &str)> = vec![
        (model.clone(), no_text, "no text"),
        (
            model.clone(),
            TrimOptions {
                keep_tokens: Some(keep),
                ..options(good.clone())
            },
            "not a token",
        ),
        (no_tokenizer, options(good), "no tokenizer.json"),
    ];
    let out = dir.path().join("out");
    for (model, opts, expected) in cases {
        let err: VocabError = trim(&model, &out, &opts).unwrap_err();
        assert!(
            err.is_bad_input() && err.to_string().contains(expected),
            "{err}"
        );
        assert!(!out.exists());
    }
}
