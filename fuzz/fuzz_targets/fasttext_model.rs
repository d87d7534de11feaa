//! Any byte string must either load as a fastText classifier (and then
//! predict) or give an error: never panic. The reader memory-maps files, so
//! each input goes through a file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("retarget-fuzz-{}.ftz", std::process::id()));
    std::fs::write(&path, data).expect("temp file");
    if let Ok(model) = retarget_eval::langid::fasttext::FastTextModel::open(&path) {
        let _ = model.predict("hello wörld __label__x a b c", 3, 0.0);
    }
});
