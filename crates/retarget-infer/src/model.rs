//! Opening a model for inference: an HF folder, or a GGUF file converted on
//! the way (dequantized to f32 by the foundation's converter, the way
//! `transformers` loads GGUF), with its tokenizer.

use std::path::{Path, PathBuf};

use candle_core::Device;

use retarget_model::config::ModelConfig;
use retarget_model::convert::open_or_convert;
use retarget_model::gguf::{candle_message, GgufFile};
use retarget_model::gguf_convert::{check_architecture, layout};
use retarget_model::gguf_tokenizer;
use retarget_model::tensor_roles::{Architecture, Network};
use tokenizers::Tokenizer;

use crate::chat::ChatTemplate;
use crate::config::{token_ids, DecoderConfig};
use crate::decoder::Decoder;
use crate::encoder::MaskedLanguageModel;
use crate::error::{InferError, Result};
use crate::folder::{encode_text, FolderParts};
use crate::seq2seq::TranslationModel;
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
    /// The chat template of `tokenizer_config.json`, if any.
    pub chat_template: Option<ChatTemplate>,
}

/// Any model this crate runs.
pub enum AnyModel {
    /// A decoder-only language model.
    Decoder(LanguageModel),
    /// An encoder-decoder translation model.
    Seq2Seq(TranslationModel),
    /// A masked language model (bert, roberta, xlm-roberta).
    Encoder(MaskedLanguageModel),
}

impl AnyModel {
    /// The decoder-only model this is; another kind of model (opened from
    /// `path`) is refused with a pointer to what runs it.
    pub fn into_decoder(self, path: &Path) -> Result<LanguageModel> {
        match self {
            AnyModel::Decoder(model) => Ok(model),
            AnyModel::Seq2Seq(_) => Err(InferError::model(
                path,
                "an encoder-decoder translation model: use `retarget translate`, or `retarget score --source`",
            )),
            AnyModel::Encoder(_) => Err(InferError::model(
                path,
                "a masked language model: `retarget score` scores text with it (pseudo-log-likelihood)",
            )),
        }
    }
}

/// Opens `path` (an HF folder, or a `.gguf` file converted on the way) as
/// whichever kind of model its `model_type` says, with its weights on
/// `device` (see [`crate::device::parse_device`]).
pub fn open_model(path: &Path, device: &Device) -> Result<AnyModel> {
    if path.is_file() {
        // The weights are in memory once loaded: the conversion goes with `folder`.
        let folder = open_or_convert(path, &std::env::temp_dir(), "retarget-infer")?;
        let mut model = open_folder(folder.path(), device)?;
        match &mut model {
            AnyModel::Decoder(m) => m.path = path.to_path_buf(),
            AnyModel::Seq2Seq(m) => m.path = path.to_path_buf(),
            AnyModel::Encoder(m) => m.path = path.to_path_buf(),
        }
        return Ok(model);
    }
    if !path.is_dir() {
        return Err(InferError::model(path, "no such model folder or GGUF file"));
    }
    open_folder(path, device)
}

fn open_folder(dir: &Path, device: &Device) -> Result<AnyModel> {
    let parts = FolderParts::open(dir)?;
    let model_type = parts.config.model_type().unwrap_or("(none)").to_string();
    match Architecture::network_of(&model_type) {
        Some(Network::Seq2Seq) => {
            return TranslationModel::from_parts(dir, parts, device).map(AnyModel::Seq2Seq)
        }
        Some(Network::Encoder) => {
            return MaskedLanguageModel::from_parts(dir, parts, &model_type, device)
                .map(AnyModel::Encoder)
        }
        Some(Network::Decoder) => {}
        None => {
            return Err(InferError::UnsupportedArchitecture {
                path: dir.to_path_buf(),
                model_type,
                supported: Architecture::running(None),
            })
        }
    }
    let config = DecoderConfig::from_config(dir, &parts.config)?;
    let mut eos_token_ids = config.eos_token_ids.clone();
    for id in token_ids(
        parts
            .generation
            .as_ref()
            .and_then(|g| g.raw().get("eos_token_id")),
    ) {
        if !eos_token_ids.contains(&id) {
            eos_token_ids.push(id);
        }
    }
    let decoder = Decoder::load(config, FolderTensors::var_builder(&parts.weights, device))
        .map_err(|e| InferError::model(dir, candle_message(&e)))?;
    let chat_template = match &parts.tokenizer_config {
        Some(c) => {
            ChatTemplate::from_tokenizer_config(&dir.join("tokenizer_config.json"), c.raw())?
        }
        None => None,
    };
    Ok(AnyModel::Decoder(LanguageModel {
        path: dir.to_path_buf(),
        decoder,
        tokenizer: parts.tokenizer,
        eos_token_ids,
        chat_template,
    }))
}

impl LanguageModel {
    /// Opens a llama GGUF file for quantized inference: the matrices stay in
    /// their GGUF blocks and run through candle's quantized kernels (less
    /// memory; numbers close to, not equal to, the dequantized model's).
    pub fn open_gguf_quantized(path: &Path, device: &Device) -> Result<Self> {
        if !path.is_file() {
            return Err(InferError::model(
                path,
                "quantized inference runs GGUF files; this is not a file",
            ));
        }
        let file = GgufFile::open(path)?;
        check_architecture(&file)?;
        let rebuilt = gguf_tokenizer::rebuild(&file)?;
        let model_config =
            ModelConfig::from_map(layout(&file, rebuilt.vocab_size, "float32")?.config);
        let config = DecoderConfig::from_config(path, &model_config)?;
        let eos_token_ids = config.eos_token_ids.clone();
        let tokenizer: Tokenizer = rebuilt.tokenizer_json.to_string().parse().map_err(|e| {
            InferError::model(path, format!("cannot load the rebuilt tokenizer: {e}"))
        })?;
        let chat_template = match rebuilt.tokenizer_config.as_object() {
            Some(c) => ChatTemplate::from_tokenizer_config(path, c)?,
            None => None,
        };
        let decoder = Decoder::load_gguf(config, &file, device)?;
        Ok(LanguageModel {
            path: path.to_path_buf(),
            decoder,
            tokenizer,
            eos_token_ids,
            chat_template,
        })
    }

    /// Opens `path` (an HF folder or a `.gguf` file) as a decoder-only model;
    /// another kind of model is refused with a pointer to what runs it.
    pub fn open(path: &Path, device: &Device) -> Result<Self> {
        open_model(path, device)?.into_decoder(path)
    }

    /// Token ids of `text` without special tokens.
    pub fn encode_plain(&self, text: &str) -> Result<Vec<u32>> {
        encode_text(&self.tokenizer, text, false)
    }

    /// Token ids of `text` as the tokenizer gives them with its special
    /// tokens (as `transformers`' `tokenizer(text)` does).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        encode_text(&self.tokenizer, text, true)
    }
}
