//! A word aligner for trans-tokenization (Tik-to-Tok / Trans-Tokenization):
//! IBM Model 1 with fast_align's diagonal prior (Dyer et al., 2013), trained
//! by EM over a parallel corpus of token ids, the E-step on all cores.
//!
//! Written here because no Rust crate implements it. For target token t_j
//! (position j of m) and source token s_i (position i of n), the prior
//! alignment probability is p0 for NULL and (1 − p0)·exp(−λ|i/n − j/m|)/Z_j
//! otherwise; the posterior weighs it by the translation table θ(t|s). After
//! the last iteration the expected counts c(s, t) say how much each source
//! token translates each target token.

use std::collections::HashMap;

use rayon::prelude::*;

/// The NULL source token's id.
const NULL: u32 = u32::MAX;

/// Aligner settings (fast_align's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlignOptions {
    /// EM iterations.
    pub iterations: usize,
    /// λ: how strongly alignments keep to the diagonal.
    pub diagonal_tension: f64,
    /// p0: prior probability of aligning to NULL.
    pub null_probability: f64,
}

impl Default for AlignOptions {
    fn default() -> Self {
        AlignOptions {
            iterations: 5,
            diagonal_tension: 4.0,
            null_probability: 0.08,
        }
    }
}

fn key(source: u32, target: u32) -> u64 {
    ((source as u64) << 32) | target as u64
}

/// Expected alignment counts c(source, target) over `pairs` of
/// (source ids, target ids) after `options.iterations` EM iterations; NULL
/// alignments are left out.
pub fn alignment_counts(
    pairs: &[(Vec<u32>, Vec<u32>)],
    options: AlignOptions,
) -> HashMap<(u32, u32), f64> {
    let target_vocab = pairs
        .iter()
        .flat_map(|(_, t)| t)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let uniform = 1.0 / target_vocab.max(1) as f64;
    let mut table: HashMap<u64, f64> = HashMap::new();
    let mut counts: HashMap<u64, f64> = HashMap::new();
    for _ in 0..options.iterations.max(1) {
        let theta = |s: u32, t: u32| table.get(&key(s, t)).copied().unwrap_or(uniform);
        counts = pairs
            .par_iter()
            .fold(
                HashMap::new,
                |mut acc: HashMap<u64, f64>, (source, target)| {
                    let (n, m) = (source.len() as f64, target.len() as f64);
                    for (j, &t) in target.iter().enumerate() {
                        let jm = (j + 1) as f64 / m;
                        let prior: Vec<f64> = (0..source.len())
                            .map(|i| {
                                (-options.diagonal_tension * ((i + 1) as f64 / n - jm).abs()).exp()
                            })
                            .collect();
                        let z: f64 = prior.iter().sum();
                        let mut posterior: Vec<f64> = source
                            .iter()
                            .zip(&prior)
                            .map(|(&s, p)| (1.0 - options.null_probability) * p / z * theta(s, t))
                            .collect();
                        let null = options.null_probability * theta(NULL, t);
                        let total = null + posterior.iter().sum::<f64>();
                        if total <= 0.0 {
                            continue;
                        }
                        posterior.iter_mut().for_each(|p| *p /= total);
                        for (&s, p) in source.iter().zip(&posterior) {
                            *acc.entry(key(s, t)).or_default() += p;
                        }
                        *acc.entry(key(NULL, t)).or_default() += null / total;
                    }
                    acc
                },
            )
            .reduce(HashMap::new, |mut a, b| {
                for (k, v) in b {
                    *a.entry(k).or_default() += v;
                }
                a
            });
        // M-step: θ(t|s) = c(s,t) / Σ_t' c(s,t').
        let mut per_source: HashMap<u32, f64> = HashMap::new();
        for (&k, &c) in &counts {
            *per_source.entry((k >> 32) as u32).or_default() += c;
        }
        table = counts
            .iter()
            .map(|(&k, &c)| (k, c / per_source[&((k >> 32) as u32)]))
            .collect();
    }
    counts
        .into_iter()
        .filter(|(k, _)| (k >> 32) as u32 != NULL)
        .map(|(k, c)| (((k >> 32) as u32, k as u32), c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_that_always_comes_with_another_aligns_to_it() {
        // Target token 100 always translates source token 7; the other
        // tokens vary around it.
        let pairs: Vec<(Vec<u32>, Vec<u32>)> = (0..40u32)
            .map(|k| {
                (
                    vec![k % 5, 7, 10 + k % 3],
                    vec![20 + k % 4, 100, 30 + k % 5],
                )
            })
            .collect();
        let counts = alignment_counts(&pairs, AlignOptions::default());
        let to_100: Vec<(u32, f64)> = counts
            .iter()
            .filter(|((_, t), _)| *t == 100)
            .map(|((s, _), c)| (*s, *c))
            .collect();
        let total: f64 = to_100.iter().map(|(_, c)| c).sum();
        let from_7 = to_100
            .iter()
            .find(|(s, _)| *s == 7)
            .map(|(_, c)| *c)
            .unwrap();
        assert!(from_7 / total > 0.9, "{to_100:?}");
    }

    #[test]
    fn the_diagonal_prior_breaks_ties_by_position() {
        // Two source tokens that always occur together: only position tells
        // which target token each translates.
        let pairs: Vec<(Vec<u32>, Vec<u32>)> =
            (0..20).map(|_| (vec![1, 2], vec![11, 12])).collect();
        let counts = alignment_counts(&pairs, AlignOptions::default());
        assert!(counts[&(1, 11)] > counts[&(2, 11)]);
        assert!(counts[&(2, 12)] > counts[&(1, 12)]);
    }
}
