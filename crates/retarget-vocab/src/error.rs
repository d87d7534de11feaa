//! The one error type of `retarget-vocab`; every variant names the file.

use std::path::PathBuf;

use retarget_model::ModelError;

/// Errors raised while changing a vocabulary.
#[derive(Debug, thiserror::Error)]
pub enum VocabError {
    /// A request that cannot be served (conflicting or impossible options).
    #[error("{0}")]
    Usage(String),
    /// Reading or writing the model failed (the foundation's error).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A broken invariant inside retarget: a bug, not bad input.
    #[error("internal error: {0}")]
    Internal(String),
}

impl VocabError {
    /// A malformed or unsuitable input file `path`.
    pub fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        VocabError::Model(ModelError::invalid(path, problem))
    }

    /// True when the error is the user's input (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            VocabError::Model(e) => e.is_bad_input(),
            VocabError::Internal(_) => false,
            VocabError::Usage(_) => true,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = VocabError> = std::result::Result<T, E>;
