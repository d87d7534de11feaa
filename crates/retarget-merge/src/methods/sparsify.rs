//! Sparsification of task vectors (deltas from the base model), the first
//! half of generalised task arithmetic: keep the largest magnitudes (TIES),
//! a random subset (DARE), a band without the smallest and the outliers
//! (breadcrumbs), or a random subset whose keep probability grows with
//! magnitude rank within each row (DELLA). Each optionally rescales the kept
//! values so that the L1 norm is unchanged, as mergekit does.
//!
//! A [`Mask`] is planned from statistics over the whole task vector and then
//! applied chunk by chunk; random masks draw from one stream per chunk, so
//! the result depends on the seed only, not on threads.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::rounding::Rounding;
use super::select::{magnitude_bits, value_at_rank, RankValue, Selection};
use super::sources::Sources;
use crate::error::{MergeError, Result};

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

/// A planned mask over one task vector.
#[derive(Debug, Clone)]
pub enum Mask {
    /// Nothing is dropped.
    All,
    /// Everything is dropped.
    Nothing,
    /// A magnitude cut; `seen_before[c]` counts the edge values in chunks before `c`.
    Select {
        /// The surviving magnitudes.
        selection: Selection,
        /// Per chunk, occurrences of each edge value before it.
        seen_before: Vec<Vec<usize>>,
    },
    /// Independent draws with probability `density`.
    Random {
        /// Keep probability.
        density: f64,
        /// Seed of this task vector's streams.
        seed: u64,
    },
    /// DELLA's rank-dependent draws within rows of `columns` values.
    Della {
        /// Mean keep probability.
        density: f64,
        /// Spread.
        epsilon: f64,
        /// Row length.
        columns: usize,
        /// Seed of this task vector's streams.
        seed: u64,
    },
}

