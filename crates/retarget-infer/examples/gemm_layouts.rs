//! Times candle's CPU matrix product for the shapes of SmolLM2-135M's
//! projections with the weight in three layouts (issue #19, target 2: where
//! prompt processing loses to PyTorch):
//!
//! - `x · wᵀ` with `w` stored (outputs × inputs), as `candle_nn::Linear` does;
//! - `x · w'` with `w'` the same matrix stored transposed, contiguous;
//! - `(w · xᵀ)ᵀ`, the product with the roles swapped.
//!
//! Rows: 70 (one prompt of average length) and 1,400 (eight prompts padded
//! to 175 tokens). Prints the best of three timings of each and GFLOP/s.
//! Run: `cargo run --release -p retarget-infer --example gemm_layouts`.

use candle_core::{Device, Tensor};
use std::time::Instant;

fn main() -> candle_core::Result<()> {
    let device = Device::Cpu;
    let shapes = [
        (70, 576, 1536),
        (70, 1536, 576),
        (70, 576, 576),
        (70, 576, 192),
        (1400, 576, 1536),
        (1400, 1536, 576),
        (1400, 576, 576),
    ];
    println!("rows x inputs x outputs  layout  ms  GFLOP/s");
    for (rows, inputs, outputs) in shapes {
        let x = Tensor::randn(0f32, 1., (rows, inputs), &device)?;
        let w = Tensor::randn(0f32, 1., (outputs, inputs), &device)?;
        let w_transposed = w.t()?.contiguous()?;
        let repeats = if rows > 500 { 5 } else { 50 };
        let layouts: [(&str, &dyn Fn() -> candle_core::Result<Tensor>); 3] = [
            ("x·wT", &|| x.matmul(&w.t()?)),
            ("x·w'(contiguous)", &|| x.matmul(&w_transposed)),
            ("(w·xT)T", &|| w.matmul(&x.t()?)?.t()?.contiguous()),
        ];
        for (name, product) in layouts {
            let mut best = f64::MAX;
            for _ in 0..3 {
                let start = Instant::now();
                for _ in 0..repeats {
                    std::hint::black_box(product()?);
                }
                best = best.min(start.elapsed().as_secs_f64() / repeats as f64);
            }
            let gflops = 2.0 * (rows * inputs * outputs) as f64 / best / 1e9;
            println!(
                "{rows}x{inputs}x{outputs}  {name}  {:.3}  {gflops:.1}",
                best * 1e3
            );
        }
    }
    Ok(())
}
