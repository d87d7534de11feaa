//! `--steer`, shared by every command that runs a decoder.

use anyhow::Result;
use retarget_control::steer_spec::SteerSpec;
use retarget_control::ControlError;
use retarget_infer::model::AnyModel;

/// `--steer`, for every command that runs a decoder.
#[derive(Debug, Default, clap::Args)]
pub struct SteerArgs {
    /// Change the model in every forward pass, FILE:ACTION[,KNOB=VALUE…]. Neurons file
    /// (`retarget neurons`): deactivate=LANG (LANG's neurons set to 0) or activate=LANG
    /// (set to LANG's mean activation); INCLINE maps (`steer fit incline`): incline=ALPHA;
    /// language vectors (`steer fit itlc`): shift=SRC>TGT (add alpha·(v_TGT − v_SRC) after
    /// the file's layer) with alpha=A (default 1). Any of them with at=all|prompt|
    /// generated|last-prompt (default all). Repeatable; applied in order.
    #[arg(long = "steer", value_name = "FILE:ACTION")]
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
