//! What every model folder holds besides its network, read once for every
//! model kind (decoders, encoders, encoder-decoders): `config.json`,
//! `tokenizer_config.json`, `generation_config.json`, the tokenizer (checked
//! against the embedding) and the weights; and text encoded with that
//! tokenizer.

use std::path::Path;

use retarget_model::config::ModelConfig;
use retarget_model::consistency;
use retarget_model::hf_folder::load_tokenizer;
use retarget_model::weights::Weights;
use tokenizers::Tokenizer;

use crate::error::{InferError, Result};

/// What every model folder holds besides its network: the parsed
/// `config.json` and `generation_config.json`, the tokenizer, the weights.
pub(crate) struct FolderParts {
    pub(crate) config: ModelConfig,
    pub(crate) tokenizer_config: Option<ModelConfig>,
    pub(crate) generation: Option<ModelConfig>,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) weights: Weights,
}

impl FolderParts {
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(InferError::model(dir, "no config.json"));
        }
        let config = ModelConfig::read(&config_path)?;
        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.is_file() {
            return Err(InferError::model(dir, "no tokenizer.json"));
        }
        let tokenizer = load_tokenizer(&tokenizer_path)?;
        let tokenizer_config_path = dir.join("tokenizer_config.json");
        let tokenizer_config = if tokenizer_config_path.is_file() {
            Some(ModelConfig::read(&tokenizer_config_path)?)
        } else {
            None
        };
        let generation_path = dir.join("generation_config.json");
        let generation = if generation_path.is_file() {
            Some(ModelConfig::read(&generation_path)?)
        } else {
            None
        };
        let weights = Weights::open_dir(dir)?;
        consistency::check(
            &config_path,
            &config,
            &weights,
            Some((&tokenizer_path, tokenizer.get_vocab_size(true))),
        )?;
        Ok(FolderParts {
            config,
            tokenizer_config,
            generation,
            tokenizer,
            weights,
        })
    }

    /// A setting from `generation_config.json`, else `config.json`.
    pub(crate) fn generation_setting(&self, key: &str) -> Option<&serde_json::Value> {
        self.generation
            .as_ref()
            .and_then(|g| g.raw().get(key))
            .or_else(|| self.config.raw().get(key))
            .filter(|v| !v.is_null())
    }
}

/// Token ids of `text`, with the tokenizer's special tokens or without; a
/// failure is a request error (the text, not the model).
pub(crate) fn encode_text(
    tokenizer: &Tokenizer,
    text: &str,
    special_tokens: bool,
) -> Result<Vec<u32>> {
    let encoding = tokenizer
        .encode(text, special_tokens)
        .map_err(|e| InferError::Request(format!("cannot tokenize: {e}")))?;
    Ok(encoding.get_ids().to_vec())
}
