//! The one error type of `retarget-merge`. Every variant names what it is
//! about: the configuration file, the model, the tensor.

use std::path::PathBuf;

use retarget_model::ModelError;

/// Errors raised while reading a merge configuration, planning or running a merge.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// The YAML configuration is malformed or asks for something invalid.
    #[error("{}: {problem}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// An input model cannot take part in the merge as configured (a missing
    /// or mis-shaped tensor, a layer range out of bounds, a vocabulary mismatch).
    #[error("model {model}: {problem}")]
    Model {
        /// The model reference as written in the configuration.
        model: String,
        /// What is wrong.
        problem: String,
    },
    /// Reading or writing a model failed (the foundation's error).
    #[error(transparent)]
    Io(#[from] ModelError),
    /// An output tensor cannot be merged as configured (a method without
    /// the base model it needs, DELLA's density ± epsilon outside (0, 1), a
    /// token whose embedding source is not among the inputs).
    #[error("{0}")]
    Tensor(String),
    /// A broken invariant inside retarget: a bug, not bad input.
    #[error("internal error: {0}")]
    Internal(String),
}

impl MergeError {
    /// A configuration error about `path`.
    pub fn config(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        MergeError::Config {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// An error about one input model.
    pub fn model(model: impl Into<String>, problem: impl Into<String>) -> Self {
        MergeError::Model {
            model: model.into(),
            problem: problem.into(),
        }
    }

    /// True when the error is the user's input (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            MergeError::Io(e) => e.is_bad_input(),
            MergeError::Internal(_) => false,
            _ => true,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = MergeError> = std::result::Result<T, E>;
