//! The hyper-parameters of a decoder-only model, read from `config.json`.
//!
//! The decoders inference runs (`Network::Decoder` in the model-type registry,
//! `retarget_model::tensor_roles`) are all of the llama family: pre-norm decoder,
//! RMSNorm, rotary positions, grouped-query attention, gated MLP. Gemma scales
//! the embeddings, norms with `1 + weight` and gates with tanh-GELU; qwen3
//! normalises queries and keys per head; Gemma 3 does too, also norms each
//! block's output (`post_attention_layernorm`, `post_feedforward_layernorm`),
//! and gives its sliding-window layers their own rotary base.

use std::path::Path;

use retarget_model::config::ModelConfig;
use retarget_model::tensor_roles::{Architecture, Network};
use serde_json::Value;

use crate::config_keys::ConfigKeys;

use crate::error::{InferError, Result};

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
    /// Rotary base (of every layer, or of the global ones when
    /// `local_rope_theta` is set).
    pub rope_theta: f64,
    /// Rotary base of the sliding-window layers (Gemma 3), when it differs.
    pub local_rope_theta: Option<f64>,
    /// What query·key products are scaled by: `query_pre_attn_scalar^-1/2`
    /// (gemma 2/3), else `head_dim^-1/2`.
    pub query_scale: f64,
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
    /// Per-head RMSNorm of queries and keys before rotary positions (qwen3,
    /// Gemma 3).
    pub qk_norm: bool,
    /// Each block's output normed before it joins the residual stream, and
    /// the MLP's input normed by `pre_feedforward_layernorm` (Gemma 3).
    pub sandwich_norms: bool,
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
        if Architecture::network_of(&model_type) != Some(Network::Decoder) {
            return Err(InferError::UnsupportedArchitecture {
                path: dir.to_path_buf(),
                model_type,
                supported: Architecture::running(Some(Network::Decoder)),
            });
        }
        let keys = ConfigKeys::new(path.clone(), raw);
        let gemma3 = model_type == "gemma3_text";
        let (rope_theta, local_rope_theta) = if gemma3 {
            gemma3_rope_thetas(&keys)?
        } else {
            (rope_theta(&keys)?, None)
        };
        if gemma3 {
            for key in ["attn_logit_softcapping", "final_logit_softcapping"] {
                if keys.get(key).is_some_and(|v| !v.is_null()) {
                    return Err(InferError::model(
                        &path,
                        format!("`{key}` is not supported yet"),
                    ));
                }
            }
        }
        let hidden_size = keys.count("hidden_size")?;
        let num_heads = keys.count("num_attention_heads")?;
        let num_kv_heads = keys
            .optional_count("num_key_value_heads")?
            .unwrap_or(num_heads);
        if num_heads % num_kv_heads != 0 {
            return Err(InferError::model(
                &path,
                format!("{num_heads} attention heads are not a multiple of {num_kv_heads} key/value heads"),
            ));
        }
        let head_dim = match keys.optional_count("head_dim")? {
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
        let gemma = model_type == "gemma" || gemma3;
        let activation = if gemma {
            let name = match keys.get("hidden_activation") {
                Some(_) => keys.text("hidden_activation", "gelu_pytorch_tanh")?,
                None => keys.text("hidden_act", "gelu_pytorch_tanh")?,
            };
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
            let name = keys.text("hidden_act", "silu")?;
            if name != "silu" {
                return Err(InferError::model(
                    &path,
                    format!("activation `{name}` is not supported (silu only)"),
                ));
            }
            Activation::Silu
        };
        let num_layers = keys.count("num_hidden_layers")?;
        let windows = attention_windows(&keys, &model_type, num_layers)?;
        let query_scalar = if gemma3 {
            keys.number("query_pre_attn_scalar", head_dim as f64)?
        } else {
            head_dim as f64
        };
        Ok(DecoderConfig {
            vocab_size: keys.count("vocab_size")?,
            hidden_size,
            intermediate_size: keys.count("intermediate_size")?,
            num_layers,
            windows,
            num_heads,
            num_kv_heads,
            head_dim,
            rms_norm_eps: keys.number("rms_norm_eps", 1e-6)?,
            rope_theta,
            local_rope_theta,
            query_scale: 1.0 / query_scalar.sqrt(),
            max_positions: keys
                .optional_count("max_position_embeddings")?
                .unwrap_or(2048),
            tie_word_embeddings: keys.flag("tie_word_embeddings", gemma)?,
            qkv_bias: qwen || keys.flag("attention_bias", false)?,
            output_bias: !qwen && keys.flag("attention_bias", false)?,
            mlp_bias: keys.flag("mlp_bias", false)?,
            eos_token_ids: token_ids(raw.get("eos_token_id")),
            activation,
            scale_embeddings: gemma,
            norm_weight_offset: gemma,
            qk_norm: model_type == "qwen3" || gemma3,
            sandwich_norms: gemma3,
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

/// The rotary base: `rope_parameters.rope_theta` (transformers 5),
/// `rope_theta`, else 10000. Only plain rotary positions are implemented: a
/// `rope_type` other than `default` (linear, dynamic, yarn, llama3 scaling)
/// is refused by name.
fn rope_theta(keys: &ConfigKeys) -> Result<f64> {
    let mut theta = keys.number("rope_theta", 10_000.0)?;
    for key in ["rope_scaling", "rope_parameters"] {
        if let Some(settings) = keys.get(key) {
            theta = plain_rotary_base(keys, key, settings, theta)?;
        }
    }
    Ok(theta)
}

/// The `rope_theta` of the rotary settings object `settings` (named `label`
/// in errors; `default` without one); a `rope_type` (or `type`) other than
/// `default` is refused by name.
fn plain_rotary_base(
    keys: &ConfigKeys,
    label: &str,
    settings: &Value,
    default: f64,
) -> Result<f64> {
    let settings = settings
        .as_object()
        .ok_or_else(|| InferError::model(keys.path(), format!("`{label}` is not an object")))?;
    let nested = ConfigKeys::new(keys.path().to_path_buf(), settings);
    let kind = match nested.get("rope_type") {
        Some(_) => nested.text("rope_type", "default")?,
        None => nested.text("type", "default")?,
    };
    if kind != "default" {
        return Err(InferError::model(
            keys.path(),
            format!("{label}: rotary scaling `{kind}` is not supported yet (plain rotary positions only)"),
        ));
    }
    nested.number("rope_theta", default)
}

/// Gemma 3's two rotary bases, global and sliding-window layers':
/// `rope_parameters.{full_attention,sliding_attention}.rope_theta`
/// (transformers 5) or `rope_theta` and `rope_local_base_freq`
/// (transformers 4); only plain rotary positions.
fn gemma3_rope_thetas(keys: &ConfigKeys) -> Result<(f64, Option<f64>)> {
    let by_type = keys
        .get("rope_parameters")
        .and_then(Value::as_object)
        .filter(|p| p.contains_key("full_attention"));
    let Some(by_type) = by_type else {
        let global = rope_theta(keys)?;
        let local = keys.number("rope_local_base_freq", 10_000.0)?;
        return Ok((global, Some(local)));
    };
    let theta = |layer_type: &str, default: f64| -> Result<f64> {
        match by_type.get(layer_type) {
            Some(settings) => plain_rotary_base(
                keys,
                &format!("rope_parameters.{layer_type}"),
                settings,
                default,
            ),
            None => Ok(default),
        }
    };
    Ok((
        theta("full_attention", 1_000_000.0)?,
        Some(theta("sliding_attention", 10_000.0)?),
    ))
}

/// Each layer's attention window: mistral slides every layer over
/// `sliding_window` positions when it is set; qwen2 and qwen3 only with
/// `use_sliding_window`; `layer_types` (transformers 5) names each layer.
fn attention_windows(
    keys: &ConfigKeys,
    model_type: &str,
    layers: usize,
) -> Result<Vec<Option<usize>>> {
    let Some(window) = keys.optional_count("sliding_window")? else {
        return Ok(vec![None; layers]);
    };
    let enabled = match model_type {
        "mistral" | "gemma3_text" => true,
        "qwen2" | "qwen3" => keys.flag("use_sliding_window", false)?,
        _ => false,
    };
    if !enabled {
        return Ok(vec![None; layers]);
    }
    match keys.get("layer_types").and_then(Value::as_array) {
        Some(types) if types.len() == layers => Ok(types
            .iter()
            .map(|t| (t.as_str() == Some("sliding_attention")).then_some(window))
            .collect()),
        Some(types) => Err(InferError::model(
            keys.path(),
            format!(
                "`layer_types` lists {} layers, the model has {layers}",
                types.len()
            ),
        )),
        // transformers 4 Gemma 3 configs: every `sliding_window_pattern`-th
        // layer (6 by default) is global.
        None if model_type == "gemma3_text" => {
            let pattern = keys
                .optional_count("sliding_window_pattern")?
                .unwrap_or(6)
                .max(1);
            Ok((0..layers)
                .map(|i| ((i + 1) % pattern != 0).then_some(window))
                .collect())
        }
        None => Ok(vec![Some(window); layers]),
    }
}
