//! Static token vectors for FOCUS, trained on target-language text tokenized
//! with the new tokenizer: skip-gram with character n-grams and negative
//! sampling, as fastText trains it (subsampling of frequent tokens, a
//! window drawn per position, a unigram^0.75… here ^0.5 as fastText's
//! negative table, linearly decaying learning rate), and a token's vector
//! its own row averaged with its n-gram rows. Written here because no
//! maintained Rust crate trains fastText-style vectors in-process
//! (finalfrontier is a command-line trainer with its own file format). One
//! thread, so that a seed gives the same vectors.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use retarget_fasttext::ngram_buckets;

/// Training settings (deepfocus's fastText defaults where it sets them).
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// Vector dimension.
    pub dim: usize,
    /// Passes over the text.
    pub epochs: usize,
    /// Tokens seen fewer times get no vector.
    pub min_count: usize,
    /// Largest context window on each side.
    pub window: usize,
    /// Negative samples per context token.
    pub negatives: usize,
    /// n-gram lengths and buckets.
    pub minn: usize,
    /// See `minn`.
    pub maxn: usize,
    /// See `minn`.
    pub buckets: u32,
    /// Starting learning rate.
    pub learning_rate: f64,
    /// Subsampling threshold: tokens more frequent than this are skipped
    /// now and then (fastText's `t`).
    pub sampling: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        TrainSettings {
            dim: 100,
            epochs: 3,
            min_count: 10,
            window: 5,
            negatives: 10,
            minn: 3,
            maxn: 6,
            buckets: 200_000,
            learning_rate: 0.05,
            sampling: 1e-4,
            seed: 0,
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Trains vectors for the tokens of `lines` (each a sequence of token
/// strings) seen at least `min_count` times.
pub fn train(lines: &[Vec<String>], settings: &TrainSettings) -> HashMap<String, Vec<f32>> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for token in lines.iter().flatten() {
        *counts.entry(token.as_str()).or_default() += 1;
    }
    let mut vocab: Vec<(&str, usize)> = counts
        .into_iter()
        .filter(|(_, c)| *c >= settings.min_count)
        .collect();
    vocab.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if vocab.is_empty() {
        return HashMap::new();
    }
    let ids: HashMap<&str, usize> = vocab
        .iter()
        .enumerate()
        .map(|(i, (t, _))| (*t, i))
        .collect();
    let total: usize = vocab.iter().map(|(_, c)| c).sum();
    let (n, dim) = (vocab.len(), settings.dim);
    // Each token's input rows: its own and its n-grams' (after the tokens).
    let inputs: Vec<Vec<usize>> = vocab
        .iter()
        .enumerate()
        .map(|(i, (t, _))| {
            let mut rows = vec![i];
            rows.extend(
                ngram_buckets(t.as_bytes(), settings.minn, settings.maxn, settings.buckets)
                    .into_iter()
                    .map(|h| n + h as usize),
            );
            rows
        })
        .collect();
    let keep: Vec<f64> = vocab
        .iter()
        .map(|(_, c)| {
            let f = *c as f64 / total as f64;
            let t = settings.sampling;
            ((t / f).sqrt() + t / f).min(1.0)
        })
        .collect();
    let mut negatives_table = Vec::new();
    let weights: Vec<f64> = vocab.iter().map(|(_, c)| (*c as f64).sqrt()).collect();
    let weight_sum: f64 = weights.iter().sum();
    for (i, w) in weights.iter().enumerate() {
        let slots = ((w / weight_sum) * 1e6).ceil() as usize;
        negatives_table.extend(std::iter::repeat_n(i, slots));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let rows = n + settings.buckets as usize;
    let bound = 1.0 / dim as f32;
    let mut input: Vec<f32> = (0..rows * dim)
        .map(|_| rng.random_range(-bound..bound))
        .collect();
    let mut output = vec![0f32; n * dim];
    let sentences: Vec<Vec<usize>> = lines
        .iter()
        .map(|l| {
            l.iter()
                .filter_map(|t| ids.get(t.as_str()).copied())
                .collect()
        })
        .collect();
    let steps = (settings.epochs * total).max(1) as f64;
    let (mut done, mut hidden, mut grad) = (0usize, vec![0f32; dim], vec![0f32; dim]);
    for _ in 0..settings.epochs {
        for sentence in &sentences {
            let kept: Vec<usize> = sentence
                .iter()
                .copied()
                .filter(|&w| rng.random::<f64>() <= keep[w])
                .collect();
            done += sentence.len();
            let lr = (settings.learning_rate * (1.0 - done as f64 / steps)).max(0.0) as f32;
            for (pos, &w) in kept.iter().enumerate() {
                let span = rng.random_range(1..=settings.window);
                let rows_w = &inputs[w];
                hidden.iter_mut().for_each(|h| *h = 0.0);
                for &r in rows_w {
                    for (h, x) in hidden.iter_mut().zip(&input[r * dim..(r + 1) * dim]) {
                        *h += x / rows_w.len() as f32;
                    }
                }
                let lo = pos.saturating_sub(span);
                let hi = (pos + span).min(kept.len() - 1);
                for (c, &context) in kept.iter().enumerate().take(hi + 1).skip(lo) {
                    if c == pos {
                        continue;
                    }
                    grad.iter_mut().for_each(|g| *g = 0.0);
                    for k in 0..=settings.negatives {
                        let (target, label) = if k == 0 {
                            (context, 1.0)
                        } else {
                            let t = negatives_table[rng.random_range(0..negatives_table.len())];
                            if t == context {
                                continue;
                            }
                            (t, 0.0)
                        };
                        let out = &mut output[target * dim..(target + 1) * dim];
                        let score = sigmoid(out.iter().zip(&hidden).map(|(a, b)| a * b).sum());
                        let g = lr * (label - score);
                        for ((gr, o), h) in grad.iter_mut().zip(out.iter_mut()).zip(&hidden) {
                            *gr += g * *o;
                            *o += g * h;
                        }
                    }
                    for &r in rows_w {
                        for (x, g) in input[r * dim..(r + 1) * dim].iter_mut().zip(&grad) {
                            *x += g;
                        }
                    }
                }
            }
        }
    }
    vocab
        .iter()
        .enumerate()
        .map(|(i, (t, _))| {
            let mut v = vec![0f32; dim];
            for &r in &inputs[i] {
                for (a, x) in v.iter_mut().zip(&input[r * dim..(r + 1) * dim]) {
                    *a += x / inputs[i].len() as f32;
                }
            }
            (t.to_string(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        dot / (norm(a) * norm(b))
    }

    #[test]
    fn tokens_in_the_same_contexts_end_up_alike_and_seeds_repeat() {
        // "paka" and "mbwa" share every context; "leo" never meets them.
        let mut lines = Vec::new();
        for k in 0..400 {
            let animal = if k % 2 == 0 { "paka" } else { "mbwa" };
            let line = format!("▁yule ▁{animal} ▁anakula ▁chakula ▁kingi");
            lines.push(line.split(' ').map(str::to_string).collect());
            lines.push(
                "▁leo ▁ni ▁siku ▁ya ▁jua"
                    .split(' ')
                    .map(str::to_string)
                    .collect(),
            );
        }
        let settings = TrainSettings {
            dim: 16,
            epochs: 5,
            min_count: 5,
            buckets: 1000,
            // A tiny text: every token is frequent.
            sampling: 1.0,
            ..TrainSettings::default()
        };
        let v = train(&lines, &settings);
        let same = cosine(&v["▁paka"], &v["▁mbwa"]);
        let other = cosine(&v["▁paka"], &v["▁siku"]);
        assert!(same > other + 0.2, "paka~mbwa {same}, paka~siku {other}");
        assert_eq!(train(&lines, &settings)["▁paka"], v["▁paka"]);
        let rare = TrainSettings {
            min_count: 1000,
            ..settings
        };
        assert!(train(&lines, &rare).is_empty());
    }
}
