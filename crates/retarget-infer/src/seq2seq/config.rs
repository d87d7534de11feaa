//! Hyper-parameters of a BART-family encoder-decoder translation model
//! (m2m_100 / NLLB, marian) from `config.json`.

use std::path::Path;

use retarget_model::config::ModelConfig;
use retarget_model::tensor_roles::{Architecture, Network};

use crate::config_keys::ConfigKeys;
use crate::error::{InferError, Result};

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
        let keys = ConfigKeys::new(dir.join("config.json"), config.raw());
        let family = match config.model_type() {
            Some("m2m_100") => Family::M2m100,
            Some("marian") => Family::Marian,
            Some("t5" | "mt5") => return t5_config(&keys),
            other => {
                return Err(InferError::UnsupportedArchitecture {
                    path: dir.to_path_buf(),
                    model_type: other.unwrap_or("(none)").to_string(),
                    supported: Architecture::running(Some(Network::Seq2Seq)),
                })
            }
        };
        let activation = match keys.text("activation_function", "relu")? {
            "relu" => FfnActivation::Relu,
            "swish" | "silu" => FfnActivation::Silu,
            "gelu" => FfnActivation::Gelu,
            other => {
                return Err(InferError::model(
                    keys.path(),
                    format!("activation `{other}` is not supported (relu, swish, gelu)"),
                ))
            }
        };
        if family == Family::Marian && !keys.flag("share_encoder_decoder_embeddings", true)? {
            return Err(InferError::model(
                keys.path(),
                "marian models with separate source and target vocabularies are not supported yet",
            ));
        }
        let pad_token_id = keys.id("pad_token_id", None)?;
        let d_model = keys.count("d_model")?;
        let (encoder_heads, decoder_heads) = (
            keys.count("encoder_attention_heads")?,
            keys.count("decoder_attention_heads")?,
        );
        for heads in [encoder_heads, decoder_heads] {
            if d_model % heads != 0 {
                return Err(InferError::model(
                    keys.path(),
                    format!("d_model {d_model} is not divisible by {heads} heads"),
                ));
            }
        }
        Ok(Seq2SeqConfig {
            family,
            vocab_size: keys.count("vocab_size")?,
            d_model,
            encoder_layers: keys.count("encoder_layers")?,
            decoder_layers: keys.count("decoder_layers")?,
            encoder_heads,
            decoder_heads,
            encoder_ffn: keys.count("encoder_ffn_dim")?,
            decoder_ffn: keys.count("decoder_ffn_dim")?,
            activation,
            scale_embedding: keys.flag("scale_embedding", family == Family::Marian)?,
            max_positions: keys.count("max_position_embeddings")?,
            pad_token_id,
            eos_token_id: keys.id("eos_token_id", None)?,
            decoder_start_token_id: keys.id("decoder_start_token_id", Some(pad_token_id))?,
            tie_word_embeddings: keys.flag("tie_word_embeddings", true)?,
            t5: None,
        })
    }
}

/// t5's own `config.json` keys.
fn t5_config(keys: &ConfigKeys) -> Result<Seq2SeqConfig> {
    let layers = keys.count("num_layers")?;
    let heads = keys.count("num_heads")?;
    let (activation, gated) = match keys.text("feed_forward_proj", "relu")? {
        "relu" => (FfnActivation::Relu, false),
        "gated-gelu" => (FfnActivation::GeluTanh, true),
        "gated-relu" => (FfnActivation::Relu, true),
        other => {
            return Err(InferError::model(
                keys.path(),
                format!("feed_forward_proj `{other}` is not supported"),
            ))
        }
    };
    let pad = keys.id("pad_token_id", Some(0))?;
    let d_ff = keys.count("d_ff")?;
    let tie = keys.flag("tie_word_embeddings", true)?;
    Ok(Seq2SeqConfig {
        family: Family::T5,
        vocab_size: keys.count("vocab_size")?,
        d_model: keys.count("d_model")?,
        encoder_layers: layers,
        decoder_layers: keys.optional_count("num_decoder_layers")?.unwrap_or(layers),
        encoder_heads: heads,
        decoder_heads: heads,
        encoder_ffn: d_ff,
        decoder_ffn: d_ff,
        activation,
        scale_embedding: false,
        max_positions: keys.optional_count("n_positions")?.unwrap_or(512),
        pad_token_id: pad,
        eos_token_id: keys.id("eos_token_id", Some(1))?,
        decoder_start_token_id: keys.id("decoder_start_token_id", Some(pad))?,
        tie_word_embeddings: tie,
        t5: Some(T5Settings {
            scale_output: keys.flag("scale_decoder_outputs", tie)?,
            head_dim: keys.count("d_kv")?,
            buckets: keys
                .optional_count("relative_attention_num_buckets")?
                .unwrap_or(32),
            max_distance: keys
                .optional_count("relative_attention_max_distance")?
                .unwrap_or(128),
            eps: keys.number("layer_norm_epsilon", 1e-6)?,
            gated,
        }),
    })
}
