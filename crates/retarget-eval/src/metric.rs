//! The metrics seen one way: BLEU, chrF and TER behind one [`Metric`], each
//! with per-segment statistics that add up to corpus statistics
//! ([`Stats`]), the score of statistics, and the statistics as a row of
//! numbers whose column sums give the corpus score (sacrebleu's "sufficient
//! statistics", which the paired tests resample). Corpus scores, sentence
//! scores and the paired tests all go through it.

use crate::bleu::{Bleu, BleuStats, MAX_NGRAM_ORDER};
use crate::chrf::{self, Chrf, ChrfStats};
use crate::score::{Score, Signature};
use crate::ter::{Ter, TerStats};
use crate::Metrics;

/// One configured metric.
#[derive(Debug, Clone, Copy)]
pub enum Metric<'a> {
    /// BLEU.
    Bleu(&'a Bleu),
    /// chrF / chrF++.
    Chrf(&'a Chrf),
    /// TER.
    Ter(&'a Ter),
}

/// Statistics of one segment, or the sum of several.
#[derive(Debug, Clone, PartialEq)]
pub enum Stats {
    /// BLEU's lengths and n-gram matches.
    Bleu(BleuStats),
    /// chrF's per-order character and word n-gram counts.
    Chrf(ChrfStats),
    /// TER's edits and reference length.
    Ter(TerStats),
}

impl Stats {
    /// Adds `other` (statistics of the same metric).
    pub fn add(&mut self, other: &Stats) {
        match (self, other) {
            (Stats::Bleu(total), Stats::Bleu(s)) => *total += *s,
            (Stats::Chrf(total), Stats::Chrf(s)) => chrf::add_stats(total, s),
            (Stats::Ter(total), Stats::Ter(s)) => {
                total.edits += s.edits;
                total.ref_len += s.ref_len;
            }
            _ => unreachable!("statistics of one metric are added"),
        }
    }
}

impl Metrics {
    /// The requested metrics, in sacrebleu's order (BLEU, chrF, TER).
    pub fn all(&self) -> Vec<Metric<'_>> {
        let mut out = Vec::new();
        out.extend(self.bleu.as_ref().map(Metric::Bleu));
        out.extend(self.chrf.as_ref().map(Metric::Chrf));
        out.extend(self.ter.as_ref().map(Metric::Ter));
        out
    }
}

impl Metric<'_> {
    /// The name sacrebleu prints (`BLEU`, `chrF2++`, `TER`).
    pub fn name(&self) -> String {
        match self {
            Metric::Bleu(_) => "BLEU".into(),
            Metric::Chrf(m) => m.name(),
            Metric::Ter(_) => "TER".into(),
        }
    }

    /// The settings' part of the signature.
    pub fn signature_fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Metric::Bleu(m) => m.signature_fields(),
            Metric::Chrf(m) => m.signature_fields(),
            Metric::Ter(m) => m.signature_fields(),
        }
    }

    /// Statistics of one hypothesis against its references.
    pub fn stats(&self, hypothesis: &str, references: &[&str]) -> Stats {
        match self {
            Metric::Bleu(m) => Stats::Bleu(m.segment_stats(hypothesis, references)),
            Metric::Chrf(m) => Stats::Chrf(m.segment_stats(hypothesis, references)),
            Metric::Ter(m) => Stats::Ter(m.segment_stats(hypothesis, references)),
        }
    }

    /// The statistics of nothing, to add segments to.
    pub fn zero(&self) -> Stats {
        match self {
            Metric::Bleu(_) => Stats::Bleu(BleuStats::default()),
            Metric::Chrf(_) => Stats::Chrf(ChrfStats::new()),
            Metric::Ter(_) => Stats::Ter(TerStats::default()),
        }
    }

    /// The score of `stats`, printed with `signature`.
    pub fn score(&self, stats: &Stats, signature: Signature) -> Score {
        match (self, stats) {
            (Metric::Bleu(m), Stats::Bleu(s)) => m.score(s).into_score(signature),
            (Metric::Chrf(m), Stats::Chrf(s)) => m.score(s, signature),
            (Metric::Ter(m), Stats::Ter(s)) => m.score(s.edits, s.ref_len, signature),
            _ => unreachable!("statistics of this metric are scored"),
        }
    }

    /// One segment's statistics as a row of numbers.
    /// Appends the score of `stats` as [`Score::write_text`] writes it,
    /// without building the [`Score`] for BLEU and chrF (sentence-level
    /// scoring writes one line per segment; a name and a verbose string
    /// were allocations a line).
    pub fn write_score(
        &self,
        stats: &Stats,
        signature: &Signature,
        width: usize,
        score_only: bool,
        out: &mut String,
    ) {
        let head = |out: &mut String| {
            out.push('|');
            out.push_str(signature.as_str());
            out.push_str(" = ");
        };
        match (self, stats) {
            (Metric::Bleu(m), Stats::Bleu(s)) => {
                let score = m.score(s);
                if !score_only {
                    out.push_str("BLEU");
                    head(out);
                }
                crate::fixed::push_fixed(out, score.score, width);
                if !score_only {
                    out.push(' ');
                    score.write_verbose(out);
                }
            }
            (Metric::Chrf(m), Stats::Chrf(s)) => {
                if !score_only {
                    m.write_name(out);
                    head(out);
                }
                crate::fixed::push_fixed(out, m.f_score(s), width);
            }
            _ => self
                .score(stats, signature.clone())
                .write_text(width, score_only, out),
        }
    }

    pub fn row(&self, hypothesis: &str, references: &[&str]) -> Vec<f64> {
        match self.stats(hypothesis, references) {
            Stats::Bleu(s) => s.row(MAX_NGRAM_ORDER),
            Stats::Chrf(s) => s.iter().flatten().map(|&v| v as f64).collect(),
            Stats::Ter(s) => vec![s.edits, s.ref_len],
        }
    }

    /// The score of column sums of [`Metric::row`]s (integral for BLEU and
    /// chrF). Called once per resample: no score text is formatted.
    pub fn score_of_sums(&self, sums: &[f64]) -> f64 {
        let int = |v: f64| v.round() as u64;
        match self {
            Metric::Bleu(m) => m.score(&BleuStats::from_row(sums, MAX_NGRAM_ORDER)).score,
            Metric::Chrf(m) => {
                let stats: ChrfStats = sums
                    .chunks_exact(3)
                    .map(|c| [int(c[0]), int(c[1]), int(c[2])])
                    .collect();
                m.f_score(&stats)
            }
            Metric::Ter(m) => {
                m.score(sums[0], sums[1], Signature::new(0, Vec::new()))
                    .score
            }
        }
    }
}
