//! Choosing the next token from logits: greedy (temperature 0), or sampling
//! with temperature and nucleus (top-p) filtering from a seeded generator, the
//! way `transformers`' `TemperatureLogitsWarper` and `TopPLogitsWarper` filter.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{InferError, Result};

/// How to pick tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Softmax temperature; 0 is greedy decoding.
    pub temperature: f64,
    /// Keep the most likely tokens whose probabilities add up to `top_p`.
    pub top_p: f64,
    /// Seed of the random generator (same seed, same text).
    pub seed: u64,
}

impl Sampling {
    /// Greedy decoding.
    pub fn greedy() -> Self {
        Sampling {
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
        }
    }

    fn validate(&self) -> Result<()> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(InferError::Request(format!(
                "temperature {} must be 0 (greedy) or positive",
                self.temperature
            )));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(InferError::Request(format!(
                "top-p {} must be in (0, 1]",
                self.top_p
            )));
        }
        Ok(())
    }
}

/// A token picker holding its random generator.
pub(crate) struct Sampler {
    sampling: Sampling,
    rng: ChaCha8Rng,
}

impl Sampler {
    pub(crate) fn new(sampling: Sampling) -> Result<Self> {
        sampling.validate()?;
        Ok(Sampler {
            sampling,
            rng: ChaCha8Rng::seed_from_u64(sampling.seed),
        })
    }

    /// The next token given one position's logits.
    pub(crate) fn pick(&mut self, logits: &[f32]) -> u32 {
        if self.sampling.temperature == 0.0 {
            return argmax(logits);
        }
        let t = self.sampling.temperature;
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let mut candidates: Vec<(u32, f64)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, ((l as f64 - max) / t).exp()))
            .collect();
        let total: f64 = candidates.iter().map(|c| c.1).sum();
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut kept = 0;
        let mut mass = 0.0;
        for (_, weight) in &candidates {
            kept += 1;
            mass += weight / total;
            if mass >= self.sampling.top_p {
                break;
            }
        }
        candidates.truncate(kept);
        let index = WeightedIndex::new(candidates.iter().map(|c| c.1))
            .expect("positive weights")
            .sample(&mut self.rng);
        candidates[index].0
    }
}

/// Index of the largest logit (the first on ties, as `torch.argmax`).
pub(crate) fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(Sampling::greedy()).unwrap();
        assert_eq!(s.pick(&[0.1, 3.0, -1.0, 3.0]), 1);
    }

    #[test]
    fn top_p_keeps_only_the_nucleus() {
        let sampling = Sampling {
            temperature: 1.0,
            top_p: 0.5,
            seed: 7,
        };
        let mut s = Sampler::new(sampling).unwrap();
        // Token 2 holds ~0.84 of the mass: with top-p 0.5 it is the only candidate.
        for _ in 0..50 {
            assert_eq!(s.pick(&[0.0, 1.0, 3.0, 0.5]), 2);
        }
    }

    #[test]
    fn same_seed_same_choices_and_all_tokens_reachable() {
        let sampling = Sampling {
            temperature: 1.0,
            top_p: 1.0,
            seed: 3,
        };
        let logits = [0.0f32, 0.1, 0.2, 0.3];
        let run = || {
            let mut s = Sampler::new(sampling).unwrap();
            (0..200).map(|_| s.pick(&logits)).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        for token in 0..4 {
            assert!(first.contains(&token), "token {token} never drawn");
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        for (temperature, top_p) in [(-1.0, 1.0), (f64::NAN, 1.0), (1.0, 0.0), (1.0, 1.5)] {
            let sampling = Sampling {
                temperature,
                top_p,
                seed: 0,
            };
            assert!(Sampler::new(sampling).is_err());
        }
    }
}
