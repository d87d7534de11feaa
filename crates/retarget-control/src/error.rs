//! The one error type of `retarget-control`.

use retarget_infer::InferError;
use retarget_model::ModelError;

/// Errors of language control.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// A request that cannot be served (too few languages or tokens, …).
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed, or a file is malformed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Running the model failed.
    #[error(transparent)]
    Inference(#[from] InferError),
}

impl From<candle_core::Error> for ControlError {
    fn from(e: candle_core::Error) -> Self {
        ControlError::Inference(InferError::from(e))
    }
}

impl ControlError {
    /// True when the error is the user's input (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        match self {
            ControlError::Usage(_) => true,
            ControlError::Model(e) => e.is_bad_input(),
            ControlError::Inference(e) => e.is_bad_input(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = ControlError> = std::result::Result<T, E>;
