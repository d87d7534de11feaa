//! Writing GGUF files (version 3): metadata, tensor infos, and tensor data
//! streamed tensor by tensor, each quantized on all cores as it is written.
//! The layout is llama.cpp's `gguf.cpp`: header, key/value pairs, tensor
//! infos (dimensions innermost first), padding to `general.alignment`
//! (32), then every tensor's data at an aligned offset.

pub mod kquants;
pub mod quants;

use std::io::Write;

use rayon::prelude::*;

pub use quants::GgufType;

/// GGUF's alignment of tensor data (llama.cpp's default).
pub const ALIGNMENT: usize = 32;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// `UINT32`.
    U32(u32),
    /// `INT32`.
    I32(i32),
    /// `FLOAT32`.
    F32(f32),
    /// `BOOL`.
    Bool(bool),
    /// `STRING`.
    String(String),
    /// `ARRAY` of `STRING`.
    Strings(Vec<String>),
    /// `ARRAY` of `INT32`.
    I32s(Vec<i32>),
    /// `ARRAY` of `FLOAT32`.
    F32s(Vec<f32>),
}

/// A tensor to write: its name, row-major shape and storage type.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufTensorPlan {
    /// llama.cpp's name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Shape, outermost first (as PyTorch sees it).
    pub shape: Vec<usize>,
    /// Storage type.
    pub dtype: GgufType,
}

