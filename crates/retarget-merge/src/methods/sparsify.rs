//! Sparsification of task vectors (deltas from the base model), the first
//! half of generalised task arithmetic: keep the largest magnitudes (TIES),
//! a random subset (DARE), a band without the smallest and the outliers
//! (breadcrumbs), or a random subset whose keep probability grows with
//! magnitude rank (DELLA). Each optionally rescales the kept values so the
//! L1 norm is unchanged, as mergekit does.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How a task vector is thinned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sparsification {
    /// Keep the `density` fraction with the largest magnitudes (TIES).
    Magnitude,
    /// Keep each value with probability `density` (DARE).
    Random,
    /// Drop the `gamma` fraction of largest magnitudes, then the smallest,
    /// keeping `density` (Model Breadcrumbs).
    MagnitudeOutliers,
    /// Keep with probability `density ± epsilon` rising with magnitude rank
    /// within each row (DELLA's MagPrune).
    DellaMagprune,
}

/// Per-input settings of a sparsification.
#[derive(Debug, Clone, Copy)]
pub struct SparsifyParams {
    /// Fraction of values to keep.
    pub density: f64,
    /// Outlier fraction (breadcrumbs).
    pub gamma: f64,
    /// Probability spread (DELLA).
    pub epsilon: f64,
    /// Rescale to the original L1 norm.
    pub rescale: bool,
}

/// Rescales `masked` so that its L1 norm equals `before` (the norm of the
/// unmasked tensor), unless either norm is negligible.
fn rescale_l1(values: &mut [f32], before: f64) {
    let after: f64 = values.iter().map(|v| v.abs() as f64).sum();
    if before < 1e-7 || after < 1e-7 {
        return;
    }
    let factor = (before as f32) / (after as f32);
    values.iter_mut().for_each(|v| *v *= factor);
}

fn l1(values: &[f32]) -> f64 {
    values.iter().map(|v| v.abs() as f64).sum()
}

/// Thins `delta` in place. `rng` drives the random methods only.
pub fn sparsify(
    delta: &mut [f32],
    shape: &[usize],
    method: Sparsification,
    p: SparsifyParams,
    rng: &mut ChaCha8Rng,
) -> Result<(), String> {
    if p.density >= 1.0 {
        return Ok(());
    }
    let before = if p.rescale { l1(delta) } else { 0.0 };
    match method {
        Sparsification::Magnitude => {
            if p.density <= 0.0 || delta.is_empty() {
                delta.fill(0.0);
                return Ok(());
            }
            let k = ((p.density * delta.len() as f64) as usize).max(1);
            keep_largest(delta, k);
        }
        Sparsification::MagnitudeOutliers => {
            let n = delta.len();
            let target = (p.density * n as f64) as usize;
            let top = (p.gamma * n as f64) as usize;
            let bottom = n.saturating_sub(target + top);
            keep_ascending_ranks(delta, bottom, bottom + target);
        }
        Sparsification::Random => {
            for v in delta.iter_mut() {
                if !rng.random_bool(p.density.max(0.0)) {
                    *v = 0.0;
                }
            }
        }
        Sparsification::DellaMagprune => {
            if p.density <= 0.0 {
                delta.fill(0.0);
                return Ok(());
            }
            if p.density + p.epsilon >= 1.0 || p.density - p.epsilon <= 0.0 {
                return Err(format!(
                    "DELLA needs density ± epsilon inside (0, 1); density {} and epsilon {} are not",
                    p.density, p.epsilon
                ));
            }
            let columns = if shape.len() < 2 {
                delta.len()
            } else {
                *shape.last().unwrap_or(&1)
            };
            della_rows(delta, columns.max(1), p, rng);
        }
    }
    if p.rescale {
        rescale_l1(delta, before);
    }
    Ok(())
}

/// The value at ascending rank `rank` of the magnitudes.
fn magnitude_at_rank(delta: &[f32], rank: usize) -> f32 {
    let mut magnitudes: Vec<f32> = delta.iter().map(|v| v.abs()).collect();
    let (_, value, _) = magnitudes.select_nth_unstable_by(rank, f32::total_cmp);
    *value
}

/// Keeps the `k` largest magnitudes; among equal magnitudes at the cut, the
/// earliest positions win (a stable descending sort, as PyTorch's on CPU).
fn keep_largest(delta: &mut [f32], k: usize) {
    if k >= delta.len() {
        return;
    }
    let threshold = magnitude_at_rank(delta, delta.len() - k);
    let greater = delta.iter().filter(|v| v.abs() > threshold).count();
    let mut ties_left = k - greater;
    for v in delta.iter_mut() {
        let m = v.abs();
        if m > threshold {
            continue;
        }
        if m == threshold && ties_left > 0 {
            ties_left -= 1;
            continue;
        }
        *v = 0.0;
    }
}

