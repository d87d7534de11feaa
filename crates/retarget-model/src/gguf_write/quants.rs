//! GGUF storage types and their quantizers, block for block what llama.cpp's
//! reference quantizers produce without an importance matrix
//! (`quantize_row_*_ref` in `ggml/src/ggml-quants.c`, which
//! `ggml_quantize_chunk` and so `llama-quantize` call when no imatrix is
//! given).
//!
//! Written here because no crate reproduces them: candle's `from_float`
//! ports an older llama.cpp (its k-quants search scales with
//! `make_qkx1_quants`, llama.cpp's with `make_qkx2_quants`) and rounds
//! halves away from zero where llama.cpp's `nearest_int` rounds them to
//! even. The arithmetic below keeps the C code's operation order and does
//! not fuse multiply-adds, as llama.cpp's portable build compiles it.

use half::{bf16, f16};

/// A GGUF tensor storage type retarget writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GgufType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// bfloat16.
    Bf16,
    /// 8-bit blocks of 32, one f16 scale.
    Q8_0,
    /// 4-bit blocks of 32, scale.
    Q4_0,
    /// 4-bit blocks of 32, scale and minimum.
    Q4_1,
    /// 5-bit blocks of 32, scale.
    Q5_0,
    /// 5-bit blocks of 32, scale and minimum.
    Q5_1,
    /// 4-bit super-blocks of 256 (8 sub-blocks with 6-bit scales and minimums).
    Q4K,
    /// 5-bit super-blocks of 256.
    Q5K,
    /// 6-bit super-blocks of 256 (16 sub-blocks with 8-bit scales).
    Q6K,
}

impl GgufType {
    /// Every type, in `--quant`'s order.
    pub const ALL: [GgufType; 11] = [
        GgufType::F32,
        GgufType::F16,
        GgufType::Bf16,
        GgufType::Q8_0,
        GgufType::Q4_0,
        GgufType::Q4_1,
        GgufType::Q5_0,
        GgufType::Q5_1,
        GgufType::Q4K,
        GgufType::Q5K,
        GgufType::Q6K,
    ];

