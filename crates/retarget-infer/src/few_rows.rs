//! Dense projections applied to a few rows at a time — what each generated
//! token needs: every row of the (outputs × inputs) weight matrix read once,
//! split over all cores, its dot products with the few input rows computed
//! while it is in cache. Written here because candle's CPU matrix product
//! reads a large matrix at a fraction of the memory bandwidth for one row
//! (Gemma 3's 262,144 × 640 head on the 2-core machine: 109 ms against
//! 38 ms; its 4,096 × 640 stacked gate/up projection: 520 µs against 250 µs;
//! `tests/head_timing.rs`), which made one-stream generation slower than
//! PyTorch's. The work runs on candle's own thread pool, whose threads spin
//! a while between operations: a product starts on hot threads instead of
//! waking sleeping ones (rayon's pool: 10 % slower generation), and the two
//! pools do not compete for the cores. More rows (prompts, scoring) go
//! through candle's product.

use candle_core::{CpuStorage, DType, Storage, Tensor, D};
use std::sync::Mutex;

/// Most rows computed here.
pub(crate) const MAX_ROWS: usize = 16;
/// Weight rows per unit of work handed to a thread.
const CHUNK: usize = 64;

/// `x · weightᵀ` for `x` of shape `(…, hidden)` with at most [`MAX_ROWS`]
/// rows, `weight` a contiguous f32 `(outputs, hidden)` matrix on the CPU;
/// `None` when those conditions do not hold.
pub(crate) fn few_rows(weight: &Tensor, x: &Tensor) -> candle_core::Result<Option<Tensor>> {
    if !weight.device().is_cpu() || weight.dtype() != DType::F32 || x.dtype() != DType::F32 {
        return Ok(None);
    }
    let (outputs, hidden) = weight.dims2()?;
    if x.dim(D::Minus1)? != hidden {
        return Ok(None);
    }
    let rows = x.elem_count() / hidden;
    if rows == 0 || rows > MAX_ROWS {
        return Ok(None);
    }
    let inputs: Vec<f32> = x.flatten_all()?.to_vec1()?;
    let (storage, layout) = weight.storage_and_layout();
    let (Storage::Cpu(CpuStorage::F32(data)), Some((start, end))) =
        (&*storage, layout.contiguous_offsets())
    else {
        return Ok(None);
    };
    let weights = &data[start..end];
    // Output-major: entry v * rows + r is row r's output v.
    let mut by_output = vec![0f32; outputs * rows];
    {
        let parts: Vec<Mutex<(&mut [f32], &[f32])>> = by_output
            .chunks_mut(CHUNK * rows)
            .zip(weights.chunks(CHUNK * hidden))
            .map(Mutex::new)
            .collect();
        candle_core::utils::barrier_pool().execute_chunked(parts.len(), |range| {
            for part in &parts[range] {
                let mut part = part.lock().unwrap_or_else(|e| e.into_inner());
                let (out, weight_rows) = &mut *part;
                block(weight_rows, &inputs, hidden, out);
            }
        });
    }
    let values = if rows == 1 {
        by_output
    } else {
        let mut by_row = vec![0f32; outputs * rows];
        for (v, output) in by_output.chunks_exact(rows).enumerate() {
            for (r, &value) in output.iter().enumerate() {
                by_row[r * outputs + v] = value;
            }
        }
        by_row
    };
    let mut shape = x.dims().to_vec();
    *shape.last_mut().expect("checked above") = outputs;
    Tensor::from_vec(values, shape, x.device()).map(Some)
}

/// Lanes of a dot product: four AVX2 registers (independent sums keep the
/// multiply-add units busy).
const LANES: usize = 32;

