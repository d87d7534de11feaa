//! Language identification for `retarget.langid` and `retarget.ray`.

use pyo3::prelude::*;
use retarget_eval::langid::{check_expectable, distribution_key, summarize, Backend};
use retarget_eval::language::Language;

use crate::errors::to_py;

/// A language identifier loaded once (lingua's models, or a fastText
/// `.bin`/`.ftz` file), shared by every call.
#[pyclass(frozen, module = "retarget._native")]
pub struct LangId {
    backend: Backend,
}

/// `(language, label, confidence, on target)` of each line (on target:
/// whether the language is the expected one, when one is given); `None` for
/// blank lines and lines the backend cannot place.
type Labels = Vec<Option<(String, String, f64, Option<bool>)>>;

impl LangId {
    /// The expected language, refused when the backend can never output it.
    fn expected(&self, expected: Option<&str>) -> PyResult<Option<Language>> {
        let expected = expected.map(Language::parse).transpose().map_err(to_py)?;
        if let Some(expected) = &expected {
            check_expectable(&self.backend, expected).map_err(to_py)?;
        }
        Ok(expected)
    }
}

#[pymethods]
impl LangId {
    /// `backend`: `lingua`, `lingua:low` or `fasttext:PATH`; `languages` restricts lingua.
    #[new]
    #[pyo3(signature = (backend="lingua", languages=None))]
    fn new(py: Python<'_>, backend: &str, languages: Option<Vec<String>>) -> PyResult<Self> {
        let languages: Vec<Language> = languages
            .unwrap_or_default()
            .iter()
            .map(|l| Language::parse(l))
            .collect::<Result<_, _>>()
            .map_err(to_py)?;
        let backend = py
            .detach(|| Backend::from_spec(backend, &languages))
            .map_err(to_py)?;
        Ok(LangId { backend })
    }

    /// `lingua` or `fasttext:PATH`.
    fn describe(&self) -> String {
        self.backend.describe()
    }

    /// Identifies every line on all cores; with `expected`, also whether
    /// each line is in that language (its macrolanguage and script).
    #[pyo3(signature = (lines, expected=None))]
    fn identify(
        &self,
        py: Python<'_>,
        lines: Vec<String>,
        expected: Option<&str>,
    ) -> PyResult<Labels> {
        let expected = self.expected(expected)?;
        Ok(py.detach(|| {
            self.backend
                .identify_lines(&lines)
                .into_iter()
                .map(|id| {
                    id.map(|id| {
                        let on_target = expected
                            .as_ref()
                            .map(|want| id.language.as_ref().is_some_and(|got| want.matches(got)));
                        (distribution_key(&id), id.label, id.confidence, on_target)
                    })
                })
                .collect()
        }))
    }

    /// The summary `retarget eval langid --json` prints (counts per
    /// language, off-target rate against `expected`), as JSON text.
    #[pyo3(signature = (lines, expected=None))]
    fn summary(
        &self,
        py: Python<'_>,
        lines: Vec<String>,
        expected: Option<&str>,
    ) -> PyResult<String> {
        let expected = self.expected(expected)?;
        let summary = py.detach(|| {
            let ids = self.backend.identify_lines(&lines);
            summarize(&lines, &ids, expected.as_ref())
        });
        Ok(serde_json::to_string(&summary).expect("a summary serialises"))
    }
}
