//! Inference for retarget on candle: load llama-family decoders (llama,
//! mistral, qwen2, SmolLM) from Hugging Face folders or GGUF files, score text
//! (negative log-likelihood, perplexity, bits per byte) and generate.
//!
//! | Module | Holds |
//! |---|---|
//! | [`config`] | hyper-parameters from `config.json`, supported model types |
//! | [`model`] | opening a model folder or GGUF file with its tokenizer |
//! | [`decoder`] | the network on candle-nn, with a key/value cache |
//! | [`score`] | per-line NLL, perplexity, bits per byte |
//! | [`generate`] | generation with streaming output |
//! | [`sampling`] | greedy, temperature and top-p token choice |

pub mod config;
pub mod decoder;
pub mod error;
pub mod generate;
pub mod model;
pub mod sampling;
pub mod score;
mod tensors;

pub use error::{InferError, Result};
pub use model::LanguageModel;
