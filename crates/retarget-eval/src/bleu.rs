//! BLEU exactly as sacrebleu 2.6 computes it: closest reference length,
//! clipped n-gram counts against the per-n-gram maximum over references,
//! smoothing methods `none`, `floor`, `add-k` and `exp`, effective order.

use std::fmt::Write;

use crate::fixed::push_fixed;
use crate::ngrams::{max_counts, packed_ngrams, packed_order, TokenIds};
use crate::sacre_tokenizers::BleuTokenizer;
use crate::score::{Score, Signature};
use retarget_model::text::python;

/// Highest n-gram order.
pub const MAX_NGRAM_ORDER: usize = 4;

/// Smoothing of zero n-gram matches (Chen & Cherry 2014).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoothing {
    /// No smoothing.
    None,
    /// Method 1: a floor for zero counts (default 0.1).
    Floor(f64),
    /// Method 2: add k to counts of orders above one (default 1).
    AddK(f64),
    /// Method 3: NIST-style exponential smoothing (sacrebleu's default).
    Exp,
}

impl Smoothing {
    /// Parses sacrebleu's `-s` / `-sv` pair.
    pub fn parse(method: &str, value: Option<f64>) -> Result<Self, String> {
        Ok(match method {
            "none" => Smoothing::None,
            "floor" => Smoothing::Floor(value.unwrap_or(0.1)),
            "add-k" => Smoothing::AddK(value.unwrap_or(1.0)),
            "exp" => Smoothing::Exp,
            other => {
                return Err(format!(
                    "unknown smoothing method `{other}`: expected exp, floor, add-k, none"
                ))
            }
        })
    }

    fn signature(self) -> String {
        match self {
            Smoothing::None => "none".into(),
            Smoothing::Exp => "exp".into(),
            Smoothing::Floor(v) => format!("floor[{v:.2}]"),
            Smoothing::AddK(v) => format!("add-k[{v:.2}]"),
        }
    }
}

/// BLEU settings.
#[derive(Debug, Clone)]
pub struct Bleu {
    /// Lowercase before tokenizing.
    pub lowercase: bool,
    /// The tokenizer.
    pub tokenizer: BleuTokenizer,
    /// Smoothing.
    pub smoothing: Smoothing,
    /// Stop at the highest order with matches (sentence-level BLEU).
    pub effective_order: bool,
}

impl Default for Bleu {
    fn default() -> Self {
        Bleu {
            lowercase: false,
            tokenizer: BleuTokenizer::V13a,
            smoothing: Smoothing::Exp,
            effective_order: false,
        }
    }
}

/// Sufficient statistics of one segment (or, summed, of a corpus).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BleuStats {
    /// Hypothesis length in tokens.
    pub hyp_len: u64,
    /// Closest reference length.
    pub ref_len: u64,
    /// Clipped matches per order.
    pub correct: [u64; MAX_NGRAM_ORDER],
    /// Hypothesis n-grams per order.
    pub total: [u64; MAX_NGRAM_ORDER],
}

impl BleuStats {
    /// sacrebleu's row for n-gram orders `1..=order`: `[hyp_len, ref_len,
    /// correct…, total…]`.
    pub fn row(&self, order: usize) -> Vec<f64> {
        let mut row = vec![self.hyp_len as f64, self.ref_len as f64];
        row.extend(self.correct[..order].iter().map(|&c| c as f64));
        row.extend(self.total[..order].iter().map(|&t| t as f64));
        row
    }

    /// The statistics of a (summed) [`BleuStats::row`] of `order` orders.
    pub fn from_row(row: &[f64], order: usize) -> Self {
        let int = |v: f64| v.round() as u64;
        let mut stats = BleuStats {
            hyp_len: int(row[0]),
            ref_len: int(row[1]),
            ..BleuStats::default()
        };
        for n in 0..order {
            stats.correct[n] = int(row[2 + n]);
            stats.total[n] = int(row[2 + order + n]);
        }
        stats
    }
}

