//! Inference for retarget on candle: load llama-family decoders (llama,
//! mistral, qwen2, SmolLM) from Hugging Face folders or GGUF files, score text
//! (negative log-likelihood, perplexity, bits per byte), generate, and look
//! inside with the logit lens.
//!
//! | Module | Holds |
//! |---|---|
//! | [`config`] | hyper-parameters from `config.json`, supported model types |
//! | [`model`] | opening a model folder or GGUF file with its tokenizer |
//! | [`device`] | the CPU or a CUDA GPU (`--device`) |
//! | [`decoder`] | the network on candle-nn, with a key/value cache |
//! | [`encoder`] | bert / roberta / xlm-roberta masked LMs, pseudo-log-likelihood |
//! | [`score`] | per-line NLL, perplexity, bits per byte |
//! | [`generate`] | generation with streaming output |
//! | [`sampling`] | greedy, temperature and top-p token choice |
//! | [`lens`] | the logit lens: every layer decoded, mass per language |
//! | [`probe`] | named sites of the forward pass to read and change states at |
//! | [`token_languages`] | the language of each vocabulary token (cached) |
//! | [`dispatch`] | scoring and translating with any model kind (decoder-only models translate through a prompt) |

pub mod chat;
pub mod config;
mod config_keys;
pub mod decoder;
pub mod device;
pub mod dispatch;
pub mod encoder;
pub mod error;
mod few_rows;
mod finite;
mod folder;
pub mod generate;
pub mod lens;
pub mod model;
pub mod probe;
pub mod sampling;
pub mod score;
pub mod seq2seq;
mod tensors;
pub mod token_languages;
mod translate;

pub use candle_core::Device;
pub use error::{InferError, Result};
pub use model::LanguageModel;