    /// The name `--quant` takes.
    pub fn name(self) -> &'static str {
        match self {
            GgufType::F32 => "f32",
            GgufType::F16 => "f16",
            GgufType::Bf16 => "bf16",
            GgufType::Q8_0 => "q8_0",
            GgufType::Q4_0 => "q4_0",
            GgufType::Q4_1 => "q4_1",
            GgufType::Q5_0 => "q5_0",
            GgufType::Q5_1 => "q5_1",
            GgufType::Q4K => "q4_k",
            GgufType::Q5K => "q5_k",
            GgufType::Q6K => "q6_k",
        }
    }

    /// Parses [`GgufType::name`] (case-insensitive).
    pub fn parse(name: &str) -> Option<GgufType> {
        let name = name.to_ascii_lowercase();
        GgufType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// ggml's type id.
    pub fn ggml_id(self) -> u32 {
        match self {
            GgufType::F32 => 0,
            GgufType::F16 => 1,
            GgufType::Q4_0 => 2,
            GgufType::Q4_1 => 3,
            GgufType::Q5_0 => 6,
            GgufType::Q5_1 => 7,
            GgufType::Q8_0 => 8,
            GgufType::Q4K => 12,
            GgufType::Q5K => 13,
            GgufType::Q6K => 14,
            GgufType::Bf16 => 30,
        }
    }

    /// llama.cpp's `general.file_type` of a file mostly of this type.
    pub fn file_type(self) -> u32 {
        match self {
            GgufType::F32 => 0,
            GgufType::F16 => 1,
            GgufType::Q4_0 => 2,
            GgufType::Q4_1 => 3,
            GgufType::Q8_0 => 7,
            GgufType::Q5_0 => 8,
            GgufType::Q5_1 => 9,
            GgufType::Q4K => 14,
            GgufType::Q5K => 16,
            GgufType::Q6K => 18,
            GgufType::Bf16 => 32,
        }
    }

    /// Values per block.
    pub fn block_size(self) -> usize {
        match self {
            GgufType::F32 | GgufType::F16 | GgufType::Bf16 => 1,
            GgufType::Q8_0 | GgufType::Q4_0 | GgufType::Q4_1 | GgufType::Q5_0 | GgufType::Q5_1 => {
                32
            }
            GgufType::Q4K | GgufType::Q5K | GgufType::Q6K => 256,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            GgufType::F32 => 4,
            GgufType::F16 | GgufType::Bf16 => 2,
            GgufType::Q8_0 => 34,
            GgufType::Q4_0 => 18,
            GgufType::Q4_1 => 20,
            GgufType::Q5_0 => 22,
            GgufType::Q5_1 => 24,
            GgufType::Q4K => 144,
            GgufType::Q5K => 176,
            GgufType::Q6K => 210,
        }
    }

    /// Whether the type is a block quantization (not a float).
    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }

    /// Bytes of `values` values (a whole number of blocks).
    pub fn bytes_for(self, values: usize) -> usize {
        values / self.block_size() * self.block_bytes()
    }

    /// The type llama.cpp's `llama-quantize` falls back to for a tensor
    /// whose rows this type's blocks do not divide (`llama_tensor_get_type`:
    /// k-quants to the legacy type of similar size, then f16).
    pub fn fallback(self, row: usize) -> GgufType {
        if row.is_multiple_of(self.block_size()) {
            return self;
        }
        let next = match self {
            GgufType::Q4K => GgufType::Q5_0,
            GgufType::Q5K => GgufType::Q5_1,
            GgufType::Q6K => GgufType::Q8_0,
            _ => GgufType::F16,
        };
        next.fallback(row)
    }

    /// `values` (a whole number of blocks) in this type, appended to `out`.
    pub fn quantize_into(self, values: &[f32], out: &mut Vec<u8>) {
        match self {
            GgufType::F32 => values.iter().for_each(|v| out.extend(v.to_le_bytes())),
            GgufType::F16 => values
                .iter()
                .for_each(|&v| out.extend(f16::from_f32(v).to_le_bytes())),
            GgufType::Bf16 => values
                .iter()
                .for_each(|&v| out.extend(bf16::from_f32(v).to_le_bytes())),
            GgufType::Q8_0 => values.chunks_exact(32).for_each(|b| q8_0(b, out)),
            GgufType::Q4_0 => values.chunks_exact(32).for_each(|b| q4_0(b, out)),
            GgufType::Q4_1 => values.chunks_exact(32).for_each(|b| q4_1(b, out)),
            GgufType::Q5_0 => values.chunks_exact(32).for_each(|b| q5_0(b, out)),
            GgufType::Q5_1 => values.chunks_exact(32).for_each(|b| q5_1(b, out)),
            GgufType::Q4K => values
                .chunks_exact(256)
                .for_each(|b| super::kquants::q4_k(b, out)),
            GgufType::Q5K => values
                .chunks_exact(256)
                .for_each(|b| super::kquants::q5_k(b, out)),
            GgufType::Q6K => values
                .chunks_exact(256)
                .for_each(|b| super::kquants::q6_k(b, out)),
        }
    }
}

/// `GGML_FP32_TO_FP16`: round to nearest even, as `half` does.
pub(super) fn half_bytes(v: f32) -> [u8; 2] {
    f16::from_f32(v).to_le_bytes()
}

/// `GGML_FP16_TO_FP32` of `GGML_FP32_TO_FP16(v)`.
pub(super) fn through_half(v: f32) -> f32 {
    f16::from_f32(v).to_f32()
}

