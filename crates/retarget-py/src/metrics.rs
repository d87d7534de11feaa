//! BLEU, chrF and TER for `retarget.sacrebleu`: per-segment statistics,
//! scores of summed statistics, sentence scores of whole lists and pairwise
//! matrices (on all cores, the GIL released), sacrebleu's tokenizers, and
//! the paired significance tests.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyString;
use pyo3::IntoPyObjectExt;
use rayon::prelude::*;
use retarget_eval::bleu::{Bleu, BleuStats, Smoothing, MAX_NGRAM_ORDER};
use retarget_eval::chrf::Chrf;
use retarget_eval::metric::Stats;
use retarget_eval::sacre_tokenizers::{BleuTokenizer, TercomTokenizer};
use retarget_eval::significance::{self, PairedTest};
use retarget_eval::ter::Ter;
use retarget_eval::Metrics;

use crate::errors::{bad_input, to_py};
use crate::texts::{score_pairs, Strings, Texts};

/// One configured metric (BLEU, chrF/chrF++ or TER).
#[pyclass(frozen, module = "retarget._native")]
pub struct Metric {
    /// Exactly one metric set.
    metrics: Metrics,
    /// BLEU's highest n-gram order (1–4).
    order: usize,
}

impl Metric {
    fn metric(&self) -> retarget_eval::metric::Metric<'_> {
        use retarget_eval::metric::Metric as M;
        let m = &self.metrics;
        // Without `Metrics::all`'s vector: sentence scores ask once a segment.
        m.bleu
            .as_ref()
            .map(M::Bleu)
            .or_else(|| m.chrf.as_ref().map(M::Chrf))
            .or_else(|| m.ter.as_ref().map(M::Ter))
            .expect("a Metric holds one metric")
    }

    fn of(metrics: Metrics) -> Self {
        Metric {
            metrics,
            order: MAX_NGRAM_ORDER,
        }
    }

    /// Statistics of one segment as sacrebleu lays them out.
    fn row(&self, hypothesis: &str, references: &[&str]) -> Vec<f64> {
        match self.metric().stats(hypothesis, references) {
            Stats::Bleu(s) => s.row(self.order),
            Stats::Chrf(s) => s.iter().flatten().map(|&v| v as f64).collect(),
            Stats::Ter(s) => vec![s.edits, s.ref_len],
        }
    }

    /// The score of summed statistics and BLEU's details.
    fn score_of(&self, sums: &[f64]) -> Result<(f64, Vec<f64>, f64), String> {
        match self.metric() {
            retarget_eval::metric::Metric::Bleu(bleu) => {
                let n = self.order;
                if sums.len() != 2 + 2 * n {
                    return Err(format!(
                        "BLEU statistics have {} numbers, expected {}",
                        sums.len(),
                        2 + 2 * n
                    ));
                }
                let score = bleu.score_upto(&BleuStats::from_row(sums, n), n);
                Ok((score.score, score.precisions[..n].to_vec(), score.bp))
            }
            retarget_eval::metric::Metric::Chrf(chrf) => {
                let width = 3 * (chrf.char_order + chrf.word_order);
                if sums.len() != width {
                    return Err(format!(
                        "chrF statistics have {} numbers, expected {width}",
                        sums.len()
                    ));
                }
                Ok((self.metric().score_of_sums(sums), Vec::new(), 0.0))
            }
            retarget_eval::metric::Metric::Ter(_) => {
                if sums.len() != 2 {
                    return Err(format!(
                        "TER statistics have {} numbers, expected 2",
                        sums.len()
                    ));
                }
                Ok((self.metric().score_of_sums(sums), Vec::new(), 0.0))
            }
        }
    }

    /// The score of one segment, from its statistics directly (what
    /// [`Metric::score_of`] gives for its [`Metric::row`], without the row).
    fn sentence_score(&self, hypothesis: &str, references: &[&str]) -> f64 {
        use retarget_eval::metric::Metric as M;
        let metric = self.metric();
        match (metric, metric.stats(hypothesis, references)) {
            (M::Bleu(bleu), Stats::Bleu(s)) => bleu.score_upto(&s, self.order).score,
            (M::Chrf(chrf), Stats::Chrf(s)) => chrf.f_score(&s),
            (M::Ter(_), Stats::Ter(s)) => metric.score_of_sums(&[s.edits, s.ref_len]),
            _ => unreachable!("statistics of this metric"),
        }
    }
}

