//! The `lingua` backend: lingua's 75 languages (or a chosen subset), models
//! embedded in the binary and loaded lazily on first use.

use lingua::{LanguageDetector, LanguageDetectorBuilder};

use super::Identification;
use crate::error::{EvalError, Result};
use crate::language::Language;

/// A lingua detector over all its languages or a chosen subset.
pub struct Lingua {
    detector: LanguageDetector,
    /// The languages it chooses among.
    languages: Vec<lingua::Language>,
}

impl Default for Lingua {
    fn default() -> Self {
        Lingua::new()
    }
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
    /// Builds the detector (models load lazily, per language, when needed).
    pub fn new() -> Lingua {
        Lingua {
            detector: LanguageDetectorBuilder::from_all_languages().build(),
            languages: lingua::Language::all().into_iter().collect(),
        }
    }

    /// A detector that chooses only among `languages` (faster, and no
    /// confusion with languages that cannot occur). Fails naming the first
    /// language lingua does not know.
    pub fn with_languages(languages: &[Language]) -> Result<Lingua> {
        let all: Vec<lingua::Language> = lingua::Language::all().into_iter().collect();
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
        Ok(Lingua {
            detector: LanguageDetectorBuilder::from_languages(&chosen).build(),
            languages: chosen,
        })
    }

    pub(super) fn describe(&self) -> String {
        format!("lingua ({} languages)", self.languages.len())
    }

    /// True when this detector can output `language` (or its macrolanguage).
    pub(super) fn knows(&self, language: &Language) -> bool {
        !matching(&self.languages, language).is_empty()
    }

    pub(super) fn identify(&self, text: &str) -> Option<Identification> {
        let values = self.detector.compute_language_confidence_values(text);
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
}