impl std::ops::AddAssign for BleuStats {
    fn add_assign(&mut self, o: Self) {
        self.hyp_len += o.hyp_len;
        self.ref_len += o.ref_len;
        for n in 0..MAX_NGRAM_ORDER {
            self.correct[n] += o.correct[n];
            self.total[n] += o.total[n];
        }
    }
}

/// sacrebleu's `my_log`: log with a floor for zero.
fn my_log(x: f64) -> f64 {
    if x == 0.0 {
        -9999999999.0
    } else {
        x.ln()
    }
}

/// The ids of `text`'s tokens (`str.split()`; a plain split on `' '` when
/// the tokenizer's output is already joined by single spaces).
fn token_ids<'s>(vocab: &mut TokenIds<'s>, text: &'s str, single_spaces: bool) -> Vec<u32> {
    if single_spaces {
        vocab.ids(text.split(' ').filter(|t| !t.is_empty()))
    } else {
        vocab.ids(python::split(text))
    }
}

impl Bleu {
    fn preprocess(&self, sent: &str) -> String {
        if self.lowercase {
            self.tokenizer
                .tokenize(python::rstrip(&sent.to_lowercase()))
        } else {
            self.tokenizer.tokenize(python::rstrip(sent))
        }
    }

    /// Statistics of one hypothesis against its references.
    pub fn segment_stats(&self, hypothesis: &str, references: &[&str]) -> BleuStats {
        let refs: Vec<String> = references.iter().map(|r| self.preprocess(r)).collect();
        let hyp = self.preprocess(hypothesis);
        let words = refs.iter().chain([&hyp]).map(|t| t.len() / 4 + 1).sum();
        let mut vocab = TokenIds::with_capacity(words);
        let single = self.tokenizer.joins_with_single_spaces();
        let ref_ids: Vec<Vec<u32>> = refs
            .iter()
            .map(|r| token_ids(&mut vocab, r, single))
            .collect();
        let hyp_ids = token_ids(&mut vocab, &hyp, single);
        let max_ref = match ref_ids.as_slice() {
            // One reference (the usual case): its counts are the maximum.
            [only] => packed_ngrams(only, MAX_NGRAM_ORDER),
            _ => ref_ids.iter().fold(Vec::new(), |max, ids| {
                max_counts(&max, &packed_ngrams(ids, MAX_NGRAM_ORDER))
            }),
        };
        let hyp_len = hyp_ids.len() as u64;
        // Closest reference length; ties go to the shorter reference.
        let mut closest: Option<(u64, u64)> = None;
        for ids in &ref_ids {
            let len = ids.len() as u64;
            let diff = hyp_len.abs_diff(len);
            closest = match closest {
                Some((d, l)) if d < diff || (d == diff && l <= len) => Some((d, l)),
                _ => Some((diff, len)),
            };
        }
        let mut stats = BleuStats {
            hyp_len,
            ref_len: closest.map_or(0, |(_, l)| l),
            ..BleuStats::default()
        };
        // Merge-join of two sorted lists: clipped matches per order.
        let mut r = max_ref.iter().peekable();
        for (ngram, count) in packed_ngrams(&hyp_ids, MAX_NGRAM_ORDER) {
            let n = packed_order(ngram) - 1;
            stats.total[n] += u64::from(count);
            while r.next_if(|&&(key, _)| key < ngram).is_some() {}
            if let Some(&&(_, reference)) = r.peek().filter(|&&&(key, _)| key == ngram) {
                stats.correct[n] += u64::from(count.min(reference));
            }
        }
        stats
    }

    /// The score of (summed) statistics.
    pub fn score(&self, stats: &BleuStats) -> BleuScore {
        self.score_upto(stats, MAX_NGRAM_ORDER)
    }

