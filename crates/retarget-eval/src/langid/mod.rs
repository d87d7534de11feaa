//! Language identification per line and the off-target rate of a system's
//! output: `lingua` (models embedded in the binary) or a fastText model file
//! read by [`fasttext::FastTextModel`].

pub use retarget_fasttext as fasttext;
#[cfg(feature = "lingua")]
mod lingua_backend;
#[cfg(feature = "lingua")]
mod lingua_port;

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{EvalError, Result};
use crate::language::Language;

/// A language identifier chosen on the command line.
pub enum Backend {
    /// The `lingua` crate with all its languages.
    #[cfg(feature = "lingua")]
    Lingua(Box<lingua_backend::Lingua>),
    /// A fastText classifier (`lid.176.ftz`, GlotLID `model.bin`).
    FastText(Box<fasttext::FastTextModel>),
}

/// What a backend says about one line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identification {
    /// The backend's own label (`sw`, `swh_Latn`, `Swahili`).
    pub label: String,
    /// The label normalised to ISO 639-3 (+ script), when it is a known code.
    pub language: Option<Language>,
    /// The backend's confidence in `[0, 1]` (fastText: its probability).
    pub confidence: f64,
}

/// Lines per batch of the lingua backend.
#[cfg(feature = "lingua")]
const LINGUA_BATCH: usize = 64;

impl Backend {
    /// `lingua` (high accuracy), `lingua:low` (lingua's low-accuracy mode:
    /// trigrams only, less accurate on short text, and on the UDHR no
    /// faster: BENCHMARKS.md) or
    /// `fasttext:PATH`; `languages`, when not empty, restricts lingua to
    /// those languages (a fastText model's labels are fixed).
    pub fn from_spec(spec: &str, languages: &[Language]) -> Result<Backend> {
        if let Some(path) = spec.strip_prefix("fasttext:") {
            if !languages.is_empty() {
                return Err(EvalError::Usage(
                    "--langs restricts the lingua backend; a fastText model's languages are fixed"
                        .into(),
                ));
            }
            let model = fasttext::FastTextModel::open(Path::new(path))?;
            return Ok(Backend::FastText(Box::new(model)));
        }
        let low_accuracy = match spec {
            "lingua" => false,
            "lingua:low" => true,
            other => {
                return Err(EvalError::Usage(format!(
                    "unknown language-identification backend '{other}' (expected lingua, lingua:low or fasttext:MODEL_PATH)"
                )))
            }
        };
        #[cfg(feature = "lingua")]
        {
            Ok(Backend::Lingua(Box::new(lingua_backend::Lingua::new(
                languages,
                low_accuracy,
            )?)))
        }
        #[cfg(not(feature = "lingua"))]
        {
            let _ = low_accuracy;
            Err(EvalError::Usage(
                "this retarget was built without the `lingua` feature; use --backend fasttext:MODEL_PATH".into(),
            ))
        }
    }

    /// A short description for reports (`fasttext:lid.176.ftz`).
    pub fn describe(&self) -> String {
        match self {
            #[cfg(feature = "lingua")]
            Backend::Lingua(lingua) => lingua.describe(),
            Backend::FastText(model) => format!("fasttext:{}", model.path().display()),
        }
    }

    /// The most likely language of `text`, or `None` when the backend cannot
    /// tell (lingua: too little evidence).
    pub fn identify(&self, text: &str) -> Option<Identification> {
        match self {
            #[cfg(feature = "lingua")]
            Backend::Lingua(lingua) => lingua.identify(text),
            Backend::FastText(model) => {
                model
                    .predict(text, 1, 0.0)
                    .into_iter()
                    .next()
                    .map(|best| Identification {
                        language: Language::lookup(&best.label),
                        label: best.label,
                        confidence: f64::from(best.probability),
                    })
            }
        }
    }

    /// Identifies every line on all cores; blank lines get `None`.
    pub fn identify_lines(&self, lines: &[String]) -> Vec<Option<Identification>> {
        #[cfg(feature = "lingua")]
        if let Backend::Lingua(lingua) = self {
            // lingua's lines go in batches: their n-grams are looked up
            // together, and neighbouring lines share most of them.
            return lines
                .par_chunks(LINGUA_BATCH)
                .flat_map_iter(|batch| {
                    let texts: Vec<&str> = batch.iter().map(String::as_str).collect();
                    let mut ids = lingua.identify_all(&texts);
                    for (id, line) in ids.iter_mut().zip(batch) {
                        if line.trim().is_empty() {
                            *id = None;
                        }
                    }
                    ids
                })
                .collect();
        }
        lines
            .par_iter()
            .map(|line| {
                if line.trim().is_empty() {
                    None
                } else {
                    self.identify(line)
                }
            })
            .collect()
    }
}

/// Counts over a whole file and the off-target rate against an expected
/// language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LangidSummary {
    /// Lines read.
    pub lines: usize,
    /// Lines with only whitespace (not identified, not counted below).
    pub blank: usize,
    /// Non-blank lines the backend could not identify.
    pub undetermined: usize,
    /// Identified lines per language (normalised code, else the raw label),
    /// most frequent first.
    pub distribution: Vec<(String, usize)>,
    /// The expected language, as normalised.
    pub expected: Option<String>,
    /// Identified lines in the expected language.
    pub on_target: Option<usize>,
    /// Identified lines in another language.
    pub off_target: Option<usize>,
    /// `off_target / (on_target + off_target)`; undetermined and blank lines
    /// are left out of both.
    pub off_target_rate: Option<f64>,
}

/// The key a line is counted under: the normalised language, else the label.
pub fn distribution_key(id: &Identification) -> String {
    id.language
        .as_ref()
        .map_or_else(|| id.label.clone(), Language::to_string)
}

/// Summarises per-line identifications.
pub fn summarize(
    lines: &[String],
    ids: &[Option<Identification>],
    expected: Option<&Language>,
) -> LangidSummary {
    let blank = lines.iter().filter(|l| l.trim().is_empty()).count();
    let identified: Vec<&Identification> = ids.iter().flatten().collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for id in &identified {
        *counts.entry(distribution_key(id)).or_default() += 1;
    }
    let mut distribution: Vec<(String, usize)> = counts.into_iter().collect();
    distribution.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let on_target = expected.map(|want| {
        identified
            .iter()
            .filter(|id| id.language.as_ref().is_some_and(|got| want.matches(got)))
            .count()
    });
    let off_target = on_target.map(|on| identified.len() - on);
    LangidSummary {
        lines: lines.len(),
        blank,
        undetermined: lines.len() - blank - identified.len(),
        distribution,
        expected: expected.map(Language::to_string),
        on_target,
        off_target,
        off_target_rate: off_target
            .filter(|_| !identified.is_empty())
            .map(|off| off as f64 / identified.len() as f64),
    }
}

/// Rejects an `--expect` language that the backend can never output, so a
/// typo does not silently give a 100 % off-target rate.
pub fn check_expectable(backend: &Backend, expected: &Language) -> Result<()> {
    let known = match backend {
        #[cfg(feature = "lingua")]
        Backend::Lingua(lingua) => lingua.knows(expected),
        // A fastText model's labels are free-form; any language may be one.
        Backend::FastText(_) => true,
    };
    if known {
        return Ok(());
    }
    Err(EvalError::Usage(format!(
        "{} cannot identify {expected} ({}); use --backend fasttext:MODEL_PATH with a model that knows it",
        backend.describe(),
        expected.name()
    )))
}
