//! `config.json`: a typed view of the keys retarget needs, over the raw JSON
//! object, so every other key is kept (in order) when the file is written back.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{ModelError, Result};

/// A model's `config.json`.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    raw: Map<String, Value>,
}

/// Alternative key names used by different architectures for the same field.
const HIDDEN_KEYS: &[&str] = &["hidden_size", "d_model", "n_embd", "dim"];
const LAYER_KEYS: &[&str] = &[
    "num_hidden_layers",
    "num_layers",
    "n_layer",
    "encoder_layers",
];
const DTYPE_KEYS: &[&str] = &["torch_dtype", "dtype"];

impl ModelConfig {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses config text; `path` is used in error messages.
    pub fn parse(path: &Path, text: &[u8]) -> Result<Self> {
        let value: Value = serde_json::from_slice(text)
            .map_err(|e| ModelError::invalid(path, format!("malformed JSON: {e}")))?;
        match value {
            Value::Object(raw) => Ok(ModelConfig { raw }),
            _ => Err(ModelError::invalid(path, "config is not a JSON object")),
        }
    }

    /// Builds a config from a JSON object (used when converting GGUF).
    pub fn from_map(raw: Map<String, Value>) -> Self {
        ModelConfig { raw }
    }

    /// The raw JSON object.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// Sets (or replaces) a key, keeping its position if it existed.
    pub fn set(&mut self, key: &str, value: Value) {
        self.raw.insert(key.to_string(), value);
    }

    /// Looks a key up at the top level, then in `text_config` (multimodal
    /// wrappers such as Gemma 3 keep the language model's fields there).
    fn lookup(&self, key: &str) -> Option<&Value> {
        self.raw.get(key).or_else(|| {
            self.raw
                .get("text_config")
                .and_then(Value::as_object)
                .and_then(|t| t.get(key))
        })
    }

    fn first_usize(&self, keys: &[&str]) -> Option<usize> {
        keys.iter()
            .find_map(|k| self.lookup(k).and_then(Value::as_u64))
            .map(|v| v as usize)
    }

    /// `model_type`, e.g. `llama`, `bert`, `t5`.
    pub fn model_type(&self) -> Option<&str> {
        self.raw.get("model_type").and_then(Value::as_str)
    }

    /// `architectures`, e.g. `["LlamaForCausalLM"]`.
    pub fn architectures(&self) -> Vec<String> {
        self.raw
            .get("architectures")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `vocab_size`.
    pub fn vocab_size(&self) -> Option<usize> {
        self.first_usize(&["vocab_size"])
    }

    /// Width of the hidden states (`hidden_size`, `d_model`, `n_embd`).
    pub fn hidden_size(&self) -> Option<usize> {
        self.first_usize(HIDDEN_KEYS)
    }

    /// Number of layers (of the encoder, for encoder-decoder models).
    pub fn num_hidden_layers(&self) -> Option<usize> {
        self.first_usize(LAYER_KEYS)
    }

    /// `tie_word_embeddings` as written, if written.
    pub fn tie_word_embeddings(&self) -> Option<bool> {
        self.lookup("tie_word_embeddings").and_then(Value::as_bool)
    }

    /// The declared weight dtype (`torch_dtype` or, in newer files, `dtype`).
    pub fn dtype(&self) -> Option<&str> {
        DTYPE_KEYS
            .iter()
            .find_map(|k| self.raw.get(*k).and_then(Value::as_str))
    }

    /// Records a new weight dtype in whichever dtype key(s) the file uses,
    /// adding `torch_dtype` if it has none.
    pub fn set_dtype(&mut self, name: &str) {
        let mut found = false;
        for key in DTYPE_KEYS {
            if let Some(v) = self.raw.get_mut(*key) {
                *v = Value::String(name.to_string());
                found = true;
            }
        }
        if !found {
            self.set("torch_dtype", Value::String(name.to_string()));
        }
    }

    /// Serialises as `transformers` does: pretty JSON, two-space indent,
    /// trailing newline.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.raw).expect("a JSON map serialises");
        out.push(b'\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_fields_and_keeps_unknown_keys_in_order() {
        let text = br#"{"zeta": {"nested": [1, 2]}, "model_type": "t5", "d_model": 64,
            "num_layers": 2, "vocab_size": 100, "tie_word_embeddings": false, "alpha": 1e-06}"#;
        let mut cfg = ModelConfig::parse(Path::new("config.json"), text).unwrap();
        assert_eq!(cfg.model_type(), Some("t5"));
        assert_eq!(cfg.hidden_size(), Some(64));
        assert_eq!(cfg.num_hidden_layers(), Some(2));
        assert_eq!(cfg.vocab_size(), Some(100));
        assert_eq!(cfg.tie_word_embeddings(), Some(false));
        cfg.set_dtype("bfloat16");
        let back: Value = serde_json::from_slice(&cfg.to_json_bytes()).unwrap();
        let keys: Vec<_> = back.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "zeta",
                "model_type",
                "d_model",
                "num_layers",
                "vocab_size",
                "tie_word_embeddings",
                "alpha",
                "torch_dtype"
            ]
        );
        assert_eq!(back["zeta"]["nested"][1], 2);
        assert_eq!(back["alpha"].as_f64(), Some(1e-6));
    }

    #[test]
    fn malformed_json_names_the_file() {
        let err = ModelConfig::parse(Path::new("/m/config.json"), b"{\"a\": ").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("/m/config.json") && msg.contains("malformed JSON"),
            "{msg}"
        );
    }
}
