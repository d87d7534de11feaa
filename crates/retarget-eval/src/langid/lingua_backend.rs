//! The `lingua` backend: lingua's 75 languages (or a chosen subset), with
//! lingua's models embedded in the binary and lingua's decisions, scored by
//! `lingua_port`.

use super::lingua_port::Detector;
use super::Identification;
use crate::error::{EvalError, Result};
use crate::language::Language;

/// A lingua detector over all its languages or a chosen subset.
pub struct Lingua {
    detector: Detector,
    /// The languages it chooses among.
    languages: Vec<lingua::Language>,
    /// lingua's low-accuracy mode (trigrams only).
    low_accuracy: bool,
}

/// Those of `among` that count as `wanted` (the same language or
/// macrolanguage).
fn matching(among: &[lingua::Language], wanted: &Language) -> Vec<lingua::Language> {
    among
        .iter()
        .filter(|l| {
            Language::lookup(&l.iso_code_639_3().to_string()).is_some_and(|l| l.matches(wanted))
        })
        .cloned()
        .collect()
}

impl Lingua {
    /// A detector over lingua's languages, or only over `languages` when
    /// not empty (faster, and no confusion with languages that cannot
    /// occur); in lingua's low-accuracy mode when `low_accuracy`. Fails
    /// naming the first language lingua does not know.
    pub fn new(languages: &[Language], low_accuracy: bool) -> Result<Lingua> {
        let all: Vec<lingua::Language> = lingua::Language::all().into_iter().collect();
        let chosen = if languages.is_empty() {
            all
        } else {
            let mut chosen = Vec::new();
            for wanted in languages {
                let known = matching(&all, wanted);
                if known.is_empty() {
                    return Err(EvalError::Usage(format!(
                        "lingua cannot identify {wanted} ({})",
                        wanted.name()
                    )));
                }
                chosen.extend(known);
            }
            chosen.sort();
            chosen.dedup();
            chosen
        };
        Ok(Lingua {
            detector: Detector::new(&chosen, low_accuracy),
            languages: chosen,
            low_accuracy,
        })
    }

    pub(super) fn describe(&self) -> String {
        let mode = if self.low_accuracy {
            ", low accuracy"
        } else {
            ""
        };
        format!("lingua ({} languages{mode})", self.languages.len())
    }

    /// True when this detector can output `language` (or its macrolanguage).
    pub(super) fn knows(&self, language: &Language) -> bool {
        !matching(&self.languages, language).is_empty()
    }

    pub(super) fn identify(&self, text: &str) -> Option<Identification> {
        identification(&self.detector.confidence_values(text))
    }

    /// [`Lingua::identify`] of each text, their n-grams looked up together.
    pub(super) fn identify_all(&self, texts: &[&str]) -> Vec<Option<Identification>> {
        let values = self.detector.confidence_values_of(texts);
        values.iter().map(|v| identification(v)).collect()
    }
}

/// The label of the largest confidence, unless two share it.
fn identification(values: &[(lingua::Language, f64)]) -> Option<Identification> {
    let (best, confidence) = *values.first()?;
    // lingua itself answers "unknown" when the two best are tied.
    if values
        .get(1)
        .is_some_and(|&(_, second)| second == confidence)
    {
        return None;
    }
    let code = best.iso_code_639_3().to_string();
    Some(Identification {
        language: Language::lookup(&code),
        label: code,
        confidence,
    })
}
