//! Dense projections applied to a few rows at a time — what each generated
//! token needs: every row of the (outputs × inputs) weight matrix read once,
//! split over all cores, its dot products with the few input rows computed
//! while it is in cache. Written here because candle's CPU matrix product
//! reads a large matrix at a fraction of the memory bandwidth for one row
//! (Gemma 3's 262,144 × 640 head on the 2-core machine: 109 ms against
//! 38 ms; its 4,096 × 640 stacked gate/up projection: 520 µs against 250 µs;
//! `tests/head_timing.rs`), which made one-stream generation slower than
//! PyTorch's. More rows (prompts, scoring) go through candle's product.

use candle_core::{CpuStorage, DType, Storage, Tensor, D};
use rayon::prelude::*;

/// Most rows computed here.
pub(crate) const MAX_ROWS: usize = 16;
/// Fewest weight rows per parallel task (smaller tasks cost more to hand
/// out than they save).
const MIN_CHUNK: usize = 32;

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
    // Four tasks per thread, so that a slower core does not hold the rest.
    let chunk = (outputs / (4 * rayon::current_num_threads())).max(MIN_CHUNK);
    // Output-major: entry v * rows + r is row r's output v.
    let mut by_output = vec![0f32; outputs * rows];
    by_output
        .par_chunks_mut(chunk * rows)
        .zip(weights.par_chunks(chunk * hidden))
        .for_each(|(out, weight_rows)| {
            for (v, weight_row) in weight_rows.chunks_exact(hidden).enumerate() {
                for (r, input) in inputs.chunks_exact(hidden).enumerate() {
                    out[v * rows + r] = dot(weight_row, input);
                }
            }
        });
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

/// A dot product in 16 lanes (vectorised by the compiler), then their sum.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 16];
    let (a16, b16) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = a16
        .remainder()
        .iter()
        .zip(b16.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a16.zip(b16) {
        for k in 0..16 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Module};

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