    /// The score of (summed) statistics over n-gram orders `1..=order`
    /// (sacrebleu's `max_ngram_order`, at most [`MAX_NGRAM_ORDER`]); the
    /// precisions of higher orders are left at zero.
    pub fn score_upto(&self, stats: &BleuStats, order: usize) -> BleuScore {
        let order = order.clamp(1, MAX_NGRAM_ORDER);
        let sys_len = stats.hyp_len as f64;
        let ref_len = stats.ref_len as f64;
        let mut bp = 1.0;
        if stats.hyp_len < stats.ref_len {
            bp = if stats.hyp_len > 0 {
                (1.0 - ref_len / sys_len).exp()
            } else {
                0.0
            };
        }
        let mut correct = stats.correct.map(|c| c as f64);
        let mut total = stats.total.map(|t| t as f64);
        let mut precisions = [0.0f64; MAX_NGRAM_ORDER];
        let mut value = 0.0;
        if stats.correct[..order].iter().any(|&c| c > 0) {
            let mut smooth_mteval = 1.0f64;
            let mut eff_order = order;
            for n in 1..=order {
                if let Smoothing::AddK(k) = self.smoothing {
                    if n > 1 {
                        correct[n - 1] += k;
                        total[n - 1] += k;
                    }
                }
                if total[n - 1] == 0.0 {
                    break;
                }
                if self.effective_order {
                    eff_order = n;
                }
                if correct[n - 1] == 0.0 {
                    match self.smoothing {
                        Smoothing::Exp => {
                            smooth_mteval *= 2.0;
                            precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1]);
                        }
                        Smoothing::Floor(v) => precisions[n - 1] = 100.0 * v / total[n - 1],
                        _ => {}
                    }
                } else {
                    precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1];
                }
            }
            let log_sum = precisions[..eff_order]
                .iter()
                .fold(0.0, |acc, &p| acc + my_log(p));
            value = bp * (log_sum / eff_order as f64).exp();
        }
        BleuScore {
            score: value,
            precisions,
            bp,
            sys_len: stats.hyp_len,
            ref_len: stats.ref_len,
        }
    }

    /// sacrebleu's signature fields (without `nrefs` and `version`).
    pub fn signature_fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("case", if self.lowercase { "lc" } else { "mixed" }.into()),
            (
                "eff",
                if self.effective_order { "yes" } else { "no" }.into(),
            ),
            ("tok", self.tokenizer.signature().into()),
            ("smooth", self.smoothing.signature()),
        ]
    }
}

/// A BLEU score with sacrebleu's verbose details.
#[derive(Debug, Clone, PartialEq)]
pub struct BleuScore {
    /// The score, 0–100.
    pub score: f64,
    /// n-gram precisions, 0–100.
    pub precisions: [f64; MAX_NGRAM_ORDER],
    /// Brevity penalty.
    pub bp: f64,
    /// Hypothesis length.
    pub sys_len: u64,
    /// Reference length.
    pub ref_len: u64,
}

impl BleuScore {
    /// As a generic score, with sacrebleu's verbose string.
    pub fn into_score(self, signature: Signature) -> Score {
        let ratio = if self.ref_len > 0 {
            self.sys_len as f64 / self.ref_len as f64
        } else {
            0.0
        };
        // "P1/P2/P3/P4 (BP = … ratio = … hyp_len = … ref_len = …)".
        let mut verbose = String::with_capacity(80);
        for (i, p) in self.precisions.iter().enumerate() {
            if i > 0 {
                verbose.push('/');
            }
            push_fixed(&mut verbose, *p, 1);
        }
        verbose.push_str(" (BP = ");
        push_fixed(&mut verbose, self.bp, 3);
        verbose.push_str(" ratio = ");
        push_fixed(&mut verbose, ratio, 3);
        let _ = write!(
            verbose,
            " hyp_len = {} ref_len = {})",
            self.sys_len, self.ref_len
        );
        Score {
            name: "BLEU".into(),
            score: self.score,
            verbose,
            signature,
        }
    }
}
