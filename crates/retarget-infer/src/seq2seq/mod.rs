//! Encoder-decoder translation models (m2m_100 / NLLB, marian, t5 / mt5): configuration,
//! network, beam search, and translation with the target language forced the
//! way each family expects.

pub mod beam;
pub mod config;
pub mod languages;
pub mod model;
pub mod network;
pub mod t5;
pub mod translate;

use std::path::{Path, PathBuf};

use candle_core::Device;

use retarget_model::gguf::candle_message;
use serde_json::Value;
use tokenizers::Tokenizer;

use crate::error::{InferError, Result};
use crate::folder::{encode_text, FolderParts};
use crate::tensors::FolderTensors;
use beam::EarlyStopping;
use config::Seq2SeqConfig;
use languages::LanguageTokens;
use network::Seq2SeqModel;

/// Decoding settings from `generation_config.json` (else `config.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationDefaults {
    /// `num_beams` (1 when absent).
    pub num_beams: usize,
    /// `max_length`: decoder start + generated tokens (200 when absent).
    pub max_length: usize,
    /// `length_penalty` (1.0 when absent).
    pub length_penalty: f64,
    /// `early_stopping` (false when absent).
    pub early_stopping: EarlyStopping,
    /// Single-token `bad_words_ids` (marian bans its padding token).
    pub banned_tokens: Vec<u32>,
    /// `forced_eos_token_id`, forced at the last allowed position.
    pub forced_eos_token_id: Option<u32>,
}

/// An encoder-decoder model with its tokenizer.
pub struct TranslationModel {
    /// The model path given by the user.
    pub path: PathBuf,
    /// The network.
    pub model: Seq2SeqModel,
    /// `tokenizer.json`.
    pub tokenizer: Tokenizer,
    /// Decoding settings the model ships with.
    pub defaults: GenerationDefaults,
    /// The language tokens of the vocabulary.
    pub languages: LanguageTokens,
}

impl TranslationModel {
    pub(crate) fn from_parts(dir: &Path, parts: FolderParts, device: &Device) -> Result<Self> {
        let config = Seq2SeqConfig::from_config(dir, &parts.config)?;
        let setting = |key: &str| parts.generation_setting(key);
        let defaults = GenerationDefaults {
            num_beams: setting("num_beams")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1) as usize,
            max_length: setting("max_length").and_then(Value::as_u64).unwrap_or(200) as usize,
            length_penalty: setting("length_penalty")
                .and_then(Value::as_f64)
                .unwrap_or(1.0),
            early_stopping: match setting("early_stopping") {
                Some(Value::Bool(true)) => EarlyStopping::Yes,
                Some(Value::String(s)) if s == "never" => EarlyStopping::Never,
                _ => EarlyStopping::No,
            },
            banned_tokens: setting("bad_words_ids")
                .and_then(Value::as_array)
                .map(|lists| {
                    lists
                        .iter()
                        .filter_map(Value::as_array)
                        .filter(|l| l.len() == 1)
                        .filter_map(|l| l[0].as_u64())
                        .map(|v| v as u32)
                        .collect()
                })
                .unwrap_or_default(),
            forced_eos_token_id: setting("forced_eos_token_id")
                .and_then(Value::as_u64)
                .map(|v| v as u32),
        };
        let languages = LanguageTokens::find(&parts.tokenizer, config.family);
        let model = Seq2SeqModel::load(config, FolderTensors::var_builder(&parts.weights, device))
            .map_err(|e| InferError::model(dir, candle_message(&e)))?;
        Ok(TranslationModel {
            path: dir.to_path_buf(),
            model,
            tokenizer: parts.tokenizer,
            defaults,
            languages,
        })
    }

    /// Token ids of `text` without special tokens.
    pub(crate) fn encode_plain(&self, text: &str) -> Result<Vec<u32>> {
        encode_text(&self.tokenizer, text, false)
    }
}