fn chunk_rng(seed: u64, chunk: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ (chunk as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

impl Mask {
    /// Plans the mask of the task vector `R::round(input − base)`, where
    /// `which = [base, input]` index `sources`, processed in chunks of `chunk_len`.
    pub fn plan<R: Rounding>(
        method: Sparsification,
        p: SparsifyParams,
        shape: &[usize],
        seed: u64,
        sources: &Sources,
        which: &[usize; 2],
        chunk_len: usize,
    ) -> Result<Mask> {
        let n = sources.len();
        if p.density >= 1.0 {
            return Ok(Mask::All);
        }
        let at_rank = |rank: usize| -> RankValue {
            value_at_rank(rank, &|high| {
                sources.fold_chunks(
                    chunk_len,
                    which,
                    || vec![0usize; 1 << 16],
                    |mut counts, _, _, values| {
                        let bits = values[1]
                            .iter()
                            .zip(values[0])
                            .map(|(x, b)| magnitude_bits(R::round(x - b)));
                        match high {
                            None => bits.for_each(|m| counts[(m >> 16) as usize] += 1),
                            Some(h) => bits
                                .filter(|m| m >> 16 == h)
                                .for_each(|m| counts[(m & 0xffff) as usize] += 1),
                        }
                        counts
                    },
                    |mut a, b| {
                        a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                        a
                    },
                )
            })
        };
        let selection = match method {
            Sparsification::Magnitude => {
                if p.density <= 0.0 || n == 0 {
                    return Ok(Mask::Nothing);
                }
                let k = ((p.density * n as f64) as usize).max(1);
                if k >= n {
                    return Ok(Mask::All);
                }
                Selection::largest(k, n, at_rank)
            }
            Sparsification::MagnitudeOutliers => {
                let target = (p.density * n as f64) as usize;
                let top = (p.gamma * n as f64) as usize;
                let bottom = n.saturating_sub(target + top);
                if target == 0 || bottom >= n {
                    return Ok(Mask::Nothing);
                }
                Selection::ranks(bottom, (bottom + target).min(n), at_rank)
            }
            Sparsification::Random => {
                return Ok(Mask::Random {
                    density: p.density.max(0.0),
                    seed,
                })
            }
            Sparsification::DellaMagprune => {
                if p.density <= 0.0 {
                    return Ok(Mask::Nothing);
                }
                if p.density + p.epsilon >= 1.0 || p.density - p.epsilon <= 0.0 {
                    return Err(MergeError::Tensor(format!(
                        "DELLA needs density ± epsilon inside (0, 1); density {} and epsilon {} are not",
                        p.density, p.epsilon
                    )));
                }
                let columns = if shape.len() < 2 {
                    n
                } else {
                    shape[shape.len() - 1]
                };
                return Ok(Mask::Della {
                    density: p.density,
                    epsilon: p.epsilon,
                    columns: columns.max(1),
                    seed,
                });
            }
        };
        let counts = sources.map_chunks(chunk_len, which, |_, _, values| {
            let mut seen = vec![0usize; selection.edges.len()];
            for (x, b) in values[1].iter().zip(values[0]) {
                let bits = magnitude_bits(R::round(x - b));
                if let Some(e) = selection.edges.iter().position(|e| e.bits == bits) {
                    seen[e] += 1;
                }
            }
            seen
        });
        let mut running = vec![0usize; selection.edges.len()];
        let seen_before = counts
            .into_iter()
            .map(|c| {
                let before = running.clone();
                running.iter_mut().zip(c).for_each(|(r, x)| *r += x);
                before
            })
            .collect();
        Ok(Mask::Select {
            selection,
            seen_before,
        })
    }

    /// Chunk length this mask needs (DELLA works on whole rows).
    pub fn chunk_len(&self, default: usize) -> usize {
        match self {
            Mask::Della { columns, .. } => (default / columns).max(1) * columns,
            _ => default,
        }
    }

    /// Whether each value of chunk `chunk` (task-vector values `d`) survives.
    pub fn apply(&self, chunk: usize, d: &[f32], keep: &mut [bool]) {
        match self {
            Mask::All => keep.fill(true),
            Mask::Nothing => keep.fill(false),
            Mask::Select {
                selection,
                seen_before,
            } => {
                let mut seen = seen_before[chunk].clone();
                selection.apply(d, &mut seen, keep);
            }
            Mask::Random { density, seed } => {
                let mut rng = chunk_rng(*seed, chunk);
                keep.iter_mut()
                    .for_each(|k| *k = rng.random_bool(density.min(1.0)));
            }
            Mask::Della {
                density,
                epsilon,
                columns,
                seed,
            } => {
                let mut rng = chunk_rng(*seed, chunk);
                let mut order: Vec<usize> = Vec::with_capacity(*columns);
                for (row, keep_row) in d.chunks(*columns).zip(keep.chunks_mut(*columns)) {
                    order.clear();
                    order.extend(0..row.len());
                    order.sort_by(|&a, &b| row[a].abs().total_cmp(&row[b].abs()));
                    let span = (row.len().max(2) - 1) as f64;
                    for (rank, &j) in order.iter().enumerate() {
                        let probability =
                            (density - epsilon) + (rank as f64 / span) * 2.0 * epsilon;
                        keep_row[j] = rng.random_bool(probability.clamp(0.0, 1.0));
                    }
                }
            }
        }
    }

    /// The factor that restores the task vector's L1 norm after masking
    /// (1 when either norm is negligible, as mergekit does).
    pub fn l1_rescale<R: Rounding>(
        &self,
        sources: &Sources,
        which: &[usize; 2],
        chunk_len: usize,
    ) -> f32 {
        if matches!(self, Mask::All) {
            return 1.0;
        }
        let (before, after) = sources.fold_chunks(
            chunk_len,
            which,
            || (0f64, 0f64),
            |(mut before, mut after), c, _, values| {
                let d: Vec<f32> = values[1]
                    .iter()
                    .zip(values[0])
                    .map(|(x, b)| R::round(x - b))
                    .collect();
                let mut keep = vec![false; d.len()];
                self.apply(c, &d, &mut keep);
                for (v, k) in d.iter().zip(&keep) {
                    before += v.abs() as f64;
                    if *k {
                        after += v.abs() as f64;
                    }
                }
                (before, after)
            },
            |a, b| (a.0 + b.0, a.1 + b.1),
        );
        if before < 1e-7 || after < 1e-7 {
            1.0
        } else {
            before as f32 / after as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rounding::Exact;
    use super::super::sources::Source;
    use super::*;

    fn params(density: f64) -> SparsifyParams {
        SparsifyParams {
            density,
            gamma: 0.0,
            epsilon: 0.0,
            rescale: false,
        }
    }

    /// Applies `method` to `values` (the task vector against a zero base).
    fn sparsified(
        values: &[f32],
        shape: &[usize],
        method: Sparsification,
        p: SparsifyParams,
        chunk_len: usize,
    ) -> Result<Vec<f32>> {
        let sources = Sources {
            inputs: vec![
                Source::Owned(vec![0.0; values.len()]),
                Source::Owned(values.to_vec()),
            ],
        };
        let mask = Mask::plan::<Exact>(method, p, shape, 7, &sources, &[0, 1], chunk_len)?;
        let chunk_len = mask.chunk_len(chunk_len);
        let factor = if p.rescale {
            mask.l1_rescale::<Exact>(&sources, &[0, 1], chunk_len)
        } else {
            1.0
        };
        let mut out = Vec::new();
        for (c, chunk) in values.chunks(chunk_len).enumerate() {
            let mut keep = vec![false; chunk.len()];
            mask.apply(c, chunk, &mut keep);
            out.extend(
                chunk
                    .iter()
                    .zip(&keep)
                    .map(|(v, k)| if *k { v * factor } else { 0.0 }),
            );
        }
        Ok(out)
    }

    #[test]
    fn magnitude_keeps_the_largest_and_breaks_ties_by_position_across_chunks() {
        let d = [0.1, -3.0, 2.0, -2.0, 0.5, 2.0];
        for chunk_len in [1, 2, 4, 64] {
            let out =
                sparsified(&d, &[6], Sparsification::Magnitude, params(0.5), chunk_len).unwrap();
            assert_eq!(
                out,
                [0.0, -3.0, 2.0, -2.0, 0.0, 0.0],
                "chunks of {chunk_len}"
            );
        }
    }

    #[test]
    fn breadcrumbs_drop_outliers_and_smallest() {
        // density 0.5 of 6 = 3 kept; gamma 1/6 → the largest dropped, the 2 smallest dropped.
        let d = [6.0, 1.0, -5.0, 2.0, 4.0, -3.0];
        let p = SparsifyParams {
            gamma: 0.17,
            ..params(0.5)
        };
        let out = sparsified(&d, &[6], Sparsification::MagnitudeOutliers, p, 4).unwrap();
        assert_eq!(out, [0.0, 0.0, -5.0, 0.0, 4.0, -3.0]);
    }

    #[test]
    fn dare_keeps_about_density_and_rescale_preserves_l1() {
        let n = 200_000;
        let d: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let p = SparsifyParams {
            rescale: true,
            ..params(0.3)
        };
        let out = sparsified(&d, &[n], Sparsification::Random, p, CHUNK_FOR_TESTS).unwrap();
        let kept = out.iter().filter(|v| **v != 0.0).count() as f64 / n as f64;
        // Binomial sd = sqrt(0.3·0.7/n) ≈ 0.001; 5 sd.
        assert!((kept - 0.3).abs() < 0.005, "{kept}");
        let l1 = |x: &[f32]| x.iter().map(|v| v.abs() as f64).sum::<f64>();
        assert!((l1(&d) - l1(&out)).abs() / l1(&d) < 1e-5);
        // The same seed gives the same mask whatever the chunking of the work.
        assert_eq!(
            out,
            sparsified(&d, &[n], Sparsification::Random, p, CHUNK_FOR_TESTS).unwrap()
        );
    }

    const CHUNK_FOR_TESTS: usize = 1 << 12;

    #[test]
    fn della_keeps_large_values_more_often() {
        let columns = 1000;
        let d: Vec<f32> = (0..columns * 200)
            .map(|i| (i % columns) as f32 + 1.0)
            .collect();
        let p = SparsifyParams {
            epsilon: 0.2,
            ..params(0.5)
        };
        let out = sparsified(
            &d,
            &[200, columns],
            Sparsification::DellaMagprune,
            p,
            CHUNK_FOR_TESTS,
        )
        .unwrap();
        let rate = |col: usize| {
            out.iter()
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
        assert!(sparsified(
            &d,
            &[200, columns],
            Sparsification::DellaMagprune,
            bad,
            CHUNK_FOR_TESTS
        )
        .is_err());
    }
}
