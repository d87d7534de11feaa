//! Evaluation for retarget: BLEU, chrF/chrF++ and TER that equal sacrebleu
//! 2.6 to the digit, computed in parallel; tokenizer fairness (fertility,
//! parity) with the UDHR as built-in parallel text.
//!
//! Each metric has per-segment statistics that add up to corpus statistics,
//! so corpus scores and sentence scores share one code path.

pub mod bleu;
pub mod bootstrap;
pub mod chrf;
pub mod corpus;
pub mod error;
pub mod fertility;
pub mod fixed;
pub mod langid;
pub mod language;
pub mod metric;
mod ngrams;
pub mod numpy_rng;
pub mod sacre_tokenizers;
pub mod score;
pub mod sentencepiece;
pub mod significance;
pub mod systems;
pub mod ter;
pub mod udhr;

use rayon::prelude::*;

pub use error::{EvalError, Result};

use bleu::Bleu;
use chrf::Chrf;
use corpus::ParallelText;
use metric::Stats;
use score::{Score, Signature};
use ter::Ter;

/// The metrics and their settings for one evaluation.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// BLEU, if requested.
    pub bleu: Option<Bleu>,
    /// chrF, if requested.
    pub chrf: Option<Chrf>,
    /// TER, if requested.
    pub ter: Option<Ter>,
}

/// Corpus-level scores, in sacrebleu's order (BLEU, chrF, TER): each
/// metric's segment statistics computed on all cores, added in order.
pub fn corpus_scores(text: &ParallelText, metrics: &Metrics) -> Vec<Score> {
    let nrefs = text.references.len();
    metrics
        .all()
        .iter()
        .map(|metric| {
            let stats: Vec<Stats> = (0..text.hypotheses.len())
                .into_par_iter()
                .map(|i| metric.stats(&text.hypotheses[i], &text.refs_of(i)))
                .collect();
            let mut total = metric.zero();
            for s in &stats {
                total.add(s);
            }
            metric.score(&total, Signature::new(nrefs, metric.signature_fields()))
        })
        .collect()
}

/// Sentence-level scores of the one requested metric, one per segment.
pub fn sentence_scores(text: &ParallelText, metrics: &Metrics) -> Result<Vec<Score>> {
    let [metric] = metrics.all()[..] else {
        return Err(EvalError::Usage(
            "sentence-level mode takes exactly one metric".into(),
        ));
    };
    // One signature for every segment: the settings do not change.
    let signature = Signature::new(text.references.len(), metric.signature_fields());
    Ok((0..text.hypotheses.len())
        .into_par_iter()
        .map(|i| {
            let stats = metric.stats(&text.hypotheses[i], &text.refs_of(i));
            metric.score(&stats, signature.clone())
        })
        .collect())
}
