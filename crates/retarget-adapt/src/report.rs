//! `adapt`'s report and the held-out measurements behind it: per held-out
//! line, the tokens of each tokenizer and the negative log-likelihood under
//! each model, from which every measure is a ratio of sums and every
//! before/after difference carries a paired-bootstrap 95 % interval
//! ([`retarget_eval::bootstrap`]).

use std::path::PathBuf;

use retarget_eval::bootstrap::{paired_delta, Delta, Ratio, RESAMPLES, SEED};
use retarget_eval::fertility::{Fairness, TextCounts, Unit};

/// One side of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelSide {
    /// Tokens in the vocabulary.
    pub tokens: usize,
    /// Bytes of the weight files.
    pub weight_bytes: u64,
    /// Tokenizer fairness on the held-out text.
    pub held_out: Fairness,
    /// Bits per byte of the held-out text under the model (`None` when the
    /// architecture has no inference support). After adaptation: the adapted
    /// model *before* any trimming, so that it compares with the input's.
    pub bits_per_byte: Option<f64>,
}

/// Held-out bits per byte of one initialisation of the new rows (before any
/// trimming).
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitScore {
    /// `mean` (FVT), `random`, `transtok`, `clp`, `focus`, `wechsel` or `ofa`.
    pub init: String,
    /// Bits per byte of the held-out text.
    pub bits_per_byte: Option<f64>,
    /// Its difference from the input model's, with a 95 % interval.
    pub delta: Option<Delta>,
}

/// What trimming did to held-out bits per byte, on its own.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrimmingEffect {
    /// Tokens kept.
    pub tokens: usize,
    /// Bits per byte of the held-out text under the trimmed model.
    pub bits_per_byte: Option<f64>,
    /// Trimmed minus untrimmed, with a 95 % interval.
    pub delta: Option<Delta>,
    /// Why this number is not comparable with the others.
    pub note: String,
}

/// The before/after differences, each with a 95 % interval.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Deltas {
    /// Fertility (tokens per unit).
    pub fertility: Delta,
    /// Parity against the reference text.
    pub parity: Option<Delta>,
    /// Bits per byte (the untrimmed adapted model against the input).
    pub bits_per_byte: Option<Delta>,
}

/// How the intervals were computed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Uncertainty {
    /// The method, in words.
    pub method: &'static str,
    /// Held-out lines resampled.
    pub lines: usize,
    /// Resamples.
    pub resamples: usize,
    /// numpy `default_rng` seed of the resampling.
    pub seed: u64,
    /// Coverage of every interval.
    pub confidence: f64,
}

impl Uncertainty {
    pub(crate) fn of(lines: usize) -> Self {
        Uncertainty {
            method: "paired bootstrap over held-out lines (numpy default_rng choice, percentile interval)",
            lines,
            resamples: RESAMPLES,
            seed: SEED,
            confidence: 0.95,
        }
    }
}

/// What `adapt` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdaptReport {
    /// The output folder.
    pub output: PathBuf,
    /// Target language (ISO 639-3) and its name.
    pub lang: String,
    /// Its English name.
    pub language: String,
    /// Lines used to learn tokens, and lines held out.
    pub lines: (usize, usize),
    /// Tokens added (0 when the vocabulary was replaced).
    pub added: usize,
    /// Whether the vocabulary was replaced rather than expanded.
    pub replaced: bool,
    /// The chosen initialisation.
    pub init: String,
    /// Whether the vocabulary was trimmed afterwards.
    pub trimmed: bool,
    /// The input model.
    pub before: ModelSide,
    /// The adapted model (bits per byte before trimming).
    pub after: ModelSide,
    /// After minus before, with 95 % intervals.
    pub deltas: Deltas,
    /// Trimming's own effect on bits per byte, when trimmed.
    pub trimming: Option<TrimmingEffect>,
    /// Held-out bits per byte after expansion, the chosen initialisation
    /// first, then every other one for comparison.
    pub initialisations: Vec<InitScore>,
    /// How the intervals were computed.
    pub uncertainty: Uncertainty,
    /// Why bits per byte were not measured, if they were not.
    pub scoring: Option<String>,
    /// Differences the held-out text is too small to tell from none.
    pub warnings: Vec<String>,
    /// Where the run's wall time went, stage by stage, in order.
    pub timings: Vec<StageTime>,
}

