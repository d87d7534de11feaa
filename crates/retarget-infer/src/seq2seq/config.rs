//! Hyper-parameters of a BART-family encoder-decoder translation model
//! (m2m_100 / NLLB, marian) from `config.json`.

use std::path::Path;

use retarget_model::config::ModelConfig;
use serde_json::Value;

use crate::error::{InferError, Result};

/// Encoder-decoder `model_type`s this crate runs.
pub const SUPPORTED_SEQ2SEQ_TYPES: &[&str] = &["m2m_100", "marian", "t5", "mt5"];

/// How a family arranges the same parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// m2m_100 and NLLB: pre-norm layers, final layer norms, sinusoidal
    /// positions offset past the padding id, the target language forced as
    /// the first generated token.
    M2m100,
    /// marian (OPUS-MT): post-norm layers, sinusoidal positions from 0, a
    /// final logits bias, multi-target models read a `>>xxx<<` source prefix.
    Marian,
    /// t5 / mt5 (MADLAD): pre-norm RMS layers, relative position buckets,
    /// unscaled attention; multilingual models read a `<2xx>` source prefix.
    T5,
}

/// What t5 has that the BART family has not.
#[derive(Debug, Clone, PartialEq)]
pub struct T5Settings {
    /// Width of one attention head (`d_kv`).
    pub head_dim: usize,
    /// Relative position buckets.
    pub buckets: usize,
    /// Distance beyond which positions share the last bucket.
    pub max_distance: usize,
    /// RMS norm epsilon.
    pub eps: f64,
    /// Gated MLP (`gated-gelu`, t5 v1.1 / mt5 / MADLAD).
    pub gated: bool,
    /// Decoder output multiplied by `d_model^-0.5` before the head (original
    /// t5; not v1.1 / mt5). transformers 5 writes `scale_decoder_outputs`;
    /// older configs say it with `tie_word_embeddings`.
    pub scale_output: bool,
}

/// The MLP activation (`activation_function`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FfnActivation {
    /// `relu` (m2m_100, NLLB).
    Relu,
    /// `swish` / `silu` (marian).
    Silu,
    /// `gelu` (exact, erf).
    Gelu,
    /// tanh-approximated GELU (t5's `gated-gelu`, i.e. `gelu_new`).
    GeluTanh,
}

/// Hyper-parameters of an encoder-decoder model.
#[derive(Debug, Clone, PartialEq)]
pub struct Seq2SeqConfig {
    /// Which arrangement.
    pub family: Family,
    /// Rows of the shared embedding.
    pub vocab_size: usize,
    /// Model width.
    pub d_model: usize,
    /// Encoder layers.
    pub encoder_layers: usize,
    /// Decoder layers.
    pub decoder_layers: usize,
    /// Encoder attention heads.
    pub encoder_heads: usize,
    /// Decoder attention heads.
    pub decoder_heads: usize,
    /// Encoder MLP width.
    pub encoder_ffn: usize,
    /// Decoder MLP width.
    pub decoder_ffn: usize,
    /// MLP activation.
    pub activation: FfnActivation,
    /// Embeddings multiplied by `sqrt(d_model)`.
    pub scale_embedding: bool,
    /// Longest sequence the positions cover.
    pub max_positions: usize,
    /// Padding id.
    pub pad_token_id: u32,
    /// End-of-sequence id.
    pub eos_token_id: u32,
    /// First decoder input.
    pub decoder_start_token_id: u32,
    /// Whether the head is the shared embedding.
    pub tie_word_embeddings: bool,
    /// The t5 specifics (`None` for the BART family).
    pub t5: Option<T5Settings>,
}

