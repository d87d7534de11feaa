//! The hyper-parameters of a decoder-only model, read from `config.json`.

use std::path::Path;

use retarget_model::config::ModelConfig;
use serde_json::{Map, Value};

use crate::error::{InferError, Result};

/// `model_type`s this crate runs, all the llama family: pre-norm decoder,
/// RMSNorm, rotary positions, grouped-query attention, gated MLP. Gemma
/// scales the embeddings, norms with `1 + weight` and gates with tanh-GELU;
/// qwen3 normalises queries and keys per head.
pub const SUPPORTED_MODEL_TYPES: &[&str] = &["llama", "mistral", "qwen2", "qwen3", "gemma"];

/// The MLP's gate activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// SiLU (llama, mistral, qwen).
    Silu,
    /// GELU with the tanh approximation (gemma's `gelu_pytorch_tanh`).
    GeluTanh,
}

/// Hyper-parameters of a llama-family decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    /// `model_type`.
    pub model_type: String,
    /// Rows of the embedding and the head.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_layers: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (grouped-query attention).
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Rotary base.
    pub rope_theta: f64,
    /// Longest sequence the positions cover.
    pub max_positions: usize,
    /// Whether the head is the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Whether the q/k/v projections carry a bias (qwen2; llama's `attention_bias`).
    pub qkv_bias: bool,
    /// Whether the output projection carries a bias (llama's `attention_bias`).
    pub output_bias: bool,
    /// Whether the MLP projections carry a bias (llama's `mlp_bias`).
    pub mlp_bias: bool,
    /// Attention window of each layer (`None`: the whole past), as
    /// `sliding_window` with `layer_types` / `use_sliding_window` say.
    pub windows: Vec<Option<usize>>,
    /// Token ids that end generation.
    pub eos_token_ids: Vec<u32>,
    /// Gate activation of the MLP.
    pub activation: Activation,
    /// Embeddings multiplied by `sqrt(hidden_size)` (gemma).
    pub scale_embeddings: bool,
    /// RMSNorm weights stored as offsets from 1 (gemma).
    pub norm_weight_offset: bool,
    /// Per-head RMSNorm of queries and keys before rotary positions (qwen3).
    pub qk_norm: bool,
}

impl DecoderConfig {
    /// Reads the hyper-parameters of the model in `dir` from its parsed
    /// `config.json`.
    pub fn from_config(dir: &Path, config: &ModelConfig) -> Result<Self> {
        let path = dir.join("config.json");
        let raw = config.raw();
        let model_type = config
            .model_type()
            .ok_or_else(|| InferError::model(&path, "no `model_type`"))?
            .to_string();
        if !SUPPORTED_MODEL_TYPES.contains(&model_type.as_str()) {
            return Err(InferError::UnsupportedArchitecture {
                path: dir.to_path_buf(),
                model_type,
                supported: SUPPORTED_MODEL_TYPES.to_vec(),
            });
        }
        let count = |key: &str| -> Result<usize> {
            raw.get(key)
                .and_then(Value::as_u64)
                .map(|v| v as usize)
                .filter(|&v| v > 0)
                .ok_or_else(|| {
                    InferError::model(&path, format!("`{key}` missing or not a positive integer"))
                })
        };
        let optional_count = |key: &str| -> Result<Option<usize>> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(_) => count(key).map(Some),
            }
        };
        let number = |key: &str, default: f64| positive_number(&path, raw, key, default);
        let flag = |key: &str, default: bool| -> Result<bool> {
            match raw.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v.as_bool().ok_or_else(|| {
                    InferError::model(&path, format!("`{key}` is not true or false"))
                }),
            }
        };
        let rope_theta = rope_theta(&path, raw)?;
        let hidden_size = count("hidden_size")?;
        let num_heads = count("num_attention_heads")?;
        let num_kv_heads = optional_count("num_key_value_heads")?.unwrap_or(num_heads);
        if num_heads % num_kv_heads != 0 {
            return Err(InferError::model(
                &path,
                format!("{num_heads} attention heads are not a multiple of {num_kv_heads} key/value heads"),
            ));
        }
        let head_dim = match optional_count("head_dim")? {
            Some(d) => d,
            None if hidden_size % num_heads == 0 => hidden_size / num_heads,
            None => {
                return Err(InferError::model(
                    &path,
                    format!("hidden_size {hidden_size} is not divisible by {num_heads} heads"),
                ))
            }
        };
        if head_dim % 2 != 0 {
            return Err(InferError::model(
                &path,
                format!("head_dim {head_dim} is odd"),
            ));
        }
        let qwen = model_type == "qwen2";
        let gemma = model_type == "gemma";
        let activation = if gemma {
            let name = raw
                .get("hidden_activation")
                .or_else(|| raw.get("hidden_act"))
                .and_then(Value::as_str)
                .unwrap_or("gelu_pytorch_tanh");
            // transformers runs gemma with the tanh approximation whatever
            // `hidden_act` says ("gelu" in the original checkpoints).
            if !matches!(name, "gelu_pytorch_tanh" | "gelu") {
                return Err(InferError::model(
                    &path,
                    format!("gemma activation `{name}` is not supported"),
                ));
            }
            Activation::GeluTanh
        } else {
            let name = raw
                .get("hidden_act")
                .and_then(Value::as_str)
                .unwrap_or("silu");
            if name != "silu" {
                return Err(InferError::model(
                    &path,
                    format!("activation `{name}` is not supported (silu only)"),
                ));
            }
            Activation::Silu
        };
        let num_layers = count("num_hidden_layers")?;
        let windows = attention_windows(&path, raw, &model_type, num_layers)?;
        Ok(DecoderConfig {
            vocab_size: count("vocab_size")?,
            hidden_size,
            intermediate_size: count("intermediate_size")?,
            num_layers,
            windows,
            num_heads,
            num_kv_heads,
            head_dim,
            rms_norm_eps: number("rms_norm_eps", 1e-6)?,
            rope_theta,
            max_positions: optional_count("max_position_embeddings")?.unwrap_or(2048),
            tie_word_embeddings: flag("tie_word_embeddings", gemma)?,
            qkv_bias: qwen || flag("attention_bias", false)?,
            output_bias: !qwen && flag("attention_bias", false)?,
            mlp_bias: flag("mlp_bias", false)?,
            eos_token_ids: token_ids(raw.get("eos_token_id")),
            activation,
            scale_embeddings: gemma,
            norm_weight_offset: gemma,
            qk_norm: model_type == "qwen3",
            model_type,
        })
    }
}

