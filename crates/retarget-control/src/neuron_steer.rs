//! Steering with a language's neurons from a neurons file: deactivate them
//! (activation set to 0, as the LAPE reference's `ppl.py` does with
//! `index_fill_`) or activate them (set to the language's mean activation
//! over the text the file was made from), at every position.

use std::path::Path;

use crate::error::Result;
use crate::neurons_file::FORMAT;
use crate::steer_file::SteerFile;
use candle_core::{Device, Tensor};
use retarget_infer::config::DecoderConfig;
use retarget_infer::probe::{Site, Steer};

/// What is done to the language's neurons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeuronAction {
    /// Activations set to 0.
    Deactivate,
    /// Activations set to the language's mean activation.
    Activate,
}

/// A language's neurons, set to fixed values in every forward pass.
pub struct NeuronSteer {
    /// Per layer: `keep` (1 where the activation stays, 0 where it is set)
    /// and `set` (the values set), both `(neurons,)`; `None` for layers with
    /// none of the language's neurons.
    per_layer: Vec<Option<(Tensor, Tensor)>>,
    /// Neurons changed in all.
    pub neurons: usize,
}

impl NeuronSteer {
    /// The steer for `language`'s neurons in the neurons file `path`, for
    /// a decoder of `config` on `device`; a file of another shape, another
    /// format or without the language is refused, naming the file.
    pub fn load(
        path: &Path,
        language: &str,
        action: NeuronAction,
        config: &DecoderConfig,
        device: &Device,
    ) -> Result<Self> {
        let file = SteerFile::open(path, FORMAT, "neurons", "retarget neurons")?;
        let invalid = |problem: String| SteerFile::invalid(path, problem);
        let languages: Vec<String> = file
            .metadata
            .get("languages")
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| invalid("the metadata lacks its language list".into()))?;
        let index = languages
            .iter()
            .position(|l| l == language)
            .ok_or_else(|| {
                invalid(format!(
                    "no neurons of language `{language}`; the file has {}",
                    languages.join(", ")
                ))
            })?;
        let (layers, neurons) = (config.num_layers, config.intermediate_size);
        let (_, shape, mask) = file
            .tensor("mask")
            .ok_or_else(|| invalid("no `mask` tensor".into()))?;
        if shape != [languages.len(), layers, neurons] {
            return Err(invalid(format!(
                "neurons of a model with {} layers × {} MLP neurons; this model has {layers} × {neurons} (a neurons file of another model)",
                shape.get(1).copied().unwrap_or(0),
                shape.get(2).copied().unwrap_or(0)
            )));
        }
        let (means_shape, means) = file
            .f32_tensor("mean_activation")
            .ok_or_else(|| invalid("no f32 `mean_activation` tensor".into()))?;
        if means_shape != shape {
            return Err(invalid("`mean_activation` does not match `mask`".into()));
        }
        let start = index * layers * neurons;
        let mask = &mask[start..start + layers * neurons];
        let means = &means[start..start + layers * neurons];
        let mut per_layer = Vec::with_capacity(layers);
        let mut changed = 0;
        for layer in 0..layers {
            let range = layer * neurons..(layer + 1) * neurons;
            let owned = &mask[range.clone()];
            if owned.iter().all(|&m| m == 0) {
                per_layer.push(None);
                continue;
            }
            changed += owned.iter().filter(|&&m| m != 0).count();
            let keep: Vec<f32> = owned.iter().map(|&m| f32::from(m == 0)).collect();
            let set: Vec<f32> = owned
                .iter()
                .zip(&means[range])
                .map(|(&m, &mean)| match (m != 0, action) {
                    (true, NeuronAction::Activate) => mean,
                    _ => 0.0,
                })
                .collect();
            per_layer.push(Some((
                Tensor::from_vec(keep, neurons, device)?,
                Tensor::from_vec(set, neurons, device)?,
            )));
        }
        Ok(NeuronSteer {
            per_layer,
            neurons: changed,
        })
    }
}

impl Steer for NeuronSteer {
    fn wants(&self, site: Site) -> bool {
        matches!(site, Site::MlpActivation(l) if self.per_layer.get(l).is_some_and(Option::is_some))
    }

    fn apply(&self, site: Site, states: Tensor, _: usize) -> candle_core::Result<Tensor> {
        let Site::MlpActivation(layer) = site else {
            return Ok(states);
        };
        match &self.per_layer[layer] {
            Some((keep, set)) => states.broadcast_mul(keep)?.broadcast_add(set),
            None => Ok(states),
        }
    }
}
