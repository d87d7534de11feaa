//! `--steer`, shared by every command that runs a decoder.

use anyhow::Result;
use retarget_control::steer_spec::SteerSpec;
use retarget_control::ControlError;
use retarget_infer::model::AnyModel;

/// `--steer`, for every command that runs a decoder.
#[derive(Debug, Default, clap::Args)]
pub struct SteerArgs {
    /// Change the model in every forward pass with a neurons file from `retarget
    /// neurons`: FILE:deactivate=LANG (LANG's neurons set to 0) or FILE:activate=LANG
    /// (set to LANG's mean activation). Repeatable; applied in order.
    #[arg(long = "steer", value_name = "FILE:ACTION=LANG")]
    steers: Vec<String>,
}

impl SteerArgs {
    /// `model` with the steers installed; steers on a model that is not a
    /// decoder are refused.
    pub fn install(&self, model: AnyModel, path: &std::path::Path) -> Result<AnyModel> {
        if self.steers.is_empty() {
            return Ok(model);
        }
        let specs = self
            .steers
            .iter()
            .map(|s| SteerSpec::parse(s))
            .collect::<retarget_control::Result<Vec<_>>>()?;
        let mut decoder = model
            .into_decoder(path)
            .map_err(|e| ControlError::Usage(format!("--steer needs a decoder-only model: {e}")))?;
        for spec in &specs {
            spec.install(&mut decoder)?;
        }
        Ok(AnyModel::Decoder(decoder))
    }
}
