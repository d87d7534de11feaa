//! Model-level work for the Python package: inspect, merge, adapt,
//! tokenizer statistics and NLL scoring. Reports cross as JSON text, which
//! the Python half turns into dicts.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pyo3::prelude::*;
use retarget_adapt::AdaptOptions;
use retarget_infer::device::parse_device;
use retarget_infer::model::{open_model, AnyModel};
use retarget_infer::score::ScoreSummary;
use retarget_merge::{MergeConfig, MergeOptions};
use retarget_model::dtype::FloatType;
use retarget_model::writer::parse_size;
use retarget_vocab::{InitInputs, InitKind, Replacement, WechselInputs};
use serde_json::json;

use crate::errors::{bad_input, to_py};

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("reports serialise")
}

/// `retarget inspect PATH --json`.
#[pyfunction]
pub fn inspect(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    let report = py
        .detach(|| retarget_model::inspect::inspect(&path))
        .map_err(to_py)?;
    Ok(to_json(&report))
}

/// `retarget merge`: `config` is mergekit YAML (JSON is YAML too), read
/// from `source` (a file name for messages).
#[pyfunction]
#[pyo3(signature = (config, source, out, max_shard_size="5GB", seed=0, dtype=None))]
pub fn merge(
    py: Python<'_>,
    config: &str,
    source: PathBuf,
    out: PathBuf,
    max_shard_size: &str,
    seed: u64,
    dtype: Option<&str>,
) -> PyResult<String> {
    let config = MergeConfig::parse(&source, config).map_err(to_py)?;
    let out_dtype = dtype
        .map(|d| {
            d.parse::<FloatType>()
                .map_err(|e| bad_input(format!("dtype: {e}")))
        })
        .transpose()?;
    let options = MergeOptions {
        max_shard_bytes: parse_size(max_shard_size).map_err(to_py)?,
        seed,
        out_dtype,
    };
    let summary = py
        .detach(|| retarget_merge::merge(&config, &out, &options))
        .map_err(to_py)?;
    Ok(to_json(&json!({
        "output": summary.output,
        "tensors": summary.tensors,
        "files": summary.files,
        "bytes": summary.bytes,
        "vocabulary": summary.vocabulary,
    })))
}

fn init_kind(name: &str) -> PyResult<InitKind> {
    Ok(match name {
        "mean" => InitKind::Mean,
        "random" => InitKind::Random,
        "transtok" => InitKind::TransTok,
        "clp" => InitKind::Clp,
        "focus" => InitKind::Focus,
        "wechsel" => InitKind::Wechsel,
        "ofa" => InitKind::Ofa,
        other => {
            return Err(bad_input(format!(
                "init `{other}`: expected mean, random, transtok, clp, focus, wechsel or ofa"
            )))
        }
    })
}

/// `retarget adapt`; the report `--json` prints.
#[pyfunction]
#[pyo3(signature = (model, out, lang, corpus, held_out=None, parallel_ref=None, add=1000, init="mean", seed=0, parallel=None, trim=false, replace=false, tokenizer=None, vocab_size=None, helper=None, aux_vectors=None, source_vectors=None, target_vectors=None, dictionary=None, neighbors=10, temperature=0.1, max_shard_size="5GB"))]
#[allow(clippy::too_many_arguments)]
pub fn adapt(
    py: Python<'_>,
    model: PathBuf,
    out: PathBuf,
    lang: String,
    corpus: Vec<PathBuf>,
    held_out: Option<PathBuf>,
    parallel_ref: Option<PathBuf>,
    add: usize,
    init: &str,
    seed: u64,
    parallel: Option<(PathBuf, PathBuf)>,
    trim: bool,
    replace: bool,
    tokenizer: Option<PathBuf>,
    vocab_size: Option<usize>,
    helper: Option<PathBuf>,
    aux_vectors: Option<PathBuf>,
    source_vectors: Option<PathBuf>,
    target_vectors: Option<PathBuf>,
    dictionary: Option<PathBuf>,
    neighbors: usize,
    temperature: f64,
    max_shard_size: &str,
) -> PyResult<String> {
    if corpus.is_empty() {
        return Err(bad_input("adapt: corpus names no file"));
    }
    if parallel_ref.is_some() && held_out.is_none() {
        return Err(bad_input("adapt: parallel_ref needs held_out"));
    }
    let wechsel = match (source_vectors, target_vectors) {
        (Some(source_vectors), Some(target_vectors)) => Some(WechselInputs {
            source_vectors,
            target_vectors,
            dictionary,
            neighbors,
            temperature,
        }),
        (None, None) => None,
        _ => {
            return Err(bad_input(
                "adapt: source_vectors and target_vectors go together (the same file for one multilingual space)",
            ))
        }
    };
    let given = tokenizer.is_some()
        || vocab_size.is_some()
        || helper.is_some()
        || aux_vectors.is_some()
        || wechsel.is_some();
    if given && !replace {
        return Err(bad_input(
            "adapt: tokenizer, vocab_size, helper, aux_vectors and the WECHSEL vectors go with replace=True",
        ));
    }
    let options = AdaptOptions {
        lang,
        corpus,
        held_out,
        parallel_ref,
        add,
        init: init_kind(init)?,
        inputs: InitInputs {
            replacing: replace,
            seed,
            parallel,
            helper: helper.clone(),
            aux_vectors,
            wechsel,
        },
        trim,
        replace: replace.then_some(Replacement {
            tokenizer,
            vocab_size,
            helper,
        }),
        max_shard_bytes: parse_size(max_shard_size).map_err(to_py)?,
    };
    let report = py
        .detach(|| retarget_adapt::adapt(&model, &out, &options))
        .map_err(to_py)?;
    Ok(to_json(&report))
}

