//! Linear merging: the weighted average Σ wᵢ·xᵢ / Σ wᵢ (or the weighted sum
//! with `normalize: false`).

use rayon::prelude::*;

use super::{Group, CHUNK};

pub(super) fn merge(group: Group) -> Result<Vec<f32>, String> {
    let weights: Vec<f32> = (0..group.tensors.len())
        .map(|i| group.input_f64(i, "weight") as f32)
        .collect();
    let normalize = group.shared("normalize").as_bool();
    let denominator: f32 = weights.iter().sum();
    let tensors = &group.tensors;
    let mut out = vec![0f32; tensors[0].len()];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let start = c * CHUNK;
            for (tensor, &w) in tensors.iter().zip(&weights) {
                for (o, x) in chunk.iter_mut().zip(&tensor[start..]) {
                    *o += x * w;
                }
            }
            if normalize {
                chunk.iter_mut().for_each(|o| *o /= denominator);
            }
        });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{params, run};
    use super::super::Method;

    #[test]
    fn weighted_average_or_sum() {
        let inputs = vec![vec![1.0, 2.0], vec![3.0, 6.0]];
        let per_input: &[&[(&str, f64)]] = &[&[("weight", 1.0)], &[("weight", 3.0)]];
        let average = run(
            Method::Linear,
            inputs.clone(),
            None,
            &params(&[("normalize", 1.0)], per_input),
        );
        assert_eq!(average, [2.5, 5.0]);
        let sum = run(
            Method::Linear,
            inputs,
            None,
            &params(&[("normalize", 0.0)], per_input),
        );
        assert_eq!(sum, [10.0, 20.0]);
    }
}
