//! What to say when a model computes NaN or infinity: the scores and
//! generations that follow would be garbage with exit 0, so inference stops
//! and names the tensor that holds non-finite values when there is one.

use std::path::Path;

use retarget_model::weights::Weights;

use crate::error::InferError;

/// The error for non-finite `what` (e.g. "log-likelihoods") computed by the
/// model at `model`: names its first tensor holding NaN or an infinity, read
/// again from the folder (only on this failure path, so that finite runs pay
/// nothing).
pub(crate) fn nonfinite(model: &Path, what: &str) -> InferError {
    let tensor = model
        .is_dir()
        .then(|| Weights::open_dir(model).ok())
        .flatten()
        .and_then(|w| w.first_nonfinite().map(|t| t.entry.name.clone()));
    InferError::model(
        model,
        match tensor {
            Some(name) => format!(
                "the model computes non-finite {what}: tensor `{name}` holds NaN or infinite values"
            ),
            None => format!(
                "the model computes non-finite {what} (NaN or infinity): its weights or config overflow, or a --steer pushes it past f32"
            ),
        },
    )
}
