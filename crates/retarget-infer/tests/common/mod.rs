//! Helpers shared by the integration tests.

// Each test binary compiles this module and uses only some of it.
#![allow(dead_code)]

use candle_core::Tensor;

/// The summed negative log-likelihood (f64) of `labels`, label `i` scored
/// by row `i` of `logits` `(rows, vocab)`: an independent reference for the
/// crate's scoring.
pub fn reference_nll(logits: &Tensor, labels: &[u32]) -> f64 {
    let rows: Vec<Vec<f32>> = logits.to_vec2().unwrap();
    rows.iter()
        .zip(labels)
        .map(|(row, &label)| {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
            let log_sum = row
                .iter()
                .map(|&v| (v as f64 - max).exp())
                .sum::<f64>()
                .ln()
                + max;
            log_sum - row[label as usize] as f64
        })
        .sum()
}

/// The largest absolute elementwise difference of two tensors.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}
