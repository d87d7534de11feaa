//! Timing of Gemma 3's output head (a 262,144 × 640 f32 matrix times 1, 8
//! or 64 rows) in the shapes a decoder can use — not a test of behaviour,
//! a harness for performance work (issue #19), ignored by default:
//! `cargo test -p retarget-infer --release --test head_timing -- --ignored --nocapture`.

use candle_core::{Device, Module, Tensor};
use rayon::prelude::*;

/// Milliseconds per call of `f`, the mean of 20 calls after one warm-up.
fn time(name: &str, f: &dyn Fn() -> Tensor) {
    f();
    let start = std::time::Instant::now();
    for _ in 0..20 {
        f();
    }
    eprintln!(
        "{name}: {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0 / 20.0
    );
}

#[test]
#[ignore]
fn head_matrix_products() {
    let device = Device::Cpu;
    let (vocab, hidden) = (262_144, 640);
    let w = Tensor::randn(0f32, 1.0, (vocab, hidden), &device).unwrap();
    let head = candle_nn::Linear::new(w.clone(), None);
    let weights: Vec<f32> = w.flatten_all().unwrap().to_vec1().unwrap();
    for rows in [1, 8, 64] {
        let x = Tensor::randn(0f32, 1.0, (rows, hidden), &device).unwrap();
        let batched = x.unsqueeze(0).unwrap();
        time(&format!("Linear, {rows} rows"), &|| {
            head.forward(&batched).unwrap()
        });
        time(&format!("weight · xᵀ, {rows} rows"), &|| {
            w.matmul(&x.t().unwrap().contiguous().unwrap())
                .unwrap()
                .t()
                .unwrap()
                .contiguous()
                .unwrap()
        });
        if rows == 1 {
            let x: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
            time("one dot product per row on all cores, 1 row", &|| {
                let out: Vec<f32> = weights
                    .par_chunks_exact(hidden)
                    .map(|row| {
                        let mut acc = [0f32; 16];
                        for (r, v) in row.chunks_exact(16).zip(x.chunks_exact(16)) {
                            for k in 0..16 {
                                acc[k] += r[k] * v[k];
                            }
                        }
                        acc.iter().sum()
                    })
                    .collect();
                Tensor::from_vec(out, (1, vocab), &Device::Cpu).unwrap()
            });
        }
    }
}