/// Keeps the values whose rank in a stable ascending sort of magnitudes lies
/// in `lo..hi`.
fn keep_ascending_ranks(delta: &mut [f32], lo: usize, hi: usize) {
    let n = delta.len();
    if lo >= hi || lo >= n {
        delta.fill(0.0);
        return;
    }
    let hi = hi.min(n);
    let lo_value = magnitude_at_rank(delta, lo);
    let hi_value = magnitude_at_rank(delta, hi - 1);
    let below_lo = delta.iter().filter(|v| v.abs() < lo_value).count();
    let below_hi = delta.iter().filter(|v| v.abs() < hi_value).count();
    let (mut seen_lo, mut seen_hi) = (0, 0);
    for v in delta.iter_mut() {
        let m = v.abs();
        let keep = if m == lo_value {
            seen_lo += 1;
            (lo..hi).contains(&(below_lo + seen_lo - 1))
        } else if m == hi_value {
            seen_hi += 1;
            (lo..hi).contains(&(below_hi + seen_hi - 1))
        } else {
            m > lo_value && m < hi_value
        };
        if !keep {
            *v = 0.0;
        }
    }
}

/// DELLA's MagPrune on each row of `columns` values: the value of rank r
/// (1 = smallest magnitude) survives with probability
/// `density - epsilon + 2·epsilon·(r-1)/(columns-1)`.
fn della_rows(delta: &mut [f32], columns: usize, p: SparsifyParams, rng: &mut ChaCha8Rng) {
    let mut order: Vec<usize> = Vec::with_capacity(columns);
    let mut keep = vec![false; columns];
    for row in delta.chunks_mut(columns) {
        order.clear();
        order.extend(0..row.len());
        order.sort_by(|&a, &b| row[a].abs().total_cmp(&row[b].abs()));
        let span = (row.len().max(2) - 1) as f64;
        for (rank, &j) in order.iter().enumerate() {
            let probability = (p.density - p.epsilon) + (rank as f64 / span) * 2.0 * p.epsilon;
            keep[j] = rng.random_bool(probability.clamp(0.0, 1.0));
        }
        for (v, &k) in row.iter_mut().zip(&keep) {
            if !k {
                *v = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn params(density: f64) -> SparsifyParams {
        SparsifyParams {
            density,
            gamma: 0.0,
            epsilon: 0.0,
            rescale: false,
        }
    }

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn magnitude_keeps_the_largest_and_breaks_ties_by_position() {
        let mut d = vec![0.1, -3.0, 2.0, -2.0, 0.5];
        sparsify(
            &mut d,
            &[5],
            Sparsification::Magnitude,
            params(0.4),
            &mut rng(),
        )
        .unwrap();
        assert_eq!(d, [0.0, -3.0, 2.0, 0.0, 0.0]);
    }

    #[test]
    fn breadcrumbs_drop_outliers_and_smallest() {
        // density 0.5 of 6 = 3 kept; gamma 1/6 → the largest dropped, the 2 smallest dropped.
        let mut d = vec![6.0, 1.0, -5.0, 2.0, 4.0, -3.0];
        let p = SparsifyParams {
            gamma: 0.17,
            ..params(0.5)
        };
        sparsify(
            &mut d,
            &[6],
            Sparsification::MagnitudeOutliers,
            p,
            &mut rng(),
        )
        .unwrap();
        assert_eq!(d, [0.0, 0.0, -5.0, 0.0, 4.0, -3.0]);
    }

    #[test]
    fn dare_keeps_about_density_and_rescale_preserves_l1() {
        let n = 200_000;
        let original: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let mut d = original.clone();
        let p = SparsifyParams {
            rescale: true,
            ..params(0.3)
        };
        sparsify(&mut d, &[n], Sparsification::Random, p, &mut rng()).unwrap();
        let kept = d.iter().filter(|v| **v != 0.0).count() as f64 / n as f64;
        // Binomial sd = sqrt(0.3·0.7/n) ≈ 0.001; 5 sd.
        assert!((kept - 0.3).abs() < 0.005, "{kept}");
        let (a, b) = (l1(&original), l1(&d));
        assert!((a - b).abs() / a < 1e-5, "{a} {b}");
    }

    #[test]
    fn della_keeps_large_values_more_often() {
        let columns = 1000;
        let row: Vec<f32> = (0..columns).map(|i| i as f32 + 1.0).collect();
        let mut d: Vec<f32> = row.iter().cycle().take(columns * 200).copied().collect();
        let p = SparsifyParams {
            epsilon: 0.2,
            ..params(0.5)
        };
        sparsify(
            &mut d,
            &[200, columns],
            Sparsification::DellaMagprune,
            p,
            &mut rng(),
        )
        .unwrap();
        let rate = |col: usize| {
            d.iter()
                .skip(col)
                .step_by(columns)
                .filter(|v| **v != 0.0)
                .count() as f64
                / 200.0
        };
        let low: f64 = (0..100).map(rate).sum::<f64>() / 100.0;
        let high: f64 = (900..1000).map(rate).sum::<f64>() / 100.0;
        // Expected ≈ 0.31 and ≈ 0.69.
        assert!(
            (low - 0.31).abs() < 0.03 && (high - 0.69).abs() < 0.03,
            "{low} {high}"
        );
        let bad = SparsifyParams {
            epsilon: 0.6,
            ..params(0.5)
        };
        assert!(sparsify(
            &mut d,
            &[200, columns],
            Sparsification::DellaMagprune,
            bad,
            &mut rng()
        )
        .is_err());
    }
}