impl Seq2SeqConfig {
    /// Reads the hyper-parameters of the model in `dir`.
    pub fn from_config(dir: &Path, config: &ModelConfig) -> Result<Self> {
        let path = dir.join("config.json");
        let raw = config.raw();
        let family = match config.model_type() {
            Some("m2m_100") => Family::M2m100,
            Some("marian") => Family::Marian,
            Some("t5" | "mt5") => return t5_config(&path, raw),
            other => {
                return Err(InferError::UnsupportedArchitecture {
                    path: dir.to_path_buf(),
                    model_type: other.unwrap_or("(none)").to_string(),
                    supported: SUPPORTED_SEQ2SEQ_TYPES.to_vec(),
                })
            }
        };
        let count = |key: &str| -> Result<usize> {
            raw.get(key)
                .and_then(Value::as_u64)
                .map(|v| v as usize)
                .filter(|&v| v > 0)
                .ok_or_else(|| {
                    InferError::model(&path, format!("`{key}` missing or not a positive integer"))
                })
        };
        let id = |key: &str| -> Result<u32> {
            raw.get(key)
                .and_then(Value::as_u64)
                .map(|v| v as u32)
                .ok_or_else(|| {
                    InferError::model(&path, format!("`{key}` missing or not a token id"))
                })
        };
        let flag =
            |key: &str, default: bool| raw.get(key).and_then(Value::as_bool).unwrap_or(default);
        let activation = match raw
            .get("activation_function")
            .and_then(Value::as_str)
            .unwrap_or("relu")
        {
            "relu" => FfnActivation::Relu,
            "swish" | "silu" => FfnActivation::Silu,
            "gelu" => FfnActivation::Gelu,
            other => {
                return Err(InferError::model(
                    &path,
                    format!("activation `{other}` is not supported (relu, swish, gelu)"),
                ))
            }
        };
        if family == Family::Marian && !flag("share_encoder_decoder_embeddings", true) {
            return Err(InferError::model(
                &path,
                "marian models with separate source and target vocabularies are not supported yet",
            ));
        }
        let pad_token_id = id("pad_token_id")?;
        let (d_model, encoder_heads, decoder_heads) = (
            count("d_model")?,
            count("encoder_attention_heads")?,
            count("decoder_attention_heads")?,
        );
        for heads in [encoder_heads, decoder_heads] {
            if d_model % heads != 0 {
                return Err(InferError::model(
                    &path,
                    format!("d_model {d_model} is not divisible by {heads} heads"),
                ));
            }
        }
        Ok(Seq2SeqConfig {
            family,
            vocab_size: count("vocab_size")?,
            d_model,
            encoder_layers: count("encoder_layers")?,
            decoder_layers: count("decoder_layers")?,
            encoder_heads,
            decoder_heads,
            encoder_ffn: count("encoder_ffn_dim")?,
            decoder_ffn: count("decoder_ffn_dim")?,
            activation,
            scale_embedding: flag("scale_embedding", family == Family::Marian),
            max_positions: count("max_position_embeddings")?,
            pad_token_id,
            eos_token_id: id("eos_token_id")?,
            decoder_start_token_id: match raw.get("decoder_start_token_id") {
                Some(Value::Number(n)) => n.as_u64().unwrap_or(pad_token_id as u64) as u32,
                _ => pad_token_id,
            },
            tie_word_embeddings: flag("tie_word_embeddings", true),
            t5: None,
        })
    }
}

/// t5's own `config.json` keys.
fn t5_config(path: &Path, raw: &serde_json::Map<String, Value>) -> Result<Seq2SeqConfig> {
    let number = |key: &str, default: Option<u64>| -> Result<usize> {
        raw.get(key)
            .and_then(Value::as_u64)
            .or(default)
            .map(|v| v as usize)
            .ok_or_else(|| InferError::model(path, format!("`{key}` missing or not an integer")))
    };
    let layers = number("num_layers", None)?;
    let heads = number("num_heads", None)?;
    let (activation, gated) = match raw
        .get("feed_forward_proj")
        .and_then(Value::as_str)
        .unwrap_or("relu")
    {
        "relu" => (FfnActivation::Relu, false),
        "gated-gelu" => (FfnActivation::GeluTanh, true),
        "gated-relu" => (FfnActivation::Relu, true),
        other => {
            return Err(InferError::model(
                path,
                format!("feed_forward_proj `{other}` is not supported"),
            ))
        }
    };
    let pad = number("pad_token_id", Some(0))? as u32;
    let d_ff = number("d_ff", None)?;
    let tie = raw
        .get("tie_word_embeddings")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    Ok(Seq2SeqConfig {
        family: Family::T5,
        vocab_size: number("vocab_size", None)?,
        d_model: number("d_model", None)?,
        encoder_layers: layers,
        decoder_layers: number("num_decoder_layers", Some(layers as u64))?,
        encoder_heads: heads,
        decoder_heads: heads,
        encoder_ffn: d_ff,
        decoder_ffn: d_ff,
        activation,
        scale_embedding: false,
        max_positions: number("n_positions", Some(512))?,
        pad_token_id: pad,
        eos_token_id: number("eos_token_id", Some(1))? as u32,
        decoder_start_token_id: number("decoder_start_token_id", Some(pad as u64))? as u32,
        tie_word_embeddings: tie,
        t5: Some(T5Settings {
            scale_output: raw
                .get("scale_decoder_outputs")
                .and_then(Value::as_bool)
                .unwrap_or(tie),
            head_dim: number("d_kv", None)?,
            buckets: number("relative_attention_num_buckets", Some(32))?,
            max_distance: number("relative_attention_max_distance", Some(128))?,
            eps: raw
                .get("layer_norm_epsilon")
                .and_then(Value::as_f64)
                .unwrap_or(1e-6),
            gated,
        }),
    })
}
