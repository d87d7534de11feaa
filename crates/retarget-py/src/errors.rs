//! Library errors as the package's Python exceptions.
//!
//! The exception classes live in Python (`retarget/_errors.py`) so that
//! `BadInput` can also be a `ValueError`; they are looked up when raised.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

/// A library error that knows whether the caller's input is at fault.
pub(crate) trait Classified: std::fmt::Display {
    /// True for what the command line exits 2 on.
    fn is_bad_input(&self) -> bool;
}

macro_rules! classified {
    ($($t:ty),*) => {$(
        impl Classified for $t {
            fn is_bad_input(&self) -> bool {
                <$t>::is_bad_input(self)
            }
        }
    )*};
}

classified!(
    retarget_model::ModelError,
    retarget_eval::EvalError,
    retarget_merge::MergeError,
    retarget_vocab::VocabError,
    retarget_adapt::AdaptError,
    retarget_infer::InferError
);

/// `retarget.BadInput(message)` when `bad_input`, else `retarget.Error`.
pub(crate) fn exception(bad_input: bool, message: String) -> PyErr {
    Python::attach(|py| {
        let name = if bad_input { "BadInput" } else { "Error" };
        let class = py
            .import("retarget._errors")
            .and_then(|m| m.getattr(name))
            .and_then(|c| Ok(c.cast_into::<PyType>()?));
        match class {
            Ok(class) => PyErr::from_type(class, message),
            // Only when the package is broken: still an exception, never a crash.
            Err(_) => PyRuntimeError::new_err(message),
        }
    })
}

/// A library error as its Python exception.
pub(crate) fn to_py<E: Classified>(err: E) -> PyErr {
    exception(err.is_bad_input(), err.to_string())
}

/// A bad argument (`retarget.BadInput`).
pub(crate) fn bad_input(message: impl Into<String>) -> PyErr {
    exception(true, message.into())
}
