//! Reading GGUF files (v2/v3) through candle's GGUF parser: metadata, tensor
//! layout, bounds checks and dequantization to `f32`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value, VersionedMagic};
use candle_core::quantized::GgmlDType;
use candle_core::Device;

use crate::error::{ModelError, Result};

/// One tensor of a GGUF file.
#[derive(Debug, Clone)]
pub struct GgufTensor {
    /// Tensor name (llama.cpp naming, e.g. `blk.0.attn_q.weight`).
    pub name: String,
    /// Storage type.
    pub dtype: GgmlDType,
    /// Shape in row-major order (outermost first), as PyTorch would see it.
    pub shape: Vec<usize>,
    /// Absolute byte offset of the data in the file.
    pub offset: u64,
    /// Number of data bytes.
    pub byte_len: u64,
}

impl GgufTensor {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// An opened, validated GGUF file.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    content: Content,
    tensors: Vec<GgufTensor>,
    file_len: u64,
}

/// llama.cpp type ids that candle cannot read, for error messages.
fn ggml_type_name(id: u32) -> Option<&'static str> {
    Some(match id {
        4 => "Q4_2 (removed)",
        5 => "Q4_3 (removed)",
        16 => "IQ2_XXS",
        17 => "IQ2_XS",
        18 => "IQ3_XXS",
        19 => "IQ1_S",
        20 => "IQ4_NL",
        21 => "IQ3_S",
        22 => "IQ2_S",
        23 => "IQ4_XS",
        24 => "I8",
        25 => "I16",
        26 => "I32",
        27 => "I64",
        28 => "F64",
        29 => "IQ1_M",
        34 => "TQ1_0",
        35 => "TQ2_0",
        39 => "MXFP4",
        _ => return None,
    })
}

/// Supported storage types, for error messages.
pub const SUPPORTED_GGML_TYPES: &str =
    "F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K";

/// candle's message without the backtrace it appends when `RUST_BACKTRACE`
/// is set.
pub fn candle_message(err: &candle_core::Error) -> String {
    err.to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn map_read_error(path: &Path, err: candle_core::Error) -> ModelError {
    let text = candle_message(&err);
    if let Some(rest) = text.strip_prefix("unknown dtype for tensor ") {
        if let Ok(id) = rest.trim().parse::<u32>() {
            let name = ggml_type_name(id).unwrap_or("unknown");
            return ModelError::unsupported(
                path,
                format!("GGUF tensor type {id} ({name}); retarget reads {SUPPORTED_GGML_TYPES}"),
            );
        }
    }
    if text.contains("failed to fill whole buffer") || text.contains("UnexpectedEof") {
        return ModelError::invalid(path, "GGUF header is truncated");
    }
    ModelError::invalid(path, format!("not a valid GGUF file: {text}"))
}

/// Runs candle's GGUF header parser, turning a panic inside it into an
/// error: candle 0.11 divides by `general.alignment` unchecked, so a file
/// declaring alignment 0 panics (found by the gguf_header fuzz target). The
/// panic hook is silenced meanwhile so the user sees one clear error, not a
/// panic message; files are opened before any parallel work starts.
fn read_content<R: std::io::Read + std::io::Seek>(path: &Path, reader: &mut R) -> Result<Content> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Content::read(reader)));
    std::panic::set_hook(hook);
    match result {
        Ok(parsed) => parsed.map_err(|e| map_read_error(path, e)),
        Err(_) => Err(ModelError::invalid(
            path,
            "malformed GGUF header (e.g. `general.alignment` of 0)",
        )),
    }
}

/// Parses a GGUF image held in memory and validates its tensor layout, as
/// [`GgufFile::open`] does for a file; returns the number of tensors. This is
/// the entry point of the GGUF fuzz target.
pub fn validate_bytes(bytes: &[u8]) -> Result<usize> {
    let path = Path::new("<memory>");
    let content = read_content(path, &mut std::io::Cursor::new(bytes))?;
    Ok(layout(path, &content, bytes.len() as u64)?.len())
}