impl GgufTensorPlan {
    /// Bytes of the tensor's data.
    pub fn byte_len(&self) -> usize {
        self.dtype.bytes_for(self.shape.iter().product())
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, value: &MetaValue) {
    const UINT32: u32 = 4;
    const INT32: u32 = 5;
    const FLOAT32: u32 = 6;
    const BOOL: u32 = 7;
    const STRING: u32 = 8;
    const ARRAY: u32 = 9;
    let array = |out: &mut Vec<u8>, element: u32, len: usize| {
        out.extend(ARRAY.to_le_bytes());
        out.extend(element.to_le_bytes());
        out.extend((len as u64).to_le_bytes());
    };
    match value {
        MetaValue::U32(v) => {
            out.extend(UINT32.to_le_bytes());
            out.extend(v.to_le_bytes());
        }
        MetaValue::I32(v) => {
            out.extend(INT32.to_le_bytes());
            out.extend(v.to_le_bytes());
        }
        MetaValue::F32(v) => {
            out.extend(FLOAT32.to_le_bytes());
            out.extend(v.to_le_bytes());
        }
        MetaValue::Bool(v) => {
            out.extend(BOOL.to_le_bytes());
            out.push(u8::from(*v));
        }
        MetaValue::String(s) => {
            out.extend(STRING.to_le_bytes());
            put_string(out, s);
        }
        MetaValue::Strings(items) => {
            array(out, STRING, items.len());
            items.iter().for_each(|s| put_string(out, s));
        }
        MetaValue::I32s(items) => {
            array(out, INT32, items.len());
            items.iter().for_each(|v| out.extend(v.to_le_bytes()));
        }
        MetaValue::F32s(items) => {
            array(out, FLOAT32, items.len());
            items.iter().for_each(|v| out.extend(v.to_le_bytes()));
        }
    }
}

fn padding(len: usize) -> usize {
    len.next_multiple_of(ALIGNMENT) - len
}

/// The header of a GGUF file: magic, version, counts, metadata, tensor
/// infos with their data offsets, padded to the alignment.
pub fn header(metadata: &[(String, MetaValue)], tensors: &[GgufTensorPlan]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(b"GGUF");
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (key, value) in metadata {
        put_string(&mut out, key);
        put_value(&mut out, value);
    }
    let mut offset = 0usize;
    for tensor in tensors {
        put_string(&mut out, &tensor.name);
        out.extend((tensor.shape.len() as u32).to_le_bytes());
        for &dim in tensor.shape.iter().rev() {
            out.extend((dim as u64).to_le_bytes());
        }
        out.extend(tensor.dtype.ggml_id().to_le_bytes());
        out.extend((offset as u64).to_le_bytes());
        offset += tensor.byte_len();
        offset += padding(offset);
    }
    out.resize(out.len() + padding(out.len()), 0);
    out
}

/// The total size of the file [`write`] produces.
pub fn file_len(metadata: &[(String, MetaValue)], tensors: &[GgufTensorPlan]) -> u64 {
    let data: usize = tensors
        .iter()
        .map(|t| t.byte_len() + padding(t.byte_len()))
        .sum();
    (header(metadata, tensors).len() + data) as u64
}

/// `values` (rows of `row` values, `row` a multiple of the type's block)
/// in `dtype`, rows quantized in parallel, in order.
pub fn encode(dtype: GgufType, values: &[f32], row: usize) -> Vec<u8> {
    // Tasks of about 64 Ki values: enough to spread, few enough to gather.
    let rows_per_task = (65_536 / row.max(1)).max(1);
    let parts: Vec<Vec<u8>> = values
        .par_chunks(rows_per_task * row)
        .map(|chunk| {
            let mut out = Vec::with_capacity(dtype.bytes_for(chunk.len()));
            for r in chunk.chunks_exact(row) {
                dtype.quantize_into(r, &mut out);
            }
            out
        })
        .collect();
    parts.concat()
}

/// Writes a GGUF file to `out`: the header, then each tensor's data as
/// `data(i)` produces it (the values of tensor `i`, row-major f32), encoded
/// in its type; `on_tensor` is called with each tensor's byte count after
/// it is written. A tensor whose values do not match its shape is an error
/// (returned as `Err(message)`).
pub fn write<W: Write, E>(
    out: &mut W,
    metadata: &[(String, MetaValue)],
    tensors: &[GgufTensorPlan],
    mut data: impl FnMut(usize) -> Result<Vec<f32>, E>,
    mut io_error: impl FnMut(std::io::Error) -> E,
    mut on_tensor: impl FnMut(u64),
) -> Result<(), E> {
    out.write_all(&header(metadata, tensors))
        .map_err(&mut io_error)?;
    for (index, tensor) in tensors.iter().enumerate() {
        let values = data(index)?;
        let row = tensor.shape.last().copied().unwrap_or(1);
        let bytes = encode(tensor.dtype, &values, row);
        debug_assert_eq!(bytes.len(), tensor.byte_len(), "{}", tensor.name);
        out.write_all(&bytes).map_err(&mut io_error)?;
        out.write_all(&vec![0u8; padding(bytes.len())])
            .map_err(&mut io_error)?;
        on_tensor(bytes.len() as u64);
    }
    out.flush().map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candles_parser_reads_what_is_written() {
        let metadata = vec![
            (
                "general.architecture".to_string(),
                MetaValue::String("llama".into()),
            ),
            ("llama.block_count".to_string(), MetaValue::U32(2)),
            ("x.f".to_string(), MetaValue::F32(0.5)),
            ("x.b".to_string(), MetaValue::Bool(true)),
            (
                "tokenizer.ggml.tokens".to_string(),
                MetaValue::Strings(vec!["a".into(), "bc".into()]),
            ),
            ("x.ids".to_string(), MetaValue::I32s(vec![1, -2])),
        ];
        let tensors = vec![
            GgufTensorPlan {
                name: "a".into(),
                shape: vec![2, 64],
                dtype: GgufType::Q8_0,
            },
            GgufTensorPlan {
                name: "b".into(),
                shape: vec![3],
                dtype: GgufType::F32,
            },
        ];
        let values: Vec<Vec<f32>> = vec![
            (0..128).map(|i| i as f32 / 64.0 - 1.0).collect(),
            vec![1.0, 2.0, 3.0],
        ];
        let mut bytes = Vec::new();
        write(
            &mut bytes,
            &metadata,
            &tensors,
            |i| Ok::<_, std::io::Error>(values[i].clone()),
            |e| e,
            |_| {},
        )
        .unwrap();
        assert_eq!(bytes.len() as u64, file_len(&metadata, &tensors));
        let mut cursor = std::io::Cursor::new(&bytes);
        let content = candle_core::quantized::gguf_file::Content::read(&mut cursor).unwrap();
        assert_eq!(content.metadata["llama.block_count"].to_u32().unwrap(), 2);
        assert_eq!(content.tensor_infos["a"].shape.dims(), &[2, 64]);
        let b = content
            .tensor(&mut cursor, "b", &candle_core::Device::Cpu)
            .unwrap()
            .dequantize(&candle_core::Device::Cpu)
            .unwrap();
        assert_eq!(b.to_vec1::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);
        let a = content
            .tensor(&mut cursor, "a", &candle_core::Device::Cpu)
            .unwrap()
            .dequantize(&candle_core::Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for (x, y) in a.iter().zip(&values[0]) {
            assert!((x - y).abs() < 0.01, "{x} {y}");
        }
    }
}
