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
use metric::{Metric, Stats};
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
/// metric's segment statistics computed on all cores and added up.
pub fn corpus_scores<'t>(text: &'t ParallelText, metrics: &Metrics) -> Vec<Score> {
    let nrefs = text.references.len();
    let segments = 0..text.hypotheses.len();
    metrics
        .all()
        .iter()
        .map(|metric| {
            // Each task reuses one list of its segment's references.
            let stats_of = |refs: &mut Vec<&'t str>, i: usize| {
                text.refs_into(i, refs);
                metric.stats(&text.hypotheses[i], refs)
            };
            let total = if let Metric::Ter(_) = metric {
                // TER's sums are of floats (average reference lengths):
                // added in segment order, as sacrebleu adds them.
                let stats: Vec<Stats> = segments
                    .clone()
                    .into_par_iter()
                    .map_init(Vec::new, stats_of)
                    .collect();
                let mut total = metric.zero();
                for s in &stats {
                    total.add(s);
                }
                total
            } else {
                // BLEU's and chrF's are integer counts, the same in any
                // order of addition: each thread adds up its own share
                // (no statistics kept per segment).
                segments
                    .clone()
                    .into_par_iter()
                    .fold(
                        || (Vec::new(), metric.zero()),
                        |(mut refs, mut total), i| {
                            total.add(&stats_of(&mut refs, i));
                            (refs, total)
                        },
                    )
                    .map(|(_, total)| total)
                    .reduce(
                        || metric.zero(),
                        |mut a, b| {
                            a.add(&b);
                            a
                        },
                    )
            };
            metric.score(&total, Signature::new(nrefs, metric.signature_fields()))
        })
        .collect()
}

/// Segments per parallel task of [`sentence_lines`].
const LINES_PER_TASK: usize = 1024;

/// Sentence-level scores of the one requested metric, as the text sacrebleu
/// prints: one line per segment (`score_only`: the bare score), each score
/// with `width` decimals, in consecutive parts (their concatenation is the
/// text). Scored and formatted on all cores, each task writing its
/// segments' lines into one part, with a signature of its own (clones of
/// one shared signature would contend for its reference count).
pub fn sentence_lines(
    text: &ParallelText,
    metrics: &Metrics,
    width: usize,
    score_only: bool,
) -> Result<Vec<String>> {
    let [metric] = metrics.all()[..] else {
        return Err(EvalError::Usage(
            "sentence-level mode takes exactly one metric".into(),
        ));
    };
    let nrefs = text.references.len();
    let starts: Vec<usize> = (0..text.hypotheses.len()).step_by(LINES_PER_TASK).collect();
    let parts: Vec<String> = starts
        .par_iter()
        .map(|&start| {
            let signature = Signature::new(nrefs, metric.signature_fields());
            let end = (start + LINES_PER_TASK).min(text.hypotheses.len());
            let mut out = String::new();
            let mut refs = Vec::with_capacity(nrefs);
            for i in start..end {
                text.refs_into(i, &mut refs);
                let stats = metric.stats(&text.hypotheses[i], &refs);
                metric.write_score(&stats, &signature, width, score_only, &mut out);
                out.push('\n');
                if i == start {
                    // Room for the task's lines at about the first one's
                    // length, instead of growing (and copying) as it goes.
                    out.reserve(out.len() * (end - start));
                }
            }
            out
        })
        .collect();
    Ok(parts)
}
