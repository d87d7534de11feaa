//! Paired significance tests between a baseline and other systems, as
//! sacrebleu 2.6 runs them (`--paired-bs`, `--paired-ar`): the same
//! statistics, the same random stream for a given seed ([`NumpyRng`]), the
//! same p-value and 95 % confidence-interval estimates.

use rayon::prelude::*;
use serde::Serialize;

use crate::metric::Metric;
use crate::numpy_rng::NumpyRng;
use crate::score::Signature;
use crate::Metrics;

/// Which paired test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairedTest {
    /// Paired bootstrap resampling (Koehn 2004; sacrebleu default 1000 resamples).
    Bootstrap,
    /// Paired approximate randomization (Riezler & Maxwell 2005; default 10000 trials).
    ApproximateRandomization,
}

impl PairedTest {
    /// sacrebleu's default number of resamples / trials.
    pub fn default_samples(self) -> usize {
        match self {
            PairedTest::Bootstrap => 1000,
            PairedTest::ApproximateRandomization => 10000,
        }
    }

    /// The signature key (`bs` / `ar`).
    fn key(self) -> &'static str {
        match self {
            PairedTest::Bootstrap => "bs",
            PairedTest::ApproximateRandomization => "ar",
        }
    }
}

/// One system's result for one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairedResult {
    /// The actual corpus score.
    pub score: f64,
    /// p-value against the baseline (`None` for the baseline).
    pub p_value: Option<f64>,
    /// Bootstrap estimate of the true mean (bootstrap test only).
    pub mean: Option<f64>,
    /// Half-width of the 95 % confidence interval (bootstrap test only).
    pub ci: Option<f64>,
}

/// The results of a paired test: per metric, one result per system
/// (baseline first).
#[derive(Debug, Clone)]
pub struct PairedReport {
    /// Metric names (`BLEU`, `chrF2++`, `TER`).
    pub metrics: Vec<String>,
    /// Signatures, with the test's `bs:`/`ar:` and `seed:` fields.
    pub signatures: Vec<Signature>,
    /// `results[metric][system]`.
    pub results: Vec<Vec<PairedResult>>,
}

/// Per-segment rows of one system.
fn rows(metric: &Metric<'_>, hypotheses: &[String], references: &[Vec<String>]) -> Vec<Vec<f64>> {
    (0..hypotheses.len())
        .into_par_iter()
        .map(|i| {
            let refs: Vec<&str> = references.iter().map(|r| r[i].as_str()).collect();
            metric.row(&hypotheses[i], &refs)
        })
        .collect()
}

/// Column sums of `rows` in the given order (bootstrap: through `f32`, as
/// sacrebleu converts its statistics to `float32` first).
fn column_sums<'a>(rows: impl Iterator<Item = &'a [f64]>, width: usize, as_f32: bool) -> Vec<f64> {
    let mut sums = vec![0.0; width];
    for row in rows {
        for (s, &v) in sums.iter_mut().zip(row) {
            *s += if as_f32 { f64::from(v as f32) } else { v };
        }
    }
    sums
}

/// sacrebleu's `estimate_ci`: the mean and half the 95 % interval.
fn estimate_ci(scores: &[f64]) -> (f64, f64) {
    let mut sorted = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let lower = n / 40;
    let upper = n - lower - 1;
    let mean = sorted.iter().sum::<f64>() / n as f64;
    (mean, 0.5 * (sorted[upper] - sorted[lower]))
}

/// sacrebleu's `_compute_p_value`: (#{stat > observed} + 1) / (n + 1).
fn p_value(stats: &[f64], observed: f64) -> f64 {
    let count = stats.iter().filter(|&&s| s > observed).count();
    (count + 1) as f64 / (stats.len() + 1) as f64
}

/// Bootstrap scores of `rows` over the resamples `idxs` (`samples × n`).
fn bootstrap_scores(metric: &Metric<'_>, rows: &[Vec<f64>], idxs: &[u32], n: usize) -> Vec<f64> {
    let width = rows.first().map_or(0, Vec::len);
    idxs.par_chunks(n)
        .map(|sample| {
            metric.score_of_sums(&column_sums(
                sample.iter().map(|&i| rows[i as usize].as_slice()),
                width,
                true,
            ))
        })
        .collect()
}

