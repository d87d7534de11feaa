//! Any byte string must either load as a fastText model — a classifier
//! (then predict) or word vectors (then a word's vector) — or give an error:
//! never panic. The reader memory-maps files, so each input goes through a
//! file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retarget_fasttext::FastTextModel;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("retarget-fuzz-{}.ftz", std::process::id()));
    std::fs::write(&path, data).expect("temp file");
    if let Ok(model) = FastTextModel::open(&path) {
        let _ = model.predict("hello wörld __label__x a b c", 3, 0.0);
    }
    if let Ok(model) = FastTextModel::open_word_vectors(&path) {
        let _ = model.word_vector("wörld");
        let _ = model.word_vector("</s>");
    }
});