fn same_length(what: &str, a: usize, b: usize) -> PyResult<()> {
    if a == b {
        Ok(())
    } else {
        Err(bad_input(format!(
            "{what}: {a} hypotheses but {b} sets of references"
        )))
    }
}

#[pymethods]
impl Metric {
    /// BLEU with sacrebleu's settings; `spm_model` is the SentencePiece
    /// model file of the `flores101`/`flores200`/`spBLEU-1K` tokenizers.
    #[staticmethod]
    #[pyo3(signature = (lowercase=false, tokenize="13a", smooth_method="exp", smooth_value=None, effective_order=false, max_ngram_order=4, spm_model=None))]
    fn bleu(
        lowercase: bool,
        tokenize: &str,
        smooth_method: &str,
        smooth_value: Option<f64>,
        effective_order: bool,
        max_ngram_order: usize,
        spm_model: Option<PathBuf>,
    ) -> PyResult<Self> {
        if !(1..=MAX_NGRAM_ORDER).contains(&max_ngram_order) {
            return Err(bad_input(format!(
                "max_ngram_order {max_ngram_order}: retarget counts n-grams of orders 1 to {MAX_NGRAM_ORDER}"
            )));
        }
        let tokenizer = match spm_model {
            Some(model) => BleuTokenizer::sentencepiece(tokenize, &model).map_err(to_py)?,
            None => BleuTokenizer::parse(tokenize).map_err(bad_input)?,
        };
        let smoothing = Smoothing::parse(smooth_method, smooth_value).map_err(bad_input)?;
        Ok(Metric {
            metrics: Metrics {
                bleu: Some(Bleu {
                    lowercase,
                    tokenizer,
                    smoothing,
                    effective_order,
                }),
                ..Metrics::default()
            },
            order: max_ngram_order,
        })
    }

    /// chrF (`word_order=0`) or chrF++ (`word_order=2`).
    #[staticmethod]
    #[pyo3(signature = (char_order=6, word_order=0, beta=2, lowercase=false, whitespace=false, eps_smoothing=false))]
    fn chrf(
        char_order: usize,
        word_order: usize,
        beta: u32,
        lowercase: bool,
        whitespace: bool,
        eps_smoothing: bool,
    ) -> PyResult<Self> {
        if char_order == 0 && word_order == 0 {
            return Err(bad_input("chrF needs char_order or word_order above 0"));
        }
        Ok(Metric::of(Metrics {
            chrf: Some(Chrf {
                char_order,
                word_order,
                beta,
                lowercase,
                whitespace,
                eps_smoothing,
            }),
            ..Metrics::default()
        }))
    }

    /// TER with the tercom tokenizer's settings.
    #[staticmethod]
    #[pyo3(signature = (normalized=false, no_punct=false, asian_support=false, case_sensitive=false))]
    fn ter(normalized: bool, no_punct: bool, asian_support: bool, case_sensitive: bool) -> Self {
        Metric::of(Metrics {
            ter: Some(Ter {
                tokenizer: TercomTokenizer {
                    normalized,
                    no_punct,
                    asian_support,
                    case_sensitive,
                },
            }),
            ..Metrics::default()
        })
    }

    /// `BLEU`, `chrF2`, `chrF2++`, `TER`.
    #[getter]
    fn name(&self) -> String {
        self.metric().name()
    }

