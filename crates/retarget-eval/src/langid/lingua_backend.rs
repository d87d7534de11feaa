//! The `lingua` backend: all of lingua's 75 languages, models embedded in
//! the binary and loaded lazily on first use.

use lingua::{LanguageDetector, LanguageDetectorBuilder};

use super::Identification;
use crate::language::Language;

/// A lingua detector over every language it knows.
pub struct Lingua {
    detector: LanguageDetector,
}

impl Default for Lingua {
    fn default() -> Self {
        Lingua::new()
    }
}

impl Lingua {
    /// Builds the detector (models load lazily, per language, when needed).
    pub fn new() -> Lingua {
        Lingua {
            detector: LanguageDetectorBuilder::from_all_languages().build(),
        }
    }

    pub(super) fn describe(&self) -> String {
        format!("lingua ({} languages)", lingua::Language::all().len())
    }

    /// True when lingua can output `language` (or its macrolanguage).
    pub(super) fn knows(&self, language: &Language) -> bool {
        lingua::Language::all()
            .iter()
            .filter_map(|l| Language::lookup(&l.iso_code_639_3().to_string()))
            .any(|l| l.matches(language))
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
