//! Per-line tokenizer counts for corpus-scale tokenizer statistics
//! (`retarget.ray.TokenCounts`): counts add up across batches and workers,
//! and [`fairness`] turns their sums into `eval tokenizer`'s ratios.

use std::path::PathBuf;

use pyo3::prelude::*;
use retarget_eval::fertility::{Counter, Fairness, TextCounts};
use retarget_model::hf_folder::load_tokenizer;
use tokenizers::Tokenizer;

use crate::errors::{bad_input, to_py};

/// The count fields in order.
pub const FIELDS: [&str; 7] = [
    "lines",
    "words",
    "chars",
    "letters",
    "tokens",
    "continued_words",
    "unk_tokens",
];

fn as_row(c: &TextCounts) -> [u64; 7] {
    [
        c.lines,
        c.words,
        c.chars,
        c.letters,
        c.tokens,
        c.continued_words,
        c.unk_tokens,
    ]
}

/// A tokenizer (`tokenizer.json` or a model folder) loaded once.
#[pyclass(frozen, module = "retarget._native")]
pub struct TokenCounter {
    name: String,
    tokenizer: Tokenizer,
}

#[pymethods]
impl TokenCounter {
    #[new]
    fn new(py: Python<'_>, tokenizer: PathBuf) -> PyResult<Self> {
        let loaded = py.detach(|| load_tokenizer(&tokenizer)).map_err(to_py)?;
        Ok(TokenCounter {
            name: tokenizer.display().to_string(),
            tokenizer: loaded,
        })
    }

    /// The count fields, in the order [`TokenCounter::count_each`] gives them.
    #[classattr]
    fn fields() -> Vec<&'static str> {
        FIELDS.to_vec()
    }

    /// Each line's counts (lines, words, chars, letters, tokens, continued
    /// words, unknown tokens), on all cores.
    fn count_each(&self, py: Python<'_>, lines: Vec<String>) -> PyResult<Vec<[u64; 7]>> {
        let counts = py
            .detach(|| Counter::new(&self.tokenizer).count_each(&lines))
            .map_err(|e| bad_input(format!("{}: encoding failed: {e}", self.name)))?;
        Ok(counts.iter().map(as_row).collect())
    }
}

/// `eval tokenizer`'s row (fertility, parity, …) of summed counts, as JSON;
/// `reference_tokens` gives parity.
#[pyfunction]
#[pyo3(signature = (tokenizer, lang, counts, reference_tokens=None))]
pub fn fairness(
    tokenizer: &str,
    lang: &str,
    counts: [u64; 7],
    reference_tokens: Option<u64>,
) -> String {
    let [lines, words, chars, letters, tokens, continued_words, unk_tokens] = counts;
    let counts = TextCounts {
        lines,
        words,
        chars,
        letters,
        tokens,
        continued_words,
        unk_tokens,
    };
    serde_json::to_string(&Fairness::new(tokenizer, lang, counts, reference_tokens))
        .expect("a row serialises")
}
