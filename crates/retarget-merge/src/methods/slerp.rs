//! Spherical linear interpolation between the base and one other model, over
//! the whole flattened tensor, falling back to linear interpolation for
//! (anti)parallel tensors, as mergekit does.

use rayon::prelude::*;

use super::{Group, CHUNK};

const DOT_THRESHOLD: f64 = 0.9995;
const EPS: f64 = 1e-8;

fn norm(x: &[f32]) -> f64 {
    x.par_chunks(CHUNK)
        .map(|c| c.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>())
        .sum::<f64>()
        .sqrt()
}

pub(super) fn merge(group: Group) -> Result<Vec<f32>, String> {
    let t = group.shared("t").as_f64();
    let base = group.base.ok_or("SLERP needs a base model")?;
    let mut tensors = group.tensors;
    let other = tensors.swap_remove(1 - base);
    let mut a = tensors.swap_remove(0);
    let b = other;
    let (coef_a, coef_b) = if a.is_empty() {
        (1.0 - t, t)
    } else {
        let na = norm(&a);
        let nb = norm(&b);
        let na = if na > EPS { na } else { 1.0 };
        let nb = if nb > EPS { nb } else { 1.0 };
        let dot: f64 = a
            .par_chunks(CHUNK)
            .zip(b.par_chunks(CHUNK))
            .map(|(x, y)| {
                x.iter()
                    .zip(y)
                    .map(|(&p, &q)| (p as f64 / na) * (q as f64 / nb))
                    .sum::<f64>()
            })
            .sum();
        let dot = dot.clamp(-1.0, 1.0);
        if dot.abs() > DOT_THRESHOLD {
            (1.0 - t, t)
        } else {
            let theta = dot.acos();
            let s = theta.sin();
            (((1.0 - t) * theta).sin() / s, (t * theta).sin() / s)
        }
    };
    let (ca, cb) = (coef_a as f32, coef_b as f32);
    a.par_chunks_mut(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .for_each(|(x, y)| {
            for (p, &q) in x.iter_mut().zip(y) {
                *p = ca * *p + cb * q;
            }
        });
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{params, run};
    use super::super::Method;

    #[test]
    fn endpoints_and_the_midpoint_of_orthogonal_vectors() {
        let a = vec![1.0, 0.0];
        let b = vec![0.0, 1.0];
        let at = |t| {
            run(
                Method::Slerp,
                vec![a.clone(), b.clone()],
                Some(0),
                &params(&[("t", t)], &[]),
            )
        };
        assert_eq!(at(0.0), a);
        let end = at(1.0);
        assert!(
            end[0].abs() < 1e-7 && (end[1] - 1.0).abs() < 1e-7,
            "{end:?}"
        );
        let mid = at(0.5);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!(
            (mid[0] - h).abs() < 1e-6 && (mid[1] - h).abs() < 1e-6,
            "{mid:?}"
        );
        // The base may come second.
        let swapped = run(
            Method::Slerp,
            vec![b.clone(), a.clone()],
            Some(1),
            &params(&[("t", 0.0)], &[]),
        );
        assert_eq!(swapped, a);
    }

    #[test]
    fn nearly_parallel_vectors_interpolate_linearly() {
        let a = vec![1.0, 1.0];
        let b = vec![2.0, 2.0];
        let out = run(
            Method::Slerp,
            vec![a, b],
            Some(0),
            &params(&[("t", 0.25)], &[]),
        );
        assert_eq!(out, [1.25, 1.25]);
    }
}
