//! Hyper-parameters of a BART-family encoder-decoder translation model
//! (m2m_100 / NLLB, marian) from `config.json`.

use std::path::Path;

use retarget_model::config::ModelConfig;
use serde_json::Value;

use crate::error::{InferError, Result};

/// Encoder-decoder `model_type`s this crate runs.
pub const SUPPORTED_SEQ2SEQ_TYPES: &[&str] = &["m2m_100", "marian"];

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
}

impl Seq2SeqConfig {
    /// Reads the hyper-parameters of the model in `dir`.
    pub fn from_config(dir: &Path, config: &ModelConfig) -> Result<Self> {
        let path = dir.join("config.json");
        let raw = config.raw();
        let family = match config.model_type() {
            Some("m2m_100") => Family::M2m100,
            Some("marian") => Family::Marian,
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
        })
    }
}
