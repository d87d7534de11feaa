//! Dev-only fixtures: deterministic tiny random models in true Hugging Face
//! layout (`config.json`, `tokenizer.json` trained by the `tokenizers` crate,
//! `model.safetensors`), small enough for tests yet loadable by `transformers`.
//!
//! The same seed always gives byte-identical files.

pub mod broken;
pub mod corpus;
pub mod fasttext;
pub mod gguf;
mod models;
pub mod tokenizers_train;

pub use models::{write_fixture, Fixture};
