//! `--steer` arguments: which file, and what to do with it.
//!
//! - `FILE:deactivate=LANG` / `FILE:activate=LANG`: a neurons file from
//!   `retarget neurons` ([`crate::neuron_steer`]);
//! - `FILE:incline=ALPHA`: an INCLINE file from `retarget steer fit
//!   incline` ([`crate::incline`]).

use std::path::PathBuf;

use crate::error::{ControlError, Result};
use crate::incline::InclineSteer;
use crate::neuron_steer::{NeuronAction, NeuronSteer};

/// What a steer does.
#[derive(Debug, Clone, PartialEq)]
pub enum SteerKind {
    /// A language's neurons deactivated or activated.
    Neurons {
        /// Deactivate or activate.
        action: NeuronAction,
        /// Whose neurons.
        language: String,
    },
    /// INCLINE's maps applied with strength `alpha`.
    Incline {
        /// `h ← h + α·(h·W)`.
        alpha: f64,
    },
}

/// A parsed `--steer` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct SteerSpec {
    /// The file.
    pub path: PathBuf,
    /// What is done with it.
    pub kind: SteerKind,
}

impl SteerSpec {
    /// Parses `FILE:KNOB=VALUE` (the last `:` separates the file).
    pub fn parse(spec: &str) -> Result<Self> {
        let usage = || {
            ControlError::Usage(format!(
                "--steer {spec}: expected FILE:deactivate=LANG, FILE:activate=LANG or FILE:incline=ALPHA"
            ))
        };
        let (path, knob) = spec.rsplit_once(':').ok_or_else(usage)?;
        let (knob, value) = knob.split_once('=').ok_or_else(usage)?;
        if path.is_empty() || value.is_empty() {
            return Err(usage());
        }
        let kind = match knob {
            "deactivate" | "activate" => SteerKind::Neurons {
                action: if knob == "activate" {
                    NeuronAction::Activate
                } else {
                    NeuronAction::Deactivate
                },
                language: value.to_string(),
            },
            "incline" => SteerKind::Incline {
                alpha: value
                    .parse::<f64>()
                    .ok()
                    .filter(|a| a.is_finite())
                    .ok_or_else(usage)?,
            },
            _ => return Err(usage()),
        };
        Ok(SteerSpec {
            path: path.into(),
            kind,
        })
    }

    /// Installs the steer in `model` (every forward pass from now on).
    pub fn install(&self, model: &mut retarget_infer::LanguageModel) -> Result<()> {
        let config = model.decoder.config().clone();
        let device = model.decoder.device().clone();
        match &self.kind {
            SteerKind::Neurons { action, language } => {
                let steer = NeuronSteer::load(&self.path, language, *action, &config, &device)?;
                model.decoder.add_steer(std::sync::Arc::new(steer));
            }
            SteerKind::Incline { alpha } => {
                let steer = InclineSteer::load(
                    &self.path,
                    *alpha,
                    config.num_layers,
                    config.hidden_size,
                    &device,
                )?;
                model.decoder.add_steer(steer);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steer_specs_parse_and_bad_ones_are_refused() {
        let spec = SteerSpec::parse("/tmp/a:b/n.safetensors:deactivate=swh").unwrap();
        assert_eq!(spec.path, PathBuf::from("/tmp/a:b/n.safetensors"));
        assert_eq!(
            spec.kind,
            SteerKind::Neurons {
                action: NeuronAction::Deactivate,
                language: "swh".into()
            }
        );
        assert_eq!(
            SteerSpec::parse("m.safetensors:incline=0.5").unwrap().kind,
            SteerKind::Incline { alpha: 0.5 }
        );
        for bad in [
            "n.safetensors",
            "n.safetensors:zero=swh",
            ":deactivate=swh",
            "n:deactivate=",
            "m:incline=strong",
            "m:incline=NaN",
        ] {
            assert!(SteerSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
