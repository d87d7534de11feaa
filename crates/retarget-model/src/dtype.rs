//! Floating-point element types retarget converts between (F32, F16, BF16),
//! and byte-level conversion of tensor data, parallel over all cores.
//! Every other safetensors dtype is passed through untouched.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use half::{bf16, f16};
use rayon::prelude::*;
use safetensors::Dtype;

/// Elements per parallel work unit when converting.
const CHUNK_ELEMS: usize = 1 << 16;

/// A floating-point type that tensors can be converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FloatType {
    /// IEEE single precision.
    F32,
    /// IEEE half precision.
    F16,
    /// bfloat16.
    BF16,
}

impl FloatType {
    /// The matching safetensors dtype.
    pub fn dtype(self) -> Dtype {
        match self {
            FloatType::F32 => Dtype::F32,
            FloatType::F16 => Dtype::F16,
            FloatType::BF16 => Dtype::BF16,
        }
    }

    /// The float type of a safetensors dtype, if it is one retarget converts.
    pub fn of(dtype: Dtype) -> Option<Self> {
        match dtype {
            Dtype::F32 => Some(FloatType::F32),
            Dtype::F16 => Some(FloatType::F16),
            Dtype::BF16 => Some(FloatType::BF16),
            _ => None,
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            FloatType::F32 => 4,
            FloatType::F16 | FloatType::BF16 => 2,
        }
    }

    /// The name `transformers` uses in `config.json` (`torch_dtype`/`dtype`).
    pub fn torch_name(self) -> &'static str {
        match self {
            FloatType::F32 => "float32",
            FloatType::F16 => "float16",
            FloatType::BF16 => "bfloat16",
        }
    }
}

impl fmt::Display for FloatType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FloatType::F32 => "f32",
            FloatType::F16 => "f16",
            FloatType::BF16 => "bf16",
        })
    }
}

impl FromStr for FloatType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" | "fp32" => Ok(FloatType::F32),
            "f16" | "float16" | "fp16" | "half" => Ok(FloatType::F16),
            "bf16" | "bfloat16" => Ok(FloatType::BF16),
            other => Err(format!(
                "unknown dtype `{other}`: expected f32, f16 or bf16"
            )),
        }
    }
}

fn decode(src: FloatType, bytes: &[u8], out: &mut [f32]) {
    match src {
        FloatType::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        FloatType::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = f16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        FloatType::BF16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = bf16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
    }
}

fn encode(dst: FloatType, values: &[f32], out: &mut [u8]) {
    match dst {
        FloatType::F32 => {
            for (v, o) in values.iter().zip(out.chunks_exact_mut(4)) {
                o.copy_from_slice(&v.to_le_bytes());
            }
        }
        FloatType::F16 => {
            for (v, o) in values.iter().zip(out.chunks_exact_mut(2)) {
                o.copy_from_slice(&f16::from_f32(*v).to_le_bytes());
            }
        }
        FloatType::BF16 => {
            for (v, o) in values.iter().zip(out.chunks_exact_mut(2)) {
                o.copy_from_slice(&bf16::from_f32(*v).to_le_bytes());
            }
        }
    }
}

/// Converts little-endian tensor data from `src` to `dst`. Data of the same
/// type, or of a dtype that is not F32/F16/BF16, is returned borrowed and
/// untouched. Conversions round to nearest even, as PyTorch's `.to()` does.
pub fn convert_bytes(src: Dtype, dst: FloatType, bytes: &[u8]) -> Cow<'_, [u8]> {
    let Some(src) = FloatType::of(src) else {
        return Cow::Borrowed(bytes);
    };
    if src == dst {
        return Cow::Borrowed(bytes);
    }
    let n = bytes.len() / src.size();
    let mut out = vec![0u8; n * dst.size()];
    out.par_chunks_mut(CHUNK_ELEMS * dst.size())
        .zip(bytes.par_chunks(CHUNK_ELEMS * src.size()))
        .for_each_init(
            || vec![0f32; CHUNK_ELEMS],
            |scratch, (o, b)| {
                let k = b.len() / src.size();
                decode(src, b, &mut scratch[..k]);
                encode(dst, &scratch[..k], o);
            },
        );
    Cow::Owned(out)
}

/// Decodes float tensor data of type `src` to `f32` values.
pub fn to_f32(src: FloatType, bytes: &[u8]) -> Vec<f32> {
    let mut out = vec![0f32; bytes.len() / src.size()];
    out.par_chunks_mut(CHUNK_ELEMS)
        .zip(bytes.par_chunks(CHUNK_ELEMS * src.size()))
        .for_each(|(o, b)| decode(src, b, o));
    out
}

/// Encodes `f32` values as little-endian bytes of type `dst`.
pub fn from_f32(dst: FloatType, values: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; values.len() * dst.size()];
    out.par_chunks_mut(CHUNK_ELEMS * dst.size())
        .zip(values.par_chunks(CHUNK_ELEMS))
        .for_each(|(o, v)| encode(dst, v, o));
    out
}

/// Decodes float tensor data of type `src` into `out` (one value per
/// element of `bytes`), on the calling thread.
pub fn to_f32_into(src: FloatType, bytes: &[u8], out: &mut [f32]) {
    decode(src, bytes, out);
}

/// Encodes `values` as little-endian bytes of type `dst` into `out`, on the
/// calling thread.
pub fn from_f32_into(dst: FloatType, values: &[f32], out: &mut [u8]) {
    encode(dst, values, out);
}

/// Rounds `f32` values in place to the nearest value of type `dst` (what
/// storing them as `dst` and reading them back gives).
pub fn round_to(dst: FloatType, values: &mut [f32]) {
    let round: fn(f32) -> f32 = match dst {
        FloatType::F32 => return,
        FloatType::F16 => |v| f16::from_f32(v).to_f32(),
        FloatType::BF16 => |v| bf16::from_f32(v).to_f32(),
    };
    values
        .par_chunks_mut(CHUNK_ELEMS)
        .for_each(|c| c.iter_mut().for_each(|v| *v = round(*v)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rounds_to_nearest_even() {
        let values = [0.0f32, 1.0, -2.5, 1.0 + 1.0 / 512.0, 65504.0, 1e-8];
        let bytes = from_f32(FloatType::F32, &values);
        let bf = convert_bytes(Dtype::F32, FloatType::BF16, &bytes);
        let back = to_f32(FloatType::BF16, &bf);
        assert_eq!(back[0..3], [0.0, 1.0, -2.5]);
        // 1 + 2^-9 is a tie between 1 and 1 + 2^-7 in bf16: rounds to even (1.0).
        assert_eq!(back[3], 1.0);
        let h = convert_bytes(Dtype::F32, FloatType::F16, &bytes);
        let back = to_f32(FloatType::F16, &h);
        assert_eq!(back[3], 1.0 + 1.0 / 512.0);
        assert_eq!(back[4], 65504.0);
        assert_eq!(back[5], 0.0, "1e-8 underflows f16 to zero");
    }

    #[test]
    fn same_type_and_integers_pass_through_borrowed() {
        let bytes = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert!(matches!(
            convert_bytes(Dtype::F32, FloatType::F32, &bytes),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            convert_bytes(Dtype::I64, FloatType::F16, &bytes),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn parses_names() {
        assert_eq!("bfloat16".parse::<FloatType>(), Ok(FloatType::BF16));
        assert!("int8".parse::<FloatType>().is_err());
    }
}
