//! The one error type of `retarget-infer`. Every variant names what it is
//! about: the model folder, the input file and line, the prompt.

use std::path::PathBuf;

use retarget_eval::error::EvalError;
use retarget_model::ModelError;

/// Errors raised while loading a model, scoring text or generating.
#[derive(Debug, thiserror::Error)]
pub enum InferError {
    /// The model's architecture has no inference implementation here.
    #[error("{}: model type `{model_type}` is not supported for inference (supported: {})", path.display(), supported.join(", "))]
    UnsupportedArchitecture {
        /// The model folder.
        path: PathBuf,
        /// `model_type` from `config.json` (or what stood in for it).
        model_type: String,
        /// The supported `model_type`s.
        supported: Vec<&'static str>,
    },
    /// The model folder, its configuration or its weights are unusable.
    #[error("{}: {problem}", path.display())]
    Model {
        /// The model folder or file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// An input text file is unusable (empty, not UTF-8, a line too long).
    #[error("{}: {problem}", path.display())]
    Input {
        /// The input file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The request cannot be served (a prompt longer than the context, a bad
    /// sampling parameter).
    #[error("{0}")]
    Request(String),
    /// Reading the model failed (the foundation's error).
    #[error(transparent)]
    Io(#[from] ModelError),
    /// Reading an input text failed (the evaluation crate's reader).
    #[error(transparent)]
    Text(#[from] EvalError),
    /// A tensor operation failed inside candle: a bug, not bad input.
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
}

impl InferError {
    /// An error about the model at `path`.
    pub fn model(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        InferError::Model {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// An error about the input file at `path`.
    pub fn input(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        InferError::Input {
            path: path.into(),
            problem: problem.into(),
        }
    }

    /// A request error about line `index` (0-based) of `path`, as an input
    /// error naming the file and line; other errors pass through.
    pub fn at_line(self, path: &std::path::Path, index: usize) -> Self {
        match self {
            InferError::Request(problem) => {
                InferError::input(path, format!("line {}: {problem}", index + 1))
            }
            other => other,
        }
    }

    /// True when the error is the user's input (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            InferError::Io(e) => e.is_bad_input(),
            InferError::Text(e) => e.is_bad_input(),
            InferError::Candle(_) => false,
            _ => true,
        }
    }
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, InferError>;