/// `eos_token_id` as one id or a list of ids.
pub(crate) fn token_ids(value: Option<&Value>) -> Vec<u32> {
    match value {
        Some(Value::Number(n)) => n.as_u64().map(|v| vec![v as u32]).unwrap_or_default(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_u64)
            .map(|v| v as u32)
            .collect(),
        _ => Vec::new(),
    }
}

fn positive_number(path: &Path, raw: &Map<String, Value>, key: &str, default: f64) -> Result<f64> {
    match raw.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_f64()
            .filter(|v| *v > 0.0)
            .ok_or_else(|| InferError::model(path, format!("`{key}` is not a positive number"))),
    }
}

/// The rotary base: `rope_parameters.rope_theta` (transformers 5),
/// `rope_theta`, else 10000. Only plain rotary positions are implemented: a
/// `rope_type` other than `default` (linear, dynamic, yarn, llama3 scaling)
/// is refused by name.
fn rope_theta(path: &Path, raw: &Map<String, Value>) -> Result<f64> {
    let mut theta = positive_number(path, raw, "rope_theta", 10_000.0)?;
    for key in ["rope_scaling", "rope_parameters"] {
        let Some(settings) = raw.get(key).filter(|v| !v.is_null()) else {
            continue;
        };
        let settings = settings
            .as_object()
            .ok_or_else(|| InferError::model(path, format!("`{key}` is not an object")))?;
        let kind = settings
            .get("rope_type")
            .or_else(|| settings.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("default");
        if kind != "default" {
            return Err(InferError::model(
                path,
                format!("{key}: rotary scaling `{kind}` is not supported yet (plain rotary positions only)"),
            ));
        }
        if settings.contains_key("rope_theta") {
            theta = positive_number(path, settings, "rope_theta", theta)?;
        }
    }
    Ok(theta)
}

/// Each layer's attention window: mistral slides every layer over
/// `sliding_window` positions when it is set; qwen2 and qwen3 only with
/// `use_sliding_window`; `layer_types` (transformers 5) names each layer.
fn attention_windows(
    path: &Path,
    raw: &Map<String, Value>,
    model_type: &str,
    layers: usize,
) -> Result<Vec<Option<usize>>> {
    let window =
        match raw.get("sliding_window") {
            None | Some(Value::Null) => return Ok(vec![None; layers]),
            Some(v) => v.as_u64().filter(|&w| w > 0).ok_or_else(|| {
                InferError::model(path, "`sliding_window` is not a positive integer")
            })? as usize,
        };
    let enabled = match model_type {
        "mistral" => true,
        "qwen2" | "qwen3" => raw
            .get("use_sliding_window")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        _ => false,
    };
    if !enabled {
        return Ok(vec![None; layers]);
    }
    match raw.get("layer_types").and_then(Value::as_array) {
        Some(types) if types.len() == layers => Ok(types
            .iter()
            .map(|t| (t.as_str() == Some("sliding_attention")).then_some(window))
            .collect()),
        Some(types) => Err(InferError::model(
            path,
            format!(
                "`layer_types` lists {} layers, the model has {layers}",
                types.len()
            ),
        )),
        None => Ok(vec![Some(window); layers]),
    }
}
