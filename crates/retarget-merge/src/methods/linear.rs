//! Linear merging: the weighted average Σ wᵢ·xᵢ / Σ wᵢ (or the weighted sum
//! with `normalize: false`).

use super::{Kernel, TensorSpec};

pub(super) struct Linear {
    weights: Vec<f32>,
    denominator: f32,
    normalize: bool,
}

pub(super) fn prepare(spec: &TensorSpec, inputs: usize) -> Linear {
    let weights: Vec<f32> = (0..inputs)
        .map(|i| spec.input_f64(i, "weight") as f32)
        .collect();
    Linear {
        denominator: weights.iter().sum(),
        normalize: spec.shared("normalize").as_bool(),
        weights,
    }
}

impl Kernel for Linear {
    fn chunk(&self, _chunk: usize, inputs: &[&[f32]], out: &mut [f32]) {
        out.fill(0.0);
        for (tensor, &w) in inputs.iter().zip(&self.weights) {
            for (o, x) in out.iter_mut().zip(*tensor) {
                *o += x * w;
            }
        }
        if self.normalize {
            out.iter_mut().for_each(|o| *o /= self.denominator);
        }
    }
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
