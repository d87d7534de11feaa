//! The one error type of `retarget-eval`; every variant names its file (and
//! line) where there is one.

use std::path::PathBuf;

/// Errors raised while reading inputs or computing scores.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// An operating-system I/O failure.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed input: invalid UTF-8, an empty file, mismatched line counts.
    #[error("{}: {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },
    /// A request that cannot be served (unknown tokenizer, bad option).
    #[error("{0}")]
    Usage(String),
    /// Reading a text file failed (the foundation's error).
    #[error(transparent)]
    Text(#[from] retarget_model::ModelError),
}

impl EvalError {
    /// True when the user's input or request is at fault (exit code 2); a
    /// missing file counts as bad input.
    pub fn is_bad_input(&self) -> bool {
        match self {
            EvalError::Text(e) => e.is_bad_input(),
            EvalError::Io { source, .. } => {
                use std::io::ErrorKind::*;
                // A path the user named that is missing, unreadable or of the wrong kind.
                matches!(
                    source.kind(),
                    NotFound | PermissionDenied | IsADirectory | NotADirectory
                )
            }
            _ => true,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = EvalError> = std::result::Result<T, E>;
