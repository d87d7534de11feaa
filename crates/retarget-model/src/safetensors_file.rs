//! Reading and validating one `.safetensors` file through a memory map.
//!
//! The header is parsed here rather than by `safetensors::SafeTensors`
//! because that parser reports most problems as one anonymous "invalid
//! offset" or "incomplete buffer" without the tensor or the numbers; a user
//! with a broken 10 GB shard needs to know which tensor is wrong and how. The
//! rules are the same (8-byte little-endian length, JSON header of at most
//! 100 MB, contiguous in-bounds data covering the rest of the file), and the
//! `Dtype` type and tensor views still come from the `safetensors` crate.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use safetensors::Dtype;
use serde::Deserialize;

use crate::error::{ModelError, Result};

/// Largest header the format allows (the `safetensors` crate's limit).
pub const MAX_HEADER_BYTES: usize = 100_000_000;

/// Where one tensor lives inside a safetensors file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// Tensor name as written in the header.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Shape, outermost dimension first.
    pub shape: Vec<usize>,
    /// Byte range relative to the start of the data section.
    pub data_offsets: (usize, usize),
}

impl TensorEntry {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Number of data bytes.
    pub fn byte_len(&self) -> usize {
        self.data_offsets.1 - self.data_offsets.0
    }
}

/// A parsed and validated safetensors header.
#[derive(Debug, Clone)]
pub struct Header {
    /// Length of the JSON header in bytes (not counting the 8-byte prefix).
    pub header_len: usize,
    /// Tensors ordered by their data offset.
    pub tensors: Vec<TensorEntry>,
    /// The optional `__metadata__` string map.
    pub metadata: Option<HashMap<String, String>>,
}

impl Header {
    /// Byte offset in the file where the data section starts.
    pub fn data_start(&self) -> usize {
        8 + self.header_len
    }
}

#[derive(Deserialize)]
struct RawEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// Parses and validates the header of a complete safetensors file held in
/// `bytes`. Errors are descriptions without the file name; callers add it.
///
/// Checks: the length prefix fits the file, the header is UTF-8 JSON of known
/// dtypes, every tensor's byte range matches its shape and dtype, ranges are
/// in bounds, do not overlap, leave no gaps, and cover the file exactly.
pub fn parse_header(bytes: &[u8]) -> std::result::Result<Header, String> {
    let file_len = bytes.len();
    let prefix: [u8; 8] = bytes
        .get(..8)
        .ok_or_else(|| format!("file is {file_len} bytes, shorter than the 8-byte header length"))?
        .try_into()
        .expect("slice of 8");
    let declared = u64::from_le_bytes(prefix);
    if declared > MAX_HEADER_BYTES as u64 {
        return Err(format!(
            "header length {declared} exceeds the format's limit of {MAX_HEADER_BYTES} bytes"
        ));
    }
    let header_len = declared as usize;
    if 8 + header_len > file_len {
        return Err(format!(
            "header length {header_len} runs past the end of the file ({file_len} bytes): truncated or not a safetensors file"
        ));
    }
    let text = std::str::from_utf8(&bytes[8..8 + header_len])
        .map_err(|e| format!("header is not valid UTF-8: {e}"))?;
    let raw: HashMap<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| format!("header is not valid JSON: {e}"))?;

    let mut metadata = None;
    let mut tensors = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        if name == "__metadata__" {
            let map: HashMap<String, String> = serde_json::from_value(value)
                .map_err(|e| format!("`__metadata__` is not a string map: {e}"))?;
            metadata = Some(map);
            continue;
        }
        let entry: RawEntry = serde_json::from_value(value)
            .map_err(|e| format!("tensor `{name}`: malformed header entry: {e}"))?;
        let dtype: Dtype =
            serde_json::from_value(serde_json::Value::String(entry.dtype.clone()))
                .map_err(|_| format!("tensor `{name}`: unknown dtype `{}`", entry.dtype))?;
        let (start, end) = entry.data_offsets;
        if end < start {
            return Err(format!(
                "tensor `{name}`: data offsets [{start}, {end}) end before they start"
            ));
        }
        let bits = entry
            .shape
            .iter()
            .try_fold(dtype.bitsize(), |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| format!("tensor `{name}`: shape {:?} overflows", entry.shape))?;
        if bits % 8 != 0 || bits / 8 != end - start {
            return Err(format!(
                "tensor `{name}`: shape {:?} of {dtype:?} needs {} bytes but its offsets [{start}, {end}) hold {}",
                entry.shape,
                bits as f64 / 8.0,
                end - start
            ));
        }
        tensors.push(TensorEntry {
            name,
            dtype,
            shape: entry.shape,
            data_offsets: (start, end),
        });
    }
    tensors.sort_by(|a, b| {
        a.data_offsets
            .cmp(&b.data_offsets)
            .then_with(|| a.name.cmp(&b.name))
    });

    let data_len = file_len - 8 - header_len;
    let mut cursor = 0usize;
    let mut previous: Option<&str> = None;
    for t in &tensors {
        let (start, end) = t.data_offsets;
        if end > data_len {
            return Err(format!(
                "tensor `{}`: data offsets [{start}, {end}) are out of bounds: the data section holds {data_len} bytes (file truncated?)",
                t.name
            ));
        }
        if start < cursor {
            return Err(format!(
                "tensor `{}`: data offsets [{start}, {end}) overlap tensor `{}` ending at {cursor}",
                t.name,
                previous.unwrap_or("?")
            ));
        }
        if start > cursor {
            return Err(format!(
                "tensor `{}`: data starts at {start}, leaving a gap of {} bytes after offset {cursor}",
                t.name,
                start - cursor
            ));
        }
        cursor = end;
        previous = Some(&t.name);
    }
    if cursor != data_len {
        return Err(format!(
            "the tensors' data ends at offset {cursor} but the data section holds {data_len} bytes ({} trailing bytes)",
            data_len - cursor
        ));
    }
    Ok(Header {
        header_len,
        tensors,
        metadata,
    })
}

/// One safetensors file, memory-mapped and validated.
#[derive(Debug)]
pub struct SafetensorsFile {
    path: PathBuf,
    mmap: Mmap,
    header: Header,
    by_name: HashMap<String, usize>,
}

impl SafetensorsFile {
    /// Memory-maps and validates `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
        // SAFETY: the map is read-only; retarget never writes into its inputs.
        // Another process truncating the file while it is mapped is outside
        // what any mmap-based reader (including the reference one) can guard.
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| ModelError::io(path, e))?;
        let header = parse_header(&mmap).map_err(|problem| ModelError::invalid(path, problem))?;
        let by_name = header
            .tensors
            .iter()
            .enumerate()
            .map(|(i, t)| (t.name.clone(), i))
            .collect();
        Ok(SafetensorsFile {
            path: path.to_path_buf(),
            mmap,
            header,
            by_name,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Tensors in data order.
    pub fn tensors(&self) -> &[TensorEntry] {
        &self.header.tensors
    }

    /// Looks up a tensor by name.
    pub fn entry(&self, name: &str) -> Option<&TensorEntry> {
        self.by_name.get(name).map(|&i| &self.header.tensors[i])
    }

    /// The raw little-endian bytes of a tensor, borrowed from the map.
    pub fn data(&self, entry: &TensorEntry) -> &[u8] {
        let start = self.header.data_start();
        &self.mmap[start + entry.data_offsets.0..start + entry.data_offsets.1]
    }

    /// Size of the file in bytes.
    pub fn file_len(&self) -> usize {
        self.mmap.len()
    }
}
