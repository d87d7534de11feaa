//! Model Stock (Jang et al. 2024): average the fine-tuned models and move
//! from the base towards that average by t = k·cosθ / (1 + (k-1)·cosθ), where
//! θ is the mean angle between task vectors — over the whole tensor, or per
//! row with `filter_wise: true`.

use super::{Kernel, Sources, TensorSpec, CHUNK};
use crate::error::{MergeError, Result};

pub(super) struct ModelStock {
    base: usize,
    row_len: usize,
    chunk_len: usize,
    /// Interpolation factor per row.
    t: Vec<f32>,
}

pub(super) fn prepare(spec: &TensorSpec, sources: &Sources) -> Result<ModelStock> {
    let base = spec
        .base
        .ok_or_else(|| MergeError::Tensor("model_stock needs a base model".into()))?;
    let n = sources.len();
    let row_len = if spec.shared("filter_wise").as_bool() && spec.shape.len() >= 2 {
        spec.shape[spec.shape.len() - 1].max(1)
    } else {
        n.max(1)
    };
    let others: Vec<usize> = (0..sources.inputs.len()).filter(|&i| i != base).collect();
    let k = others.len();
    if k < 2 {
        return Err(MergeError::Tensor(
            "model_stock needs at least two models besides the base".into(),
        ));
    }
    let pairs: Vec<(usize, usize)> = (0..k)
        .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
        .collect();
    let width = k + pairs.len();
    let chunk_len = if row_len <= CHUNK {
        (CHUNK / row_len) * row_len
    } else {
        CHUNK
    };
    let mut which = vec![base];
    which.extend(&others);
    // Per row: squared norms of the task vectors, then their pairwise dot products.
    let partial = sources.map_chunks(chunk_len, &which, |_, start, v| {
        let mut rows: Vec<(usize, Vec<f64>)> = Vec::new();
        let mut offsets = vec![0f64; k];
        for (j, &w0) in v[0].iter().enumerate() {
            let row = (start + j) / row_len;
            if rows.last().is_none_or(|(r, _)| *r != row) {
                rows.push((row, vec![0.0; width]));
            }
            let stats = &mut rows.last_mut().expect("pushed").1;
            for (o, x) in offsets.iter_mut().zip(&v[1..]) {
                *o = (x[j] - w0) as f64;
            }
            for (i, o) in offsets.iter().enumerate() {
                stats[i] += o * o;
            }
            for (p, (a, b)) in pairs.iter().enumerate() {
                stats[k + p] += offsets[*a] * offsets[*b];
            }
        }
        rows
    });
    let mut table = vec![0f64; n.div_ceil(row_len).max(1) * width];
    for (row, stats) in partial.into_iter().flatten() {
        table[row * width..(row + 1) * width]
            .iter_mut()
            .zip(stats)
            .for_each(|(t, s)| *t += s);
    }
    let t = table
        .chunks(width)
        .map(|stats| {
            let cos: f64 = pairs
                .iter()
                .enumerate()
                .map(|(p, (a, b))| {
                    (stats[k + p] / (stats[*a].sqrt() * stats[*b].sqrt()).max(1e-6))
                        .clamp(-1.0, 1.0)
                })
                .sum::<f64>()
                / pairs.len() as f64;
            let denominator = 1.0 + (k as f64 - 1.0) * cos;
            if denominator.abs() < 1e-6 {
                0.0
            } else {
                (k as f64 * cos / denominator) as f32
            }
        })
        .collect();
    Ok(ModelStock {
        base,
        row_len,
        chunk_len,
        t,
    })
}

impl Kernel for ModelStock {
    fn chunk_len(&self) -> usize {
        self.chunk_len
    }

    fn chunk(&self, chunk: usize, inputs: &[&[f32]], out: &mut [f32]) {
        let start = chunk * self.chunk_len;
        let w0 = inputs[self.base];
        let k = (inputs.len() - 1) as f32;
        for (j, o) in out.iter_mut().enumerate() {
            let t = self.t[(start + j) / self.row_len];
            let mean: f32 = inputs
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != self.base)
                .map(|(_, x)| x[j] - w0[j])
                .sum::<f32>()
                / k;
            let average = w0[j] + mean;
            *o = t * average + (1.0 - t) * w0[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{params, run};
    use super::super::Method;

    #[test]
    fn agreeing_task_vectors_give_their_average_and_opposite_ones_the_base() {
        let base = vec![1.0, 1.0, 1.0];
        let same = run(
            Method::ModelStock,
            vec![base.clone(), vec![2.0, 3.0, 1.0], vec![2.0, 3.0, 1.0]],
            Some(0),
            &params(&[], &[]),
        );
        assert_eq!(same, [2.0, 3.0, 1.0]);
        // cos = -1: t = 2·(-1)/(1-1) is singular, the base is kept.
        let opposite = run(
            Method::ModelStock,
            vec![base.clone(), vec![2.0, 2.0, 2.0], vec![0.0, 0.0, 0.0]],
            Some(0),
            &params(&[], &[]),
        );
        assert_eq!(opposite, base);
        // Orthogonal task vectors: cos = 0, t = 0.
        let orthogonal = run(
            Method::ModelStock,
            vec![base.clone(), vec![2.0, 1.0, 1.0], vec![1.0, 2.0, 1.0]],
            Some(0),
            &params(&[], &[]),
        );
        assert_eq!(orthogonal, base);
    }
}
