//! The neurons file `retarget neurons` writes: one safetensors file with each
//! language's activation counts (`over_zero`, `(languages, layers, neurons)`
//! i64), token counts (`tokens`, `(languages,)` i64) and neuron masks
//! (`mask`, `(languages, layers, neurons)` u8, 1 = the language's neuron),
//! mean activations (`mean_activation`, `(languages, layers, neurons)` f32),
//! and in its metadata the model, the languages in order, the settings and
//! the counting window; and the summary: neurons per language and per layer.

use std::collections::HashMap;

use retarget_model::dtype::{from_f32, FloatType};
use safetensors::Dtype;
use serde::Serialize;

use crate::error::{ControlError, Result};
use crate::lape::{ActivationCounts, Selection, Settings};
use crate::steer_file::{serialize, Entry};

/// What `format` in the metadata says.
pub const FORMAT: &str = "retarget-lape-neurons";

/// How the neurons were found, stored in the file's metadata.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// The model as given.
    pub model: String,
    /// Language codes, in the order of the tensors' first axis.
    pub languages: Vec<String>,
    /// Tokens per counting window.
    pub window: usize,
    /// The selection settings.
    pub settings: Settings,
}

/// The file's bytes.
pub fn to_bytes(
    provenance: &Provenance,
    counts: &[ActivationCounts],
    selection: &Selection,
) -> Result<Vec<u8>> {
    let languages = counts.len();
    let (layers, neurons) = counts
        .first()
        .map(|c| (c.layers, c.neurons))
        .ok_or_else(|| ControlError::Usage("no languages".into()))?;
    let over_zero: Vec<u8> = counts
        .iter()
        .flat_map(|c| c.over_zero.iter().flat_map(|&n| (n as i64).to_le_bytes()))
        .collect();
    let means: Vec<u8> = counts
        .iter()
        .flat_map(|c| from_f32(FloatType::F32, &c.mean_activation()))
        .collect();
    let tokens: Vec<u8> = counts
        .iter()
        .flat_map(|c| (c.tokens as i64).to_le_bytes())
        .collect();
    let mut mask = vec![0u8; languages * layers * neurons];
    for (k, per_layer) in selection.neurons.iter().enumerate() {
        for (layer, owned) in per_layer.iter().enumerate() {
            for &index in owned {
                mask[(k * layers + layer) * neurons + index as usize] = 1;
            }
        }
    }
    let shape = vec![languages, layers, neurons];
    let tensors: Vec<Entry> = vec![
        ("over_zero".into(), Dtype::I64, shape.clone(), over_zero),
        ("tokens".into(), Dtype::I64, vec![languages], tokens),
        ("mask".into(), Dtype::U8, shape.clone(), mask),
        ("mean_activation".into(), Dtype::F32, shape, means),
    ];
    let metadata: HashMap<String, String> = [
        ("model".to_string(), provenance.model.clone()),
        ("languages".to_string(), json(&provenance.languages)),
        ("window".to_string(), provenance.window.to_string()),
        ("settings".to_string(), json(&provenance.settings)),
        (
            "filter_value".to_string(),
            selection.filter_value.to_string(),
        ),
        (
            "activation_bar".to_string(),
            selection.activation_bar.to_string(),
        ),
    ]
    .into_iter()
    .collect();
    serialize(&tensors, FORMAT, metadata)
}

/// The JSON text of plain data.
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

/// Neurons per language and per layer.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// How the neurons were found.
    #[serde(flatten)]
    pub provenance: Provenance,
    /// Tokens counted per language.
    pub tokens: Vec<u64>,
    /// Neurons kept by entropy before assignment.
    pub candidates: usize,
    /// The filter quantile's value.
    pub filter_value: f32,
    /// The activation bar's value.
    pub activation_bar: f32,
    /// Per language: its neurons in all, and per layer.
    pub per_language: Vec<LanguageNeurons>,
}

/// One language's neurons.
#[derive(Debug, Clone, Serialize)]
pub struct LanguageNeurons {
    /// The language code.
    pub language: String,
    /// Neurons in all.
    pub total: usize,
    /// Neurons per layer.
    pub per_layer: Vec<usize>,
}

/// The summary of a selection.
pub fn summary(
    provenance: Provenance,
    counts: &[ActivationCounts],
    selection: &Selection,
) -> Summary {
    let per_language = provenance
        .languages
        .iter()
        .zip(&selection.neurons)
        .map(|(language, per_layer)| LanguageNeurons {
            language: language.clone(),
            total: per_layer.iter().map(Vec::len).sum(),
            per_layer: per_layer.iter().map(Vec::len).collect(),
        })
        .collect();
    Summary {
        provenance,
        tokens: counts.iter().map(|c| c.tokens).collect(),
        candidates: selection.candidates,
        filter_value: selection.filter_value,
        activation_bar: selection.activation_bar,
        per_language,
    }
}