/// A text for tokenizer statistics: its lines, or a file of them.
#[derive(FromPyObject)]
pub enum Text {
    /// Lines in memory.
    Lines(Vec<String>),
    /// A text file, one segment per line.
    File(PathBuf),
}

/// `retarget eval tokenizer --json`: fertility, parity and the rest for
/// each tokenizer over each `(language, text)` and/or the UDHR.
#[pyfunction]
#[pyo3(signature = (tokenizers, texts, udhr=None, parallel_ref=None))]
pub fn tokenizer_stats(
    py: Python<'_>,
    tokenizers: Vec<PathBuf>,
    texts: Vec<(String, Text)>,
    udhr: Option<PathBuf>,
    parallel_ref: Option<String>,
) -> PyResult<String> {
    let texts: Vec<(String, Vec<String>)> = texts
        .into_iter()
        .map(|(lang, text)| match text {
            Text::Lines(lines) => Ok((lang, lines)),
            Text::File(path) => Ok((
                lang,
                retarget_model::text::read_lines(&path).map_err(to_py)?,
            )),
        })
        .collect::<PyResult<_>>()?;
    let rows = py
        .detach(|| {
            retarget_eval::fertility::fairness_of_lines(
                &tokenizers,
                &texts,
                udhr.as_deref(),
                parallel_ref.as_deref(),
            )
        })
        .map_err(to_py)?;
    Ok(to_json(&rows))
}

/// A model opened once for NLL scoring (`retarget score`).
#[pyclass(frozen, module = "retarget._native")]
pub struct Scorer {
    path: PathBuf,
    // candle's models hold caches: one scoring at a time.
    model: Mutex<AnyModel>,
}

#[pymethods]
impl Scorer {
    /// Opens an HF folder or GGUF file on `device` (`cpu`, `cuda`, `cuda:N`).
    #[new]
    #[pyo3(signature = (model, device="cpu"))]
    fn new(py: Python<'_>, model: PathBuf, device: &str) -> PyResult<Self> {
        let device = parse_device(device).map_err(to_py)?;
        let opened = py.detach(|| open_model(&model, &device)).map_err(to_py)?;
        Ok(Scorer {
            path: model,
            model: Mutex::new(opened),
        })
    }

    /// Per line `(tokens scored, NLL in nats)`, and the totals
    /// `retarget score --json` prints last, as JSON text.
    fn score(&self, py: Python<'_>, lines: Vec<String>) -> PyResult<(Vec<(usize, f64)>, String)> {
        let path: &Path = &self.path;
        let (scores, _) = py
            .detach(|| {
                let model = self.model.lock().unwrap_or_else(|e| e.into_inner());
                model.score_lines(path, &lines, None, false, &|| {})
            })
            .map_err(to_py)?;
        let summary = ScoreSummary::of(&lines, &scores);
        Ok((
            scores.iter().map(|s| (s.tokens, s.nll)).collect(),
            to_json(&summary),
        ))
    }
}