/// `out[v * rows + r]` = weight row `v` · input row `r`, with AVX-512, or
/// AVX2 and FMA, where the processor has them (chosen at run time: the
/// build targets any x86-64), portable code otherwise. Each of the
/// [`LANES`] lanes adds the same products in the same order whatever the
/// vector width, so the three give the same bits wherever FMA is used.
fn block(weight_rows: &[f32], inputs: &[f32], hidden: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the processor has the feature `block_avx512` is compiled for.
        unsafe { block_avx512(weight_rows, inputs, hidden, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the processor has the features `block_fma` is compiled for.
        unsafe { block_fma(weight_rows, inputs, hidden, out) };
        return;
    }
    block_with::<false>(weight_rows, inputs, hidden, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn block_avx512(weight_rows: &[f32], inputs: &[f32], hidden: usize, out: &mut [f32]) {
    block_with::<true>(weight_rows, inputs, hidden, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_fma(weight_rows: &[f32], inputs: &[f32], hidden: usize, out: &mut [f32]) {
    block_with::<true>(weight_rows, inputs, hidden, out)
}

/// [`block`]'s loop; `FMA` uses fused multiply-adds (only where the target
/// has them: elsewhere `mul_add` is a slow library call).
#[inline(always)]
fn block_with<const FMA: bool>(
    weight_rows: &[f32],
    inputs: &[f32],
    hidden: usize,
    out: &mut [f32],
) {
    let rows = inputs.len() / hidden;
    for (v, weight_row) in weight_rows.chunks_exact(hidden).enumerate() {
        for (r, input) in inputs.chunks_exact(hidden).enumerate() {
            out[v * rows + r] = dot::<FMA>(weight_row, input);
        }
    }
}

/// A dot product in [`LANES`] lanes (vectorised by the compiler), then
/// their sum.
#[inline(always)]
fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    let (a_blocks, b_blocks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = a_blocks
        .remainder()
        .iter()
        .zip(b_blocks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_blocks.zip(b_blocks) {
        for k in 0..LANES {
            lanes[k] = if FMA {
                x[k].mul_add(y[k], lanes[k])
            } else {
                lanes[k] + x[k] * y[k]
            };
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module};

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_and_avx2_give_the_same_bits() {
        let has = |f: &str| match f {
            "avx512f" => std::arch::is_x86_feature_detected!("avx512f"),
            _ => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
        };
        if !has("avx512f") || !has("avx2") {
            eprintln!("skipped: this processor lacks AVX-512 or AVX2+FMA");
            return;
        }
        let device = Device::Cpu;
        // 203: whole blocks of LANES and a remainder.
        let weight = Tensor::randn(0f32, 1.0, (64, 203), &device).unwrap();
        let inputs = Tensor::randn(0f32, 1.0, (8, 203), &device).unwrap();
        let (w, x) = (
            weight.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            inputs.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        let (mut wide, mut narrow) = (vec![0f32; 64 * 8], vec![0f32; 64 * 8]);
        // SAFETY: both features were detected above.
        unsafe {
            block_avx512(&w, &x, 203, &mut wide);
            block_fma(&w, &x, 203, &mut narrow);
        }
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&wide), bits(&narrow));
    }

    #[test]
    fn few_rows_equal_the_matrix_product_and_many_rows_are_left_to_it() {
        let device = Device::Cpu;
        let weight = Tensor::randn(0f32, 1.0, (3000, 37), &device).unwrap();
        let head = candle_nn::Linear::new(weight.clone(), None);
        for shape in [(1, 1, 37), (2, 3, 37), (1, 16, 37)] {
            let x = Tensor::randn(0f32, 1.0, shape, &device).unwrap();
            let got = few_rows(&weight, &x).unwrap().unwrap();
            let want = head.forward(&x).unwrap();
            assert_eq!(got.dims(), want.dims());
            let diff = (got - want)
                .unwrap()
                .abs()
                .unwrap()
                .flatten_all()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-4, "{shape:?}: {diff}");
        }
        let many = Tensor::randn(0f32, 1.0, (1, 17, 37), &device).unwrap();
        assert!(few_rows(&weight, &many).unwrap().is_none());
    }
}
