//! Model Stock (Jang et al. 2024): average the fine-tuned models and move
//! from the base towards that average by t = k·cosθ / (1 + (k-1)·cosθ), where
//! θ is the mean angle between task vectors — over the whole tensor, or per
//! row with `filter_wise: true`.

use super::Group;

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

pub(super) fn merge(group: Group) -> Result<Vec<f32>, String> {
    let base = group.base.ok_or("model_stock needs a base model")?;
    let filter_wise = group.shared("filter_wise").as_bool();
    let row = if filter_wise && group.shape.len() >= 2 {
        *group.shape.last().unwrap_or(&1)
    } else {
        group.tensors[base].len().max(1)
    };
    let mut tensors = group.tensors;
    let w0 = tensors.remove(base);
    let mut offsets = tensors;
    let k = offsets.len();
    if k < 2 {
        return Err("model_stock needs at least two models besides the base".into());
    }
    for o in offsets.iter_mut() {
        o.iter_mut().zip(&w0).for_each(|(v, b)| *v -= b);
    }
    let mut out = w0;
    for (r, out_row) in out.chunks_mut(row).enumerate() {
        let span = r * row..r * row + out_row.len();
        let rows: Vec<&[f32]> = offsets.iter().map(|o| &o[span.clone()]).collect();
        let norms: Vec<f64> = rows.iter().map(|x| dot(x, x).sqrt()).collect();
        let mut cos_sum = 0.0;
        let mut pairs = 0;
        for i in 0..k {
            for j in i + 1..k {
                let c = dot(rows[i], rows[j]) / (norms[i] * norms[j]).max(1e-6);
                cos_sum += c.clamp(-1.0, 1.0);
                pairs += 1;
            }
        }
        let cos = cos_sum / pairs as f64;
        let denominator = 1.0 + (k as f64 - 1.0) * cos;
        let t = if denominator.abs() < 1e-6 {
            0.0
        } else {
            k as f64 * cos / denominator
        } as f32;
        // out = t·(w0 + mean offset) + (1-t)·w0 = w0 + t·mean offset.
        for (j, o) in out_row.iter_mut().enumerate() {
            let mean: f32 = rows.iter().map(|x| x[j]).sum::<f32>() / k as f32;
            let average = *o + mean;
            *o = t * average + (1.0 - t) * *o;
        }
    }
    Ok(out)
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
