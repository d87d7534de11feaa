//! `retarget._native`: the compiled half of the `retarget` Python package.
//!
//! Each function parses its Python arguments, releases the GIL, calls one
//! library function of the retarget crates and turns the result into plain
//! Python values; the Python half (`python/retarget`) builds sacrebleu's
//! objects, dataclasses and Ray callables on top. Library errors become
//! `retarget.BadInput` (what the command line exits 2 on) or
//! `retarget.Error`; no panic crosses into the interpreter (PyO3 turns one
//! into an exception, and the code below avoids them on bad input).

mod counts;
mod errors;
mod langid;
mod metrics;
mod models;
mod texts;

use pyo3::prelude::*;

/// The compiled module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SIGNATURE_VERSION", retarget_eval::score::VERSION)?;
    m.add_class::<metrics::Metric>()?;
    m.add_class::<metrics::Tokenizer>()?;
    m.add_class::<langid::LangId>()?;
    m.add_function(wrap_pyfunction!(metrics::paired_test, m)?)?;
    m.add_function(wrap_pyfunction!(models::inspect, m)?)?;
    m.add_function(wrap_pyfunction!(models::merge, m)?)?;
    m.add_function(wrap_pyfunction!(models::adapt, m)?)?;
    m.add_function(wrap_pyfunction!(models::tokenizer_stats, m)?)?;
    m.add_class::<models::Scorer>()?;
    m.add_class::<counts::TokenCounter>()?;
    m.add_function(wrap_pyfunction!(counts::fairness, m)?)?;
    Ok(())
}
