//! The one error type of `retarget-eval`; every variant names its file (and
//! line) where there is one.

use std::path::PathBuf;

/// Errors raised while reading inputs or computing scores.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A request that cannot be served (unknown tokenizer, bad option).
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or is malformed: invalid UTF-8, an empty
    /// file, mismatched line counts (the foundation's error, naming the file).
    #[error(transparent)]
    Text(#[from] retarget_model::ModelError),
}

impl EvalError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EvalError::Text(retarget_model::ModelError::io(path, source))
    }

    /// A malformed-input error about `path`.
    pub fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        EvalError::Text(retarget_model::ModelError::invalid(path, problem))
    }

    /// True when the user's input or request is at fault (exit code 2); a
    /// missing file counts as bad input.
    pub fn is_bad_input(&self) -> bool {
        match self {
            EvalError::Text(e) => e.is_bad_input(),
            EvalError::Usage(_) => true,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
