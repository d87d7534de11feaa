//! Timing of Gemma 3's output head (a 262,144 × 640 f32 matrix times 1, 8
//! or 64 rows) in the shapes a decoder can use, of one-row products in the
//! layers' shapes, and the machine's memory bandwidth (the floor of
//! one-stream generation, which reads every weight once per token) — not a
//! test of behaviour, a harness for performance work (issue #19), ignored by
//! default:
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
        "{name}: {:.3} ms",
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

/// One-row products in the shapes of Gemma 3 270M's and SmolLM2-135M's
/// layers (stacked q/k/v, attention output, stacked gate/up, down): candle's
/// `Linear` against one dot product per weight row on all cores.
#[test]
#[ignore]
fn layer_products_one_row() {
    let device = Device::Cpu;
    let shapes = [
        (1536, 640),
        (640, 1024),
        (4096, 640),
        (640, 2048),
        (960, 576),
        (576, 576),
        (3072, 576),
        (576, 1536),
    ];
    for (outputs, inputs) in shapes {
        let w = Tensor::randn(0f32, 1.0, (outputs, inputs), &device).unwrap();
        let linear = candle_nn::Linear::new(w.clone(), None);
        let weights: Vec<f32> = w.flatten_all().unwrap().to_vec1().unwrap();
        let x = Tensor::randn(0f32, 1.0, (1, 1, inputs), &device).unwrap();
        let xs: Vec<f32> = x.flatten_all().unwrap().to_vec1().unwrap();
        time(&format!("Linear {outputs} × {inputs}"), &|| {
            linear.forward(&x).unwrap()
        });
        time(&format!("dot per row {outputs} × {inputs}"), &|| {
            let out: Vec<f32> = weights
                .par_chunks_exact(inputs)
                .map(|row| {
                    let mut acc = [0f32; 16];
                    for (r, v) in row.chunks_exact(16).zip(xs.chunks_exact(16)) {
                        for k in 0..16 {
                            acc[k] += r[k] * v[k];
                        }
                    }
                    acc.iter().sum::<f32>()
                })
                .collect();
            Tensor::from_vec(out, (1, 1, outputs), &Device::Cpu).unwrap()
        });
    }
}

/// Read bandwidth: summing 1 GiB of f32 on 1 thread and on all.
#[test]
#[ignore]
fn memory_bandwidth() {
    let values = vec![1f32; 256 << 20];
    for threads in [1, rayon::current_num_threads()] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let sum: f32 = pool.install(|| {
                values
                    .par_chunks(1 << 16)
                    .map(|chunk| {
                        let mut lanes = [0f32; 16];
                        for block in chunk.chunks_exact(16) {
                            for k in 0..16 {
                                lanes[k] += block[k];
                            }
                        }
                        lanes.iter().sum::<f32>()
                    })
                    .sum()
            });
            let seconds = start.elapsed().as_secs_f64();
            eprintln!(
                "{threads} thread(s): {:.1} GB/s (sum {sum})",
                (values.len() * 4) as f64 / seconds / 1e9
            );
        }
    }
}
