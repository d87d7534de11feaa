//! Model formats and I/O for retarget.
//!
//! - [`hf_folder`]: Hugging Face model folders (`config.json`, `tokenizer.json`,
//!   safetensors weights, sharded or not, and the small files beside them).
//! - [`safetensors_file`] / [`weights`]: memory-mapped, validated safetensors.
//! - [`gguf`], [`gguf_convert`], [`gguf_tokenizer`]: GGUF reading and
//!   GGUF → HF conversion.
//! - [`consistency`]: `config.json` against the weights and the tokenizer.
//! - [`text`]: plain-text input, read one way (line by line, sacrebleu's
//!   splitting, Python's whitespace).
//! - [`tensor_roles`]: which tensor is the embedding, the head, a layer.
//! - [`output`]: where retarget writes — atomic output folders and files that
//!   never touch an input, scratch folders, and the cleanup of temporaries.
//! - [`writer`]: the streaming sharded safetensors writer.
//! - [`inspect`] and [`convert`]: the `retarget inspect` / `convert` commands.

pub mod config;
pub mod consistency;
pub mod convert;
pub mod dtype;
pub mod error;
pub mod gguf;
pub mod gguf_convert;
pub mod gguf_export;
pub mod gguf_tokenizer;
pub mod gguf_write;
pub mod hf_folder;
pub mod inspect;
pub mod output;
pub mod progress;
pub mod safetensors_file;
pub mod tensor_roles;
pub mod text;
pub mod weights;
pub mod writer;

pub use error::{ModelError, Result};
