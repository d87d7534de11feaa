//! How sure a before/after difference on held-out text is: a paired
//! bootstrap over lines. Each measure is a ratio of sums over lines (tokens
//! per word, tokens per reference token, bits per byte); the same resampled
//! lines are measured before and after, and the 2.5th and 97.5th percentiles
//! of the resampled differences bound a 95 % confidence interval.
//!
//! Resamples are drawn with numpy's generator (`default_rng(seed).choice(n,
//! size=(resamples, n))`, [`crate::numpy_rng`]) and percentiles taken as
//! numpy's default (linear) `percentile`, so that the interval can be
//! recomputed in a few lines of numpy (`scripts/crosscheck/adapt_check.py`).

use crate::numpy_rng::NumpyRng;

/// Resamples drawn for every interval.
pub const RESAMPLES: usize = 1000;
/// The seed of the resampling (fixed: the same text gives the same interval).
pub const SEED: u64 = 0;

/// A measure over lines: `Σ numerators / Σ denominators` (0 when the
/// denominators sum to 0).
#[derive(Debug, Clone, Copy)]
pub struct Ratio<'a> {
    /// Per line, what is counted (tokens, bits).
    pub numerators: &'a [f64],
    /// Per line, what it is counted against (words, reference tokens, bytes).
    pub denominators: &'a [f64],
}

impl Ratio<'_> {
    /// The measure over the lines `lines` (with repetition).
    fn over(&self, lines: impl Iterator<Item = usize>) -> f64 {
        let (mut num, mut den) = (0.0, 0.0);
        for i in lines {
            num += self.numerators[i];
            den += self.denominators[i];
        }
        if den == 0.0 {
            0.0
        } else {
            num / den
        }
    }
}

/// `after − before` on the same lines, with its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Delta {
    /// The difference on all lines.
    pub value: f64,
    /// Lower bound of the 95 % interval.
    pub low: f64,
    /// Upper bound of the 95 % interval.
    pub high: f64,
    /// Whether the interval lies wholly on one side of zero.
    pub excludes_zero: bool,
}

/// The paired difference `after − before` over the same lines (both ratios
/// have one entry per line), with a bootstrap interval from [`RESAMPLES`]
/// resamples seeded with [`SEED`].
pub fn paired_delta(after: Ratio, before: Ratio) -> Delta {
    let n = after.numerators.len();
    let value = after.over(0..n) - before.over(0..n);
    if n == 0 {
        return Delta {
            value,
            low: value,
            high: value,
            excludes_zero: false,
        };
    }
    let draws = NumpyRng::new(SEED).choice(n, RESAMPLES * n);
    let mut deltas: Vec<f64> = draws
        .chunks_exact(n)
        .map(|sample| {
            let lines = || sample.iter().map(|&i| i as usize);
            after.over(lines()) - before.over(lines())
        })
        .collect();
    deltas.sort_by(f64::total_cmp);
    let (low, high) = (percentile(&deltas, 2.5), percentile(&deltas, 97.5));
    Delta {
        value,
        low,
        high,
        excludes_zero: low > 0.0 || high < 0.0,
    }
}

/// numpy's `percentile(values, q)` (method `linear`) of sorted `values`.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let position = q / 100.0 * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let t = position - below as f64;
    let (a, b) = (sorted[below], sorted[above]);
    // numpy's `_lerp`, which interpolates from the nearer end.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_line<'a>(numerators: &'a [f64], denominators: &'a [f64]) -> Ratio<'a> {
        Ratio {
            numerators,
            denominators,
        }
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let v: Vec<f64> = (0..11).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 5.0);
        assert!((percentile(&v, 2.5) - 0.25).abs() < 1e-12);
        assert!((percentile(&v, 97.5) - 9.75).abs() < 1e-12);
        assert_eq!(percentile(&[3.0], 97.5), 3.0);
    }

    #[test]
    fn a_constant_shift_has_a_tight_interval_and_noise_a_wide_one() {
        let ones = vec![1.0; 40];
        let before: Vec<f64> = (0..40).map(|i| 2.0 + (i % 5) as f64).collect();
        // Every line costs exactly 0.5 less per unit: the interval is a point.
        let shifted: Vec<f64> = before.iter().map(|b| b - 0.5).collect();
        let d = paired_delta(per_line(&shifted, &ones), per_line(&before, &ones));
        assert!((d.value + 0.5).abs() < 1e-12 && (d.low + 0.5).abs() < 1e-12);
        assert!((d.high + 0.5).abs() < 1e-12 && d.excludes_zero, "{d:?}");
        // Half the lines better, half worse by as much: zero is inside.
        let mixed: Vec<f64> = before
            .iter()
            .enumerate()
            .map(|(i, b)| if i % 2 == 0 { b - 1.0 } else { b + 1.0 })
            .collect();
        let d = paired_delta(per_line(&mixed, &ones), per_line(&before, &ones));
        assert!(
            d.value.abs() < 1e-12 && d.low < 0.0 && d.high > 0.0,
            "{d:?}"
        );
        assert!(!d.excludes_zero);
        // Reproducible: the same lines give the same interval.
        let again = paired_delta(per_line(&mixed, &ones), per_line(&before, &ones));
        assert_eq!(d, again);
    }
}