    /// The settings' signature fields (`tok`, `smooth`, …) in sacrebleu's order.
    fn signature_fields(&self) -> Vec<(String, String)> {
        self.metric()
            .signature_fields()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }

    /// Per-segment statistics (sacrebleu's layout; ints for BLEU and chrF,
    /// floats for TER); `references[i]` holds segment i's references.
    fn stats(
        &self,
        py: Python<'_>,
        hypotheses: Texts<'_>,
        references: Vec<Texts<'_>>,
    ) -> PyResult<Py<PyAny>> {
        same_length("stats", hypotheses.len(), references.len())?;
        let references: Vec<&[&str]> = references.iter().map(Texts::as_slice).collect();
        let hypotheses = hypotheses.as_slice();
        let rows: Vec<Vec<f64>> = py.detach(|| {
            hypotheses
                .par_iter()
                .zip(&references)
                .map(|(h, r)| self.row(h, r))
                .collect()
        });
        if self.metrics.ter.is_some() {
            return rows.into_py_any(py);
        }
        let ints: Vec<Vec<u64>> = rows
            .into_iter()
            .map(|r| r.into_iter().map(|v| v as u64).collect())
            .collect();
        ints.into_py_any(py)
    }

    /// `(score, precisions, bp)` of summed statistics (precisions and bp
    /// for BLEU only).
    fn score(&self, sums: Vec<f64>) -> PyResult<(f64, Vec<f64>, f64)> {
        self.score_of(&sums).map_err(bad_input)
    }