impl GgufFile {
    /// Opens `path`, parses its header and checks that every tensor's data
    /// lies inside the file and that no two tensors overlap.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| ModelError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| ModelError::io(path, e))?.len();
        let mut reader = BufReader::new(file);
        let content = read_content(path, &mut reader)?;
        let tensors = layout(path, &content, file_len)?;
        Ok(GgufFile {
            path: path.to_path_buf(),
            content,
            tensors,
            file_len,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// GGUF format version (1, 2 or 3).
    pub fn version(&self) -> u32 {
        match self.content.magic {
            VersionedMagic::GgufV1 => 1,
            VersionedMagic::GgufV2 => 2,
            VersionedMagic::GgufV3 => 3,
        }
    }

    /// Size of the file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Tensors in data order.
    pub fn tensors(&self) -> &[GgufTensor] {
        &self.tensors
    }

    /// Looks a tensor up by name.
    pub fn tensor(&self, name: &str) -> Option<&GgufTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The raw metadata value of `key`.
    pub fn meta(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    /// A string metadata value.
    pub fn meta_str(&self, key: &str) -> Option<&str> {
        match self.meta(key)? {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// An integer metadata value of any integer width.
    pub fn meta_u64(&self, key: &str) -> Option<u64> {
        value_u64(self.meta(key)?)
    }

    /// A float (or integer) metadata value.
    pub fn meta_f64(&self, key: &str) -> Option<f64> {
        match self.meta(key)? {
            Value::F32(v) => Some(*v as f64),
            Value::F64(v) => Some(*v),
            other => value_u64(other).map(|v| v as f64),
        }
    }

    /// A boolean metadata value.
    pub fn meta_bool(&self, key: &str) -> Option<bool> {
        match self.meta(key)? {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// An array metadata value.
    pub fn meta_array(&self, key: &str) -> Option<&[Value]> {
        match self.meta(key)? {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.meta_str("general.architecture")
    }

    /// Reads one tensor as candle's quantized tensor (blocks as stored) on `device`.
    pub fn qtensor(&self, name: &str, device: &Device) -> Result<candle_core::quantized::QTensor> {
        let file = File::open(&self.path).map_err(|e| ModelError::io(&self.path, e))?;
        let mut reader = BufReader::new(file);
        self.content.tensor(&mut reader, name, device).map_err(|e| {
            ModelError::invalid(
                &self.path,
                format!("tensor `{name}`: {}", candle_message(&e)),
            )
        })
    }

    /// Reads and dequantizes one tensor to `f32`, in row-major order.
    pub fn dequantize(&self, tensor: &GgufTensor) -> Result<Vec<f32>> {
        let file = File::open(&self.path).map_err(|e| ModelError::io(&self.path, e))?;
        let mut reader = BufReader::new(file);
        let fail = |e: candle_core::Error| {
            ModelError::invalid(
                &self.path,
                format!("tensor `{}`: {}", tensor.name, candle_message(&e)),
            )
        };
        let q = self
            .content
            .tensor(&mut reader, &tensor.name, &Device::Cpu)
            .map_err(fail)?;
        // Free each stage as soon as the next exists: memory peaks at two
        // copies of the tensor, not four.
        let dense = q.dequantize(&Device::Cpu).map_err(fail)?;
        drop(q);
        dense
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(fail)
    }
}

/// Any integer metadata value as `u64` (negative values give `None`).
pub fn value_u64(value: &Value) -> Option<u64> {
    match *value {
        Value::U8(v) => Some(v as u64),
        Value::U16(v) => Some(v as u64),
        Value::U32(v) => Some(v as u64),
        Value::U64(v) => Some(v),
        Value::I8(v) => u64::try_from(v).ok(),
        Value::I16(v) => u64::try_from(v).ok(),
        Value::I32(v) => u64::try_from(v).ok(),
        Value::I64(v) => u64::try_from(v).ok(),
        _ => None,
    }
}

/// Any numeric metadata value as `f64`.
pub fn value_f64(value: &Value) -> Option<f64> {
    match *value {
        Value::F32(v) => Some(v as f64),
        Value::F64(v) => Some(v),
        Value::U8(v) => Some(v as f64),
        Value::U16(v) => Some(v as f64),
        Value::U32(v) => Some(v as f64),
        Value::U64(v) => Some(v as f64),
        Value::I8(v) => Some(v as f64),
        Value::I16(v) => Some(v as f64),
        Value::I32(v) => Some(v as f64),
        Value::I64(v) => Some(v as f64),
        _ => None,
    }
}

/// Name of a storage type as llama.cpp spells it.
pub fn ggml_dtype_name(dtype: GgmlDType) -> &'static str {
    match dtype {
        GgmlDType::F32 => "F32",
        GgmlDType::F16 => "F16",
        GgmlDType::BF16 => "BF16",
        GgmlDType::Q4_0 => "Q4_0",
        GgmlDType::Q4_1 => "Q4_1",
        GgmlDType::Q5_0 => "Q5_0",
        GgmlDType::Q5_1 => "Q5_1",
        GgmlDType::Q8_0 => "Q8_0",
        GgmlDType::Q8_1 => "Q8_1",
        GgmlDType::Q2K => "Q2_K",
        GgmlDType::Q3K => "Q3_K",
        GgmlDType::Q4K => "Q4_K",
        GgmlDType::Q5K => "Q5_K",
        GgmlDType::Q6K => "Q6_K",
        GgmlDType::Q8K => "Q8_K",
    }
}

fn layout(path: &Path, content: &Content, file_len: u64) -> Result<Vec<GgufTensor>> {
    let mut tensors = Vec::with_capacity(content.tensor_infos.len());
    for (name, info) in &content.tensor_infos {
        // The dimensions come straight from the file: multiply with checks
        // (found by the gguf_header fuzz target).
        let numel = info
            .shape
            .dims()
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| {
                ModelError::invalid(
                    path,
                    format!("tensor `{name}`: shape {:?} overflows", info.shape.dims()),
                )
            })?;
        let block = info.ggml_dtype.block_size();
        if numel % block != 0 {
            return Err(ModelError::invalid(
                path,
                format!(
                    "tensor `{name}`: {numel} elements is not a multiple of the {} block size {block}",
                    ggml_dtype_name(info.ggml_dtype)
                ),
            ));
        }
        let byte_len = (numel / block)
            .checked_mul(info.ggml_dtype.type_size())
            .ok_or_else(|| ModelError::invalid(path, format!("tensor `{name}`: size overflows")))?
            as u64;
        let offset = content
            .tensor_data_offset
            .checked_add(info.offset)
            .ok_or_else(|| {
                ModelError::invalid(path, format!("tensor `{name}`: offset overflows"))
            })?;
        match offset.checked_add(byte_len) {
            Some(end) if end <= file_len => {}
            _ => {
                return Err(ModelError::invalid(
                    path,
                    format!(
                        "tensor `{name}`: data [{offset}, {}) is out of bounds: the file has {file_len} bytes (truncated?)",
                        offset.saturating_add(byte_len)
                    ),
                ))
            }
        }
        tensors.push(GgufTensor {
            name: name.clone(),
            dtype: info.ggml_dtype,
            shape: info.shape.dims().to_vec(),
            offset,
            byte_len,
        });
    }
    tensors.sort_by(|a, b| a.offset.cmp(&b.offset).then_with(|| a.name.cmp(&b.name)));
    for pair in tensors.windows(2) {
        if pair[0].offset + pair[0].byte_len > pair[1].offset {
            return Err(ModelError::invalid(
                path,
                format!(
                    "tensors `{}` and `{}` overlap: [{}, {}) and [{}, ...)",
                    pair[0].name,
                    pair[1].name,
                    pair[0].offset,
                    pair[0].offset + pair[0].byte_len,
                    pair[1].offset
                ),
            ));
        }
    }
    Ok(tensors)
}