/// The value of largest magnitude (the first of equal magnitudes), as the
/// q4_0/q5_0 reference finds it.
fn signed_absolute_max(block: &[f32]) -> f32 {
    let (mut amax, mut max) = (0f32, 0f32);
    for &v in block {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    max
}

fn min_max(block: &[f32]) -> (f32, f32) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in block {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}

fn inverse(d: f32) -> f32 {
    if d != 0.0 {
        1.0 / d
    } else {
        0.0
    }
}

/// `quantize_row_q8_0_ref`.
fn q8_0(block: &[f32], out: &mut Vec<u8>) {
    let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = inverse(d);
    out.extend(half_bytes(d));
    // roundf: halves away from zero, as Rust's round.
    out.extend(block.iter().map(|&v| (v * id).round() as i8 as u8));
}

/// `quantize_row_q4_0_ref`.
fn q4_0(block: &[f32], out: &mut Vec<u8>) {
    let d = signed_absolute_max(block) / -8.0;
    let id = inverse(d);
    out.extend(half_bytes(d));
    for j in 0..16 {
        let x0 = block[j] * id;
        let x1 = block[16 + j] * id;
        let q0 = ((x0 + 8.5) as i8).min(15) as u8;
        let q1 = ((x1 + 8.5) as i8).min(15) as u8;
        out.push(q0 | (q1 << 4));
    }
}

/// `quantize_row_q4_1_ref`.
fn q4_1(block: &[f32], out: &mut Vec<u8>) {
    let (min, max) = min_max(block);
    let d = (max - min) / 15.0;
    let id = inverse(d);
    out.extend(half_bytes(d));
    out.extend(half_bytes(min));
    for j in 0..16 {
        let x0 = (block[j] - min) * id;
        let x1 = (block[16 + j] - min) * id;
        let q0 = ((x0 + 0.5) as i8).min(15) as u8;
        let q1 = ((x1 + 0.5) as i8).min(15) as u8;
        out.push(q0 | (q1 << 4));
    }
}

/// The 5-bit layout shared by q5_0 and q5_1: low nibbles paired, fifth bits
/// in a 32-bit word.
fn five_bits(levels: &[u8; 32], out: &mut Vec<u8>) {
    let mut qh = 0u32;
    let mut qs = [0u8; 16];
    for j in 0..16 {
        let (a, b) = (levels[j], levels[16 + j]);
        qs[j] = (a & 0x0F) | ((b & 0x0F) << 4);
        qh |= u32::from((a & 0x10) >> 4) << j;
        qh |= u32::from((b & 0x10) >> 4) << (j + 16);
    }
    out.extend(qh.to_le_bytes());
    out.extend(qs);
}

/// `quantize_row_q5_0_ref`.
fn q5_0(block: &[f32], out: &mut Vec<u8>) {
    let d = signed_absolute_max(block) / -16.0;
    let id = inverse(d);
    out.extend(half_bytes(d));
    let mut levels = [0u8; 32];
    for (level, &v) in levels.iter_mut().zip(block) {
        *level = ((v * id + 16.5) as i8).min(31) as u8;
    }
    five_bits(&levels, out);
}

/// `quantize_row_q5_1_ref`.
fn q5_1(block: &[f32], out: &mut Vec<u8>) {
    let (min, max) = min_max(block);
    let d = (max - min) / 31.0;
    let id = inverse(d);
    out.extend(half_bytes(d));
    out.extend(half_bytes(min));
    let mut levels = [0u8; 32];
    for (level, &v) in levels.iter_mut().zip(block) {
        *level = ((v - min) * id + 0.5) as u8;
    }
    five_bits(&levels, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
        let d = f16::from_le_bytes([bytes[0], bytes[1]]).to_f32();
        bytes[2..34]
            .iter()
            .map(|&q| d * f32::from(q as i8))
            .collect()
    }

    #[test]
    fn q8_0_round_trips_within_half_a_step_and_zero_blocks_stay_zero() {
        let block: Vec<f32> = (0..32).map(|i| (i as f32 - 15.5) * 0.37).collect();
        let mut out = Vec::new();
        GgufType::Q8_0.quantize_into(&block, &mut out);
        assert_eq!(out.len(), 34);
        let step = 15.5 * 0.37 / 127.0;
        for (a, b) in dequantize_q8_0(&out).iter().zip(&block) {
            assert!((a - b).abs() <= step * 0.51 + 1e-3, "{a} {b}");
        }
        let mut zeros = Vec::new();
        GgufType::Q8_0.quantize_into(&[0.0; 32], &mut zeros);
        assert!(zeros.iter().all(|&b| b == 0));
    }

    #[test]
    fn q4_0_maps_the_largest_magnitude_to_minus_eight() {
        let mut block = [0.5f32; 32];
        block[3] = -2.0;
        let mut out = Vec::new();
        GgufType::Q4_0.quantize_into(&block, &mut out);
        let d = f16::from_le_bytes([out[0], out[1]]).to_f32();
        assert_eq!(d, 0.25);
        // -2 / 0.25 + 8.5 = 0.5 → level 0; 0.5 / 0.25 + 8.5 = 10.5 → 10.
        assert_eq!(out[2 + 3] & 0x0F, 0);
        assert_eq!(out[2] & 0x0F, 10);
    }

    #[test]
    fn sizes_and_fallbacks_follow_llama_cpp() {
        for t in GgufType::ALL {
            let mut out = Vec::new();
            t.quantize_into(&vec![0.25; 256], &mut out);
            assert_eq!(out.len(), t.bytes_for(256), "{}", t.name());
            assert_eq!(GgufType::parse(t.name()), Some(t));
        }
        assert_eq!(GgufType::Q4K.fallback(576), GgufType::Q5_0);
        assert_eq!(GgufType::Q6K.fallback(576), GgufType::Q8_0);
        assert_eq!(GgufType::Q4K.fallback(1536), GgufType::Q4K);
        assert_eq!(GgufType::Q8_0.fallback(100), GgufType::F16);
        assert_eq!(GgufType::Q4K.fallback(100), GgufType::F16);
    }
}
