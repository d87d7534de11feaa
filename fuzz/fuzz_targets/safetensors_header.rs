//! Any byte string must either parse into a header whose tensors lie inside
//! the buffer without overlapping, or give an error: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use retarget_model::safetensors_file::parse_header;

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = parse_header(data) {
        let data_len = data.len() - header.data_start();
        let mut end = 0;
        for t in &header.tensors {
            assert!(t.data_offsets.0 >= end && t.data_offsets.1 <= data_len);
            end = t.data_offsets.1;
        }
    }
});
