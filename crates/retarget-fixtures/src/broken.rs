//! Deliberately broken model files, one per kind of bad input retarget must
//! reject with a clear error.

use std::fs;
use std::io;
use std::path::Path;

/// Bytes of a safetensors file with the given JSON header and `data_len` zero
/// bytes of data (no consistency checks: that is the point).
pub fn safetensors_bytes(header: &str, data_len: usize) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + data_len, 0);
    out
}

/// A named kind of broken safetensors file.
#[derive(Debug, Clone, Copy)]
pub struct BrokenSafetensors {
    /// Short name for test output.
    pub name: &'static str,
    /// The file's bytes.
    pub bytes: fn() -> Vec<u8>,
    /// A phrase the error message must contain.
    pub expect: &'static str,
}

const TWO_F32: &str = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#;

/// Every broken safetensors case.
pub const BROKEN_SAFETENSORS: &[BrokenSafetensors] = &[
    BrokenSafetensors {
        name: "truncated data",
        bytes: || safetensors_bytes(TWO_F32, 12),
        expect: "out of bounds",
    },
    BrokenSafetensors {
        name: "header length past end of file",
        bytes: || {
            let mut b = safetensors_bytes(TWO_F32, 16);
            b[..8].copy_from_slice(&10_000u64.to_le_bytes());
            b
        },
        expect: "runs past the end of the file",
    },
    BrokenSafetensors {
        name: "file shorter than the length prefix",
        bytes: || vec![1, 2, 3],
        expect: "shorter than the 8-byte header length",
    },
    BrokenSafetensors {
        name: "absurd header length",
        bytes: || {
            let mut b = safetensors_bytes(TWO_F32, 16);
            b[..8].copy_from_slice(&u64::MAX.to_le_bytes());
            b
        },
        expect: "exceeds the format's limit",
    },
    BrokenSafetensors {
        name: "out-of-bounds offsets",
        bytes: || {
            safetensors_bytes(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[800,808]}}"#,
                16,
            )
        },
        expect: "out of bounds",
    },
    BrokenSafetensors {
        name: "overlapping offsets",
        bytes: || {
            safetensors_bytes(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                12,
            )
        },
        expect: "overlap",
    },
    BrokenSafetensors {
        name: "unknown dtype",
        bytes: || {
            safetensors_bytes(
                r#"{"a":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}"#,
                8,
            )
        },
        expect: "unknown dtype `F17`",
    },
    BrokenSafetensors {
        name: "shape disagrees with offsets",
        bytes: || {
            safetensors_bytes(
                r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                8,
            )
        },
        expect: "needs 12 bytes",
    },
    BrokenSafetensors {
        name: "malformed header JSON",
        bytes: || {
            safetensors_bytes(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#,
                8,
            )
        },
        expect: "not valid JSON",
    },
];

/// Writes a tiny valid model folder whose `model.safetensors` is replaced by
/// `weights` (so the folder is otherwise loadable).
pub fn folder_with_weights(dir: &Path, weights: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(
        dir.join("config.json"),
        r#"{"model_type": "llama", "vocab_size": 2}"#,
    )?;
    fs::write(dir.join("model.safetensors"), weights)
}

/// A folder with a sharded index whose entries can be made inconsistent:
/// `shard_name` is what the index names, while the real shard is
/// `model-00001-of-00001.safetensors` holding tensors `a` and `b`;
/// `tensor_name` is mapped in addition to `a` and `b`.
pub fn sharded_folder(dir: &Path, shard_name: &str, extra_tensor: Option<&str>) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("config.json"), r#"{"model_type": "llama"}"#)?;
    fs::write(
        dir.join("model-00001-of-00001.safetensors"),
        safetensors_bytes(TWO_F32, 16),
    )?;
    let mut map = serde_json::json!({"a": shard_name, "b": shard_name});
    if let Some(t) = extra_tensor {
        map[t] = serde_json::json!(shard_name);
    }
    let index = serde_json::json!({"metadata": {"total_size": 16}, "weight_map": map});
    fs::write(dir.join("model.safetensors.index.json"), index.to_string())
}

/// A GGUF v3 file with one 256-element tensor of llama.cpp type `ggml_type`
/// (e.g. 16 = IQ2_XXS, which retarget does not read), hand-assembled.
pub fn gguf_with_type(ggml_type: u32) -> Vec<u8> {
    gguf_with_tensor(&[256], ggml_type)
}

/// A GGUF v3 file with one tensor of the given dimensions (llama.cpp order,
/// innermost first) and type, hand-assembled, with 1 KiB of data.
pub fn gguf_with_tensor(dims: &[u64], ggml_type: u32) -> Vec<u8> {
    gguf_with(dims, ggml_type, None)
}

/// A GGUF like [`gguf_with_tensor`] whose metadata also declares
/// `general.alignment` (a u32).
pub fn gguf_with_alignment(alignment: u32) -> Vec<u8> {
    gguf_with(&[256], 0, Some(alignment))
}

fn gguf_with(dims: &[u64], ggml_type: u32, alignment: Option<u32>) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"GGUF");
    b.extend_from_slice(&3u32.to_le_bytes());
    b.extend_from_slice(&1u64.to_le_bytes()); // tensors
    let entries = 1 + u64::from(alignment.is_some());
    b.extend_from_slice(&entries.to_le_bytes()); // metadata entries
    if let Some(a) = alignment {
        let key = b"general.alignment";
        b.extend_from_slice(&(key.len() as u64).to_le_bytes());
        b.extend_from_slice(key);
        b.extend_from_slice(&4u32.to_le_bytes()); // u32
        b.extend_from_slice(&a.to_le_bytes());
    }
    let key = b"general.architecture";
    b.extend_from_slice(&(key.len() as u64).to_le_bytes());
    b.extend_from_slice(key);
    b.extend_from_slice(&8u32.to_le_bytes()); // string
    b.extend_from_slice(&5u64.to_le_bytes());
    b.extend_from_slice(b"llama");
    b.extend_from_slice(&1u64.to_le_bytes());
    b.extend_from_slice(b"x");
    b.extend_from_slice(&(dims.len() as u32).to_le_bytes());
    for d in dims {
        b.extend_from_slice(&d.to_le_bytes());
    }
    b.extend_from_slice(&ggml_type.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // offset
    let align = alignment.filter(|&a| a > 0).unwrap_or(32) as usize;
    while b.len() % align != 0 {
        b.push(0);
    }
    b.resize(b.len() + 1024, 0);
    b
}