/// The wall time of one stage of the pipeline.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageTime {
    /// What the stage did (`convert`, `score base`, `expand (mean)`, …).
    pub stage: String,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Times the stages of a run, one after another.
pub(crate) struct Stopwatch {
    last: std::time::Instant,
    stages: Vec<StageTime>,
}

impl Stopwatch {
    pub(crate) fn start() -> Self {
        Stopwatch {
            last: std::time::Instant::now(),
            stages: Vec::new(),
        }
    }

    /// Ends the stage `stage` now (it began where the last one ended).
    pub(crate) fn lap(&mut self, stage: impl Into<String>) {
        let now = std::time::Instant::now();
        self.stages.push(StageTime {
            stage: stage.into(),
            seconds: (now - self.last).as_secs_f64(),
        });
        self.last = now;
    }

    pub(crate) fn stages(self) -> Vec<StageTime> {
        self.stages
    }
}

/// The held-out text, line by line, and what every measure divides by.
pub(crate) struct HeldOut {
    /// Fertility's units (words, or letters for text without spaces) per line.
    units: Vec<f64>,
    /// UTF-8 bytes per line.
    bytes: Vec<f64>,
    /// Tokens of the reference text per line, under the input's tokenizer.
    reference: Option<Vec<f64>>,
}

impl HeldOut {
    /// `lines` held out, counted as `base` (the input's tokenizer) counts
    /// them; `reference`: the reference text's tokens per line.
    pub(crate) fn new(
        lines: &[String],
        base: &[TextCounts],
        reference: Option<&[TextCounts]>,
    ) -> Self {
        let unit = Unit::of(&total(base));
        HeldOut {
            units: base.iter().map(|c| unit.count(c) as f64).collect(),
            bytes: lines.iter().map(|l| l.len() as f64).collect(),
            reference: reference.map(|r| r.iter().map(|c| c.tokens as f64).collect()),
        }
    }

    /// Fertility and parity: `after` against `before` (token counts per line).
    pub(crate) fn token_deltas(
        &self,
        after: &[TextCounts],
        before: &[TextCounts],
    ) -> (Delta, Option<Delta>) {
        let (a, b) = (tokens(after), tokens(before));
        let fertility = paired_delta(ratio(&a, &self.units), ratio(&b, &self.units));
        let parity = self
            .reference
            .as_ref()
            .map(|r| paired_delta(ratio(&a, r), ratio(&b, r)));
        (fertility, parity)
    }

    /// Bits per byte: `after` against `before` (negative log-likelihoods
    /// per line, in nats).
    pub(crate) fn bits_delta(&self, after: &[f64], before: &[f64]) -> Delta {
        let (a, b) = (bits(after), bits(before));
        paired_delta(ratio(&a, &self.bytes), ratio(&b, &self.bytes))
    }
}

/// The sum of per-line counts.
pub(crate) fn total(counts: &[TextCounts]) -> TextCounts {
    counts.iter().fold(TextCounts::default(), |a, &c| a + c)
}

fn tokens(counts: &[TextCounts]) -> Vec<f64> {
    counts.iter().map(|c| c.tokens as f64).collect()
}

fn bits(nats: &[f64]) -> Vec<f64> {
    nats.iter().map(|n| n / std::f64::consts::LN_2).collect()
}

fn ratio<'a>(numerators: &'a [f64], denominators: &'a [f64]) -> Ratio<'a> {
    Ratio {
        numerators,
        denominators,
    }
}

/// A warning when `delta`'s interval includes zero (and is not just zero:
/// no line changed at all).
pub(crate) fn warn_if_unclear(name: &str, delta: &Delta, lines: usize) -> Option<String> {
    let unchanged = delta.low == 0.0 && delta.high == 0.0;
    (!delta.excludes_zero && !unchanged).then(|| {
        format!(
            "{name}: {:+.4}, 95% interval [{:+.4}, {:+.4}] includes zero; {lines} held-out lines cannot tell it from no change (hold out more text)",
            delta.value, delta.low, delta.high
        )
    })
}
