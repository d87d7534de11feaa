//! Any byte string must either parse as a GGUF header with an in-bounds tensor
//! layout or give an error: never panic, never allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = retarget_model::gguf::validate_bytes(data);
});
