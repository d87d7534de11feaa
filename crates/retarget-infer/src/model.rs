//! Opening a model for inference: an HF folder, or a GGUF file converted on
//! the way (dequantized to f32 by the foundation's converter, the way
//! `transformers` loads GGUF), with its tokenizer.

use std::path::{Path, PathBuf};

use retarget_model::config::ModelConfig;
use retarget_model::convert::{convert, ConvertOptions};
use retarget_model::gguf::candle_message;
use retarget_model::progress::bytes_bar;
use retarget_model::weights::Weights;
use retarget_model::ModelError;
use tokenizers::Tokenizer;

use crate::config::{token_ids, DecoderConfig};
use crate::decoder::Decoder;
use crate::error::{InferError, Result};
use crate::tensors::FolderTensors;

/// A decoder with its tokenizer.
pub struct LanguageModel {
    /// The model path given by the user.
    pub path: PathBuf,
    /// The network.
    pub decoder: Decoder,
    /// `tokenizer.json`.
    pub tokenizer: Tokenizer,
    /// Token ids that end generation (`config.json` and
    /// `generation_config.json` together).
    pub eos_token_ids: Vec<u32>,
}

impl LanguageModel {
    /// Opens `path`: an HF folder, or a `.gguf` file.
    pub fn open(path: &Path) -> Result<Self> {
        if path.is_file() {
            let scratch = tempfile::Builder::new()
                .prefix("retarget-infer-")
                .tempdir()
                .map_err(|e| ModelError::io(std::env::temp_dir(), e))?;
            let converted = scratch.path().join("model");
            convert(path, &converted, &ConvertOptions::default(), &|total| {
                bytes_bar(total, "converting GGUF")
            })?;
            let mut model = Self::open_folder(&converted)?;
            model.path = path.to_path_buf();
            return Ok(model);
        }
        if !path.is_dir() {
            return Err(InferError::model(path, "no such model folder or GGUF file"));
        }
        Self::open_folder(path)
    }

    fn open_folder(dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(InferError::model(dir, "no config.json"));
        }
        let model_config = ModelConfig::read(&config_path)?;
        let config = DecoderConfig::from_config(dir, &model_config)?;
        let tokenizer_path = dir.join("tokenizer.json");
        if !tokenizer_path.is_file() {
            return Err(InferError::model(dir, "no tokenizer.json"));
        }
        let tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| {
            InferError::model(&tokenizer_path, format!("cannot load tokenizer: {e}"))
        })?;
        let mut eos_token_ids = config.eos_token_ids.clone();
        let generation_path = dir.join("generation_config.json");
        if generation_path.is_file() {
            let generation = ModelConfig::read(&generation_path)?;
            for id in token_ids(generation.raw().get("eos_token_id")) {
                if !eos_token_ids.contains(&id) {
                    eos_token_ids.push(id);
                }
            }
        }
        let weights = Weights::open_dir(dir)?;
        let decoder = Decoder::load(config, FolderTensors::var_builder(&weights))
            .map_err(|e| InferError::model(dir, candle_message(&e)))?;
        Ok(LanguageModel {
            path: dir.to_path_buf(),
            decoder,
            tokenizer,
            eos_token_ids,
        })
    }

    /// Token ids of `text` as the tokenizer gives them with its special
    /// tokens (as `transformers`' `tokenizer(text)` does).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| InferError::Request(format!("cannot tokenize: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }
}
