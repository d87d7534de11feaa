//! `--steer` arguments: which file, and what to do with it, as
//! `FILE:KNOB=VALUE[,KNOB=VALUE…]` with one action knob:
//!
//! - `deactivate=LANG` / `activate=LANG`: a neurons file from `retarget
//!   neurons` ([`crate::neuron_steer`]);
//! - `incline=ALPHA`: an INCLINE file from `retarget steer fit incline`
//!   ([`crate::incline`]);
//! - `shift=SRC>TGT` (or `shift=TGT`) with `alpha=A` (default 1): a
//!   language-vectors file from `retarget steer fit itlc` ([`crate::itlc`]);
//!
//! and, for any of them, `at=all|prompt|generated|last-prompt` (default
//! `all`): the positions changed ([`Span`]).

use std::path::PathBuf;
use std::sync::Arc;

use retarget_infer::probe::{Span, Spanned, Steer};

use crate::error::{ControlError, Result};
use crate::incline::InclineSteer;
use crate::itlc::ShiftSteer;
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
    /// A language vector difference added: `α·(v_to − v_from)`.
    Shift {
        /// The language steered away from (none: only `α·v_to` is added).
        from: Option<String>,
        /// The language steered toward.
        to: String,
        /// Strength.
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
    /// Where it is done.
    pub span: Span,
}

impl SteerSpec {
    /// Parses `FILE:KNOB=VALUE[,KNOB=VALUE…]` (the last `:` separates the
    /// file).
    pub fn parse(spec: &str) -> Result<Self> {
        let usage = |problem: &str| {
            ControlError::Usage(format!(
                "--steer {spec}: {problem}; expected FILE:deactivate=LANG, FILE:activate=LANG, FILE:incline=ALPHA or FILE:shift=SRC>TGT[,alpha=A], each optionally with ,at=all|prompt|generated|last-prompt"
            ))
        };
        let (path, knobs) = spec.rsplit_once(':').ok_or_else(|| usage("no knobs"))?;
        if path.is_empty() {
            return Err(usage("no file"));
        }
        let number = |value: &str| {
            value
                .parse::<f64>()
                .ok()
                .filter(|a| a.is_finite())
                .ok_or_else(|| usage(&format!("`{value}` is not a finite number")))
        };
        let (mut kind, mut span, mut alpha) = (None, None, None);
        for knob in knobs.split(',') {
            let (name, value) = knob
                .split_once('=')
                .filter(|(_, v)| !v.is_empty())
                .ok_or_else(|| usage(&format!("`{knob}` is not KNOB=VALUE")))?;
            let action = match name {
                "deactivate" | "activate" => Some(SteerKind::Neurons {
                    action: if name == "activate" {
                        NeuronAction::Activate
                    } else {
                        NeuronAction::Deactivate
                    },
                    language: value.to_string(),
                }),
                "incline" => Some(SteerKind::Incline {
                    alpha: number(value)?,
                }),
                "shift" => {
                    let (from, to) = match value.split_once('>') {
                        Some((from, to)) => (Some(from.to_string()), to.to_string()),
                        None => (None, value.to_string()),
                    };
                    if to.is_empty() || from.as_deref() == Some("") {
                        return Err(usage("shift needs SRC>TGT or TGT"));
                    }
                    Some(SteerKind::Shift {
                        from,
                        to,
                        alpha: 1.0,
                    })
                }
                "alpha" => {
                    alpha = Some(number(value)?);
                    None
                }
                "at" => {
                    span = Some(Span::parse(value).ok_or_else(|| {
                        usage(&format!(
                            "at={value}: not all, prompt, generated or last-prompt"
                        ))
                    })?);
                    None
                }
                _ => return Err(usage(&format!("unknown knob `{name}`"))),
            };
            if let Some(action) = action {
                if kind.replace(action).is_some() {
                    return Err(usage("one action per --steer"));
                }
            }
        }
        let mut kind = kind.ok_or_else(|| usage("no action"))?;
        match (&mut kind, alpha) {
            (SteerKind::Shift { alpha: a, .. }, Some(alpha)) => *a = alpha,
            (_, Some(_)) => return Err(usage("alpha= goes with shift=")),
            _ => {}
        }
        Ok(SteerSpec {
            path: path.into(),
            kind,
            span: span.unwrap_or_default(),
        })
    }

    /// Installs the steer in `model` (every forward pass from now on).
    pub fn install(&self, model: &mut retarget_infer::LanguageModel) -> Result<()> {
        let config = model.decoder.config().clone();
        let device = model.decoder.device().clone();
        let (layers, hidden) = (config.num_layers, config.hidden_size);
        let steer: Arc<dyn Steer> = match &self.kind {
            SteerKind::Neurons { action, language } => Arc::new(NeuronSteer::load(
                &self.path, language, *action, &config, &device,
            )?),
            SteerKind::Incline { alpha } => {
                InclineSteer::load(&self.path, *alpha, layers, hidden, &device)?
            }
            SteerKind::Shift { from, to, alpha } => ShiftSteer::load(
                &self.path,
                from.as_deref(),
                to,
                *alpha,
                (layers, hidden),
                &device,
            )?,
        };
        let steer = match self.span {
            Span::All => steer,
            span => Arc::new(Spanned { steer, span }),
        };
        model.decoder.add_steer(steer);
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
        assert_eq!(spec.span, Span::All);
        assert_eq!(
            SteerSpec::parse("m.safetensors:incline=0.5").unwrap().kind,
            SteerKind::Incline { alpha: 0.5 }
        );
        let shift = SteerSpec::parse("v.safetensors:shift=eng>swh,alpha=-2,at=generated").unwrap();
        assert_eq!(
            shift.kind,
            SteerKind::Shift {
                from: Some("eng".into()),
                to: "swh".into(),
                alpha: -2.0
            }
        );
        assert_eq!(shift.span, Span::Generated);
        assert_eq!(
            SteerSpec::parse("v:at=last-prompt,shift=swh").unwrap().kind,
            SteerKind::Shift {
                from: None,
                to: "swh".into(),
                alpha: 1.0
            }
        );
        for bad in [
            "v:shift=eng>",
            "v:shift=>swh",
            "v:shift=swh,at=middle",
            "v:incline=0.5,alpha=2",
            "v:incline=0.5,deactivate=swh",
            "v:at=prompt",
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