/// Scores every system and, with `test = Some((kind, samples))`, runs the
/// paired test of each against `systems[0]`, the baseline.
pub fn paired_test(
    systems: &[Vec<String>],
    references: &[Vec<String>],
    metrics: &Metrics,
    test: Option<(PairedTest, usize)>,
    seed: u64,
) -> PairedReport {
    let n = systems[0].len();
    let stat_metrics = metrics.all();
    let mut report = PairedReport {
        metrics: Vec::new(),
        signatures: Vec::new(),
        results: Vec::new(),
    };
    // sacrebleu draws the resampling indices / swap masks once per system
    // from a fresh generator with the same seed: every system sees the same.
    let (idxs, swaps) = match test {
        Some((PairedTest::Bootstrap, samples)) => {
            (NumpyRng::new(seed).choice(n, samples * n), Vec::new())
        }
        Some((PairedTest::ApproximateRandomization, samples)) => {
            (Vec::new(), NumpyRng::new(seed).bools(samples * n))
        }
        None => (Vec::new(), Vec::new()),
    };
    for metric in &stat_metrics {
        let mut fields = Vec::new();
        if let Some((kind, samples)) = test {
            fields.push((kind.key(), samples.to_string()));
            fields.push(("seed", seed.to_string()));
        }
        fields.extend(metric.signature_fields());
        report.metrics.push(metric.name());
        report
            .signatures
            .push(Signature::new(references.len(), fields));

        let baseline_rows = rows(metric, &systems[0], references);
        let width = baseline_rows.first().map_or(0, Vec::len);
        let corpus = |rows: &[Vec<f64>]| {
            metric.score_of_sums(&column_sums(rows.iter().map(Vec::as_slice), width, false))
        };
        let baseline_score = corpus(&baseline_rows);
        let baseline_bootstrap = matches!(test, Some((PairedTest::Bootstrap, _)))
            .then(|| bootstrap_scores(metric, &baseline_rows, &idxs, n));
        let (mean, ci) = match &baseline_bootstrap {
            Some(scores) => {
                let (m, c) = estimate_ci(scores);
                (Some(m), Some(c))
            }
            None => (None, None),
        };
        let mut results = vec![PairedResult {
            score: baseline_score,
            p_value: None,
            mean,
            ci,
        }];
        for system in &systems[1..] {
            let system_rows = rows(metric, system, references);
            let score = corpus(&system_rows);
            let observed = (baseline_score - score).abs();
            results.push(match (&baseline_bootstrap, test) {
                (_, None) => PairedResult {
                    score,
                    p_value: None,
                    mean: None,
                    ci: None,
                },
                (Some(baseline_scores), _) => {
                    let system_scores = bootstrap_scores(metric, &system_rows, &idxs, n);
                    let (mean, ci) = estimate_ci(&system_scores);
                    let diffs: Vec<f64> = system_scores
                        .iter()
                        .zip(baseline_scores)
                        .map(|(s, b)| (s - b).abs())
                        .collect();
                    let mean_diff = diffs.iter().sum::<f64>() / diffs.len() as f64;
                    let centred: Vec<f64> = diffs.iter().map(|d| d - mean_diff).collect();
                    PairedResult {
                        score,
                        p_value: Some(p_value(&centred, observed)),
                        mean: Some(mean),
                        ci: Some(ci),
                    }
                }
                (None, Some(_)) => {
                    let diffs: Vec<f64> = swaps
                        .par_chunks(n)
                        .map(|swap| {
                            let pick = |take_baseline: bool| {
                                let chosen = swap.iter().enumerate().map(|(i, &s)| {
                                    if s == take_baseline {
                                        baseline_rows[i].as_slice()
                                    } else {
                                        system_rows[i].as_slice()
                                    }
                                });
                                metric.score_of_sums(&column_sums(chosen, width, false))
                            };
                            (pick(true) - pick(false)).abs()
                        })
                        .collect();
                    PairedResult {
                        score,
                        p_value: Some(p_value(&diffs, observed)),
                        mean: None,
                        ci: None,
                    }
                }
            });
        }
        report.results.push(results);
    }
    report
}
