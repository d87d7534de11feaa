//! Spherical linear interpolation between the base and one other model, over
//! the whole flattened tensor, falling back to linear interpolation for
//! (anti)parallel tensors, as mergekit does.

use super::{Kernel, Sources, TensorSpec, CHUNK};
use crate::error::{MergeError, Result};

const DOT_THRESHOLD: f64 = 0.9995;
const EPS: f64 = 1e-8;

pub(super) struct Slerp {
    base: usize,
    coef_base: f32,
    coef_other: f32,
}

pub(super) fn prepare(spec: &TensorSpec, sources: &Sources) -> Result<Slerp> {
    let t = spec.shared("t").as_f64();
    let base = spec
        .base
        .ok_or_else(|| MergeError::Tensor("SLERP needs a base model".into()))?;
    let which = [base, 1 - base];
    let (aa, bb, ab) = sources.fold_chunks(
        CHUNK,
        &which,
        || (0f64, 0f64, 0f64),
        |(mut aa, mut bb, mut ab), _, _, v| {
            for (&x, &y) in v[0].iter().zip(v[1]) {
                let (x, y) = (x as f64, y as f64);
                aa += x * x;
                bb += y * y;
                ab += x * y;
            }
            (aa, bb, ab)
        },
        |p, q| (p.0 + q.0, p.1 + q.1, p.2 + q.2),
    );
    let (coef_base, coef_other) = if sources.is_empty() {
        (1.0 - t, t)
    } else {
        let na = if aa.sqrt() > EPS { aa.sqrt() } else { 1.0 };
        let nb = if bb.sqrt() > EPS { bb.sqrt() } else { 1.0 };
        let dot = (ab / (na * nb)).clamp(-1.0, 1.0);
        if dot.abs() > DOT_THRESHOLD {
            (1.0 - t, t)
        } else {
            let theta = dot.acos();
            let s = theta.sin();
            (((1.0 - t) * theta).sin() / s, (t * theta).sin() / s)
        }
    };
    Ok(Slerp {
        base,
        coef_base: coef_base as f32,
        coef_other: coef_other as f32,
    })
}

impl Kernel for Slerp {
    fn chunk(&self, _chunk: usize, inputs: &[&[f32]], out: &mut [f32]) {
        let (a, b) = (inputs[self.base], inputs[1 - self.base]);
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = self.coef_base * x + self.coef_other * y;
        }
    }
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