    /// The score of each hypothesis against its own reference (a list of
    /// strings) or references (a list of lists), on all cores.
    fn sentence_scores(
        &self,
        py: Python<'_>,
        hypotheses: &Bound<'_, PyAny>,
        references: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<f64>> {
        let hyps = Strings::new(hypotheses.as_borrowed(), "hypotheses")?;
        let one = match references.len() {
            Ok(0) => true,
            _ => references
                .get_item(0)
                .is_ok_and(|r| r.is_instance_of::<PyString>()),
        };
        if one {
            let refs = Strings::new(references.as_borrowed(), "references")?;
            same_length("sentence_scores", hyps.len(), refs.len())?;
            return score_pairs(py, &hyps, &refs, |h, r| {
                self.sentence_score(h, std::slice::from_ref(&r))
            });
        }
        let hypotheses = Texts::read(hypotheses.as_borrowed(), "hypotheses")?;
        let refs = (0..references.len()?)
            .map(|i| {
                Texts::read(
                    references.get_item(i)?.as_borrowed(),
                    &format!("references[{i}]"),
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        same_length("sentence_scores", hypotheses.len(), refs.len())?;
        let hypotheses = hypotheses.as_slice();
        let refs: Vec<&[&str]> = refs.iter().map(Texts::as_slice).collect();
        Ok(py.detach(|| {
            hypotheses
                .par_iter()
                .zip(&refs)
                .map(|(h, r)| self.sentence_score(h, r))
                .collect()
        }))
    }

    /// `matrix[i][j]`: hypothesis i scored against hypothesis j as its one
    /// reference (MBR's utility matrix), on all cores.
    fn pairwise(&self, py: Python<'_>, hypotheses: Texts<'_>) -> Vec<Vec<f64>> {
        let hypotheses = hypotheses.as_slice();
        py.detach(|| {
            hypotheses
                .par_iter()
                .map(|h| {
                    hypotheses
                        .iter()
                        .map(|r| self.sentence_score(h, std::slice::from_ref(r)))
                        .collect()
                })
                .collect()
        })
    }
}

/// A sacrebleu tokenizer (`13a`, `intl`, `zh`, `char`, `none`, the
/// SentencePiece ones with their model file, or TER's `tercom`).
#[pyclass(frozen, module = "retarget._native")]
pub struct Tokenizer {
    kind: TokenizerKind,
}

enum TokenizerKind {
    Bleu(BleuTokenizer),
    Ter(TercomTokenizer),
}

#[pymethods]
impl Tokenizer {
    /// A BLEU tokenizer by sacrebleu's name.
    #[staticmethod]
    #[pyo3(signature = (name, spm_model=None))]
    fn bleu(name: &str, spm_model: Option<PathBuf>) -> PyResult<Self> {
        let tokenizer = match spm_model {
            Some(model) => BleuTokenizer::sentencepiece(name, &model).map_err(to_py)?,
            None => BleuTokenizer::parse(name).map_err(bad_input)?,
        };
        Ok(Tokenizer {
            kind: TokenizerKind::Bleu(tokenizer),
        })
    }

    /// TER's tokenizer.
    #[staticmethod]
    #[pyo3(signature = (normalized=false, no_punct=false, asian_support=false, case_sensitive=false))]
    fn ter(normalized: bool, no_punct: bool, asian_support: bool, case_sensitive: bool) -> Self {
        Tokenizer {
            kind: TokenizerKind::Ter(TercomTokenizer {
                normalized,
                no_punct,
                asian_support,
                case_sensitive,
            }),
        }
    }

    /// The name in signatures.
    fn signature(&self) -> String {
        match &self.kind {
            TokenizerKind::Bleu(t) => t.signature().to_string(),
            TokenizerKind::Ter(_) => "tercom".to_string(),
        }
    }

    /// Tokenizes one line.
    fn __call__(&self, line: &str) -> String {
        match &self.kind {
            TokenizerKind::Bleu(t) => t.tokenize(line),
            TokenizerKind::Ter(t) => t.tokenize(line),
        }
    }
}

/// `(score, p_value, mean, ci)` of one system.
type PairedRow = (f64, Option<f64>, Option<f64>, Option<f64>);

/// Paired significance test of `systems[1..]` against `systems[0]`, or
/// (one system) its bootstrap confidence interval: `(score, p_value, mean,
/// ci)` per system. `references` are streams (one list per reference set);
/// `test` is `bs` or `ar`.
#[pyfunction]
pub fn paired_test(
    py: Python<'_>,
    metric: &Metric,
    systems: Vec<Vec<String>>,
    references: Vec<Vec<String>>,
    test: &str,
    samples: usize,
    seed: u64,
) -> PyResult<Vec<PairedRow>> {
    let kind = match test {
        "bs" => PairedTest::Bootstrap,
        "ar" => PairedTest::ApproximateRandomization,
        other => {
            return Err(bad_input(format!(
                "unknown test `{other}`: expected bs or ar"
            )))
        }
    };
    if metric.order != MAX_NGRAM_ORDER {
        return Err(bad_input(
            "paired tests run BLEU with max_ngram_order=4 only",
        ));
    }
    let Some(first) = systems.first() else {
        return Err(bad_input("paired test: no systems"));
    };
    if references.is_empty() {
        return Err(bad_input("paired test: no references"));
    }
    let n = first.len();
    if n == 0 {
        return Err(bad_input("paired test: empty systems"));
    }
    for (i, system) in systems.iter().enumerate() {
        if system.len() != n {
            return Err(bad_input(format!(
                "paired test: system {i} has {} lines, the baseline {n}",
                system.len()
            )));
        }
    }
    for (i, reference) in references.iter().enumerate() {
        if reference.len() != n {
            return Err(bad_input(format!(
                "paired test: reference stream {i} has {} lines, the systems {n}",
                reference.len()
            )));
        }
    }
    if samples == 0 {
        return Err(bad_input("paired test: samples must be at least 1"));
    }
    let report = py.detach(|| {
        significance::paired_test(
            &systems,
            &references,
            &metric.metrics,
            Some((kind, samples)),
            seed,
        )
    });
    Ok(report.results[0]
        .iter()
        .map(|r| (r.score, r.p_value, r.mean, r.ci))
        .collect())
}
