//! Evaluation for retarget: BLEU, chrF/chrF++ and TER that equal sacrebleu
//! 2.6 to the digit, computed in parallel; tokenizer fairness (fertility,
//! parity) with the UDHR as built-in parallel text.
//!
//! Each metric has per-segment statistics that add up to corpus statistics,
//! so corpus scores and sentence scores share one code path.

pub mod bleu;
pub mod chrf;
pub mod corpus;
pub mod error;
pub mod fertility;
pub mod langid;
pub mod language;
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

use bleu::{Bleu, BleuStats};
use chrf::Chrf;
use corpus::ParallelText;
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

/// Corpus-level scores, in sacrebleu's order (BLEU, chrF, TER).
pub fn corpus_scores(text: &ParallelText, metrics: &Metrics) -> Vec<Score> {
    let nrefs = text.references.len();
    let segments: Vec<usize> = (0..text.hypotheses.len()).collect();
    let mut out = Vec::new();
    if let Some(bleu) = &metrics.bleu {
        let stats: Vec<BleuStats> = segments
            .par_iter()
            .map(|&i| bleu.segment_stats(&text.hypotheses[i], &text.refs_of(i)))
            .collect();
        let mut total = BleuStats::default();
        for s in stats {
            total += s;
        }
        let signature = Signature::new(nrefs, bleu.signature_fields());
        out.push(bleu.score(&total).into_score(signature));
    }
    if let Some(chrf) = &metrics.chrf {
        let stats: Vec<_> = segments
            .par_iter()
            .map(|&i| chrf.segment_stats(&text.hypotheses[i], &text.refs_of(i)))
            .collect();
        let mut total = Vec::new();
        for s in &stats {
            chrf::add_stats(&mut total, s);
        }
        out.push(chrf.score(&total, Signature::new(nrefs, chrf.signature_fields())));
    }
    if let Some(ter) = &metrics.ter {
        let stats: Vec<_> = segments
            .par_iter()
            .map(|&i| ter.segment_stats(&text.hypotheses[i], &text.refs_of(i)))
            .collect();
        // Summed in order, as sacrebleu sums floats.
        let edits: f64 = stats.iter().map(|s| s.edits).sum();
        let ref_len = stats.iter().fold(0.0, |acc, s| acc + s.ref_len);
        out.push(ter.score(
            edits,
            ref_len,
            Signature::new(nrefs, ter.signature_fields()),
        ));
    }
    out
}

/// Sentence-level scores of the one requested metric, one per segment.
pub fn sentence_scores(text: &ParallelText, metrics: &Metrics) -> Result<Vec<Score>> {
    let requested = [
        metrics.bleu.is_some(),
        metrics.chrf.is_some(),
        metrics.ter.is_some(),
    ];
    if requested.iter().filter(|&&r| r).count() != 1 {
        return Err(EvalError::Usage(
            "sentence-level mode takes exactly one metric".into(),
        ));
    }
    // One signature for every segment: the settings do not change.
    let fields = match (&metrics.bleu, &metrics.chrf, &metrics.ter) {
        (Some(bleu), _, _) => bleu.signature_fields(),
        (_, Some(chrf), _) => chrf.signature_fields(),
        (_, _, Some(ter)) => ter.signature_fields(),
        _ => unreachable!("one metric requested"),
    };
    let signature = Signature::new(text.references.len(), fields);
    let scores = (0..text.hypotheses.len())
        .into_par_iter()
        .map(|i| {
            let hyp = &text.hypotheses[i];
            let refs = text.refs_of(i);
            let signature = signature.clone();
            if let Some(bleu) = &metrics.bleu {
                bleu.score(&bleu.segment_stats(hyp, &refs))
                    .into_score(signature)
            } else if let Some(chrf) = &metrics.chrf {
                chrf.score(&chrf.segment_stats(hyp, &refs), signature)
            } else {
                let ter = metrics.ter.as_ref().expect("one metric requested");
                let s = ter.segment_stats(hyp, &refs);
                ter.score(s.edits, s.ref_len, signature)
            }
        })
        .collect();
    Ok(scores)
}
