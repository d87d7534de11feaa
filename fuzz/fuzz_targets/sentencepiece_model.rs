//! Any byte string must either load as a SentencePiece model (and then
//! segment text) or give an error: never panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = retarget_eval::sentencepiece::SentencePieceModel::from_bytes(data, Path::new("fuzz.model")) {
        let _ = model.encode_as_pieces("  Hello, wörld!  ١٢٣ 😀 ｱｲｳ\tx ");
    }
});
