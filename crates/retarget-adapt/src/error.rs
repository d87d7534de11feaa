//! The one error type of `retarget-adapt`: the errors of the layers it runs,
//! each naming its file.

use std::path::PathBuf;

use retarget_eval::EvalError;
use retarget_infer::InferError;
use retarget_model::ModelError;
use retarget_vocab::VocabError;

/// Errors raised by the adaptation pipeline.
#[derive(Debug, thiserror::Error)]
pub enum AdaptError {
    /// A request that cannot be served (conflicting or impossible options).
    #[error("{0}")]
    Usage(String),
    /// Reading, converting or writing a model failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Changing the vocabulary failed.
    #[error(transparent)]
    Vocab(#[from] VocabError),
    /// Measuring tokenizer fairness failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// Scoring held-out text with a model failed.
    #[error(transparent)]
    Inference(#[from] InferError),
}

impl AdaptError {
    /// A malformed or unsuitable input file `path`.
    pub fn invalid(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        AdaptError::Model(ModelError::invalid(path, problem))
    }

    /// True when the error is the user's input (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            AdaptError::Usage(_) => true,
            AdaptError::Model(e) => e.is_bad_input(),
            AdaptError::Vocab(e) => e.is_bad_input(),
            AdaptError::Eval(e) => e.is_bad_input(),
            AdaptError::Inference(e) => e.is_bad_input(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = AdaptError> = std::result::Result<T, E>;
