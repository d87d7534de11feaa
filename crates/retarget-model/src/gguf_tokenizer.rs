//! Rebuilding a `tokenizer.json` (and the matching `tokenizer_config.json`
//! fields) from the tokenizer metadata llama.cpp stores in a GGUF file.
//!
//! The JSON is assembled directly in the `tokenizers` serialization format and
//! then loaded with the `tokenizers` crate to prove it is valid. Byte-level BPE
//! vocabularies (`tokenizer.ggml.model = gpt2`, used by SmolLM, Llama 3, Qwen,
//! GPT-2 and most recent models) are supported; the pre-tokenizer follows
//! llama.cpp's `tokenizer.ggml.pre` so that text splits as the model was
//! trained.

use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use serde_json::{json, Map, Value as Json};

use crate::error::{ModelError, Result};
use crate::gguf::{value_u64, GgufFile};

/// llama.cpp's token type for control (special) tokens.
const TOKEN_TYPE_CONTROL: u64 = 3;
/// llama.cpp's token type for user-defined added tokens.
const TOKEN_TYPE_USER_DEFINED: u64 = 4;

const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// `tokenizer.ggml.pre` values understood, for error messages.
const KNOWN_PRE: &str =
    "default, gpt-2, smollm, llama3, llama-v3, llama-bpe, smaug-bpe, qwen2, deepseek-r1-qwen";

/// A tokenizer rebuilt from GGUF metadata.
#[derive(Debug, Clone)]
pub struct GgufTokenizer {
    /// The `tokenizer.json` document.
    pub tokenizer_json: Json,
    /// The `tokenizer_config.json` document.
    pub tokenizer_config: Json,
    /// `special_tokens_map.json`.
    pub special_tokens_map: Json,
    /// Number of tokens (vocabulary rows).
    pub vocab_size: usize,
}

/// GPT-2's reversible byte → printable character map, which byte-level BPE
/// vocabularies are written in (the bytes that print as themselves keep their
/// code point; the rest take 256, 257, … in byte order). Written out here
/// because the `tokenizers` crate keeps its copy private.
pub fn byte_alphabet() -> [char; 256] {
    let mut out = ['\0'; 256];
    let mut extra = 0u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        out[b as usize] = if printable {
            char::from(b)
        } else {
            extra += 1;
            char::from_u32(255 + extra).expect("valid code point")
        };
    }
    out
}

fn strings(file: &GgufFile, key: &str) -> Result<Vec<String>> {
    let values = file
        .meta_array(key)
        .ok_or_else(|| ModelError::invalid(file.path(), format!("GGUF metadata lacks `{key}`")))?;
    values
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(ModelError::invalid(
                file.path(),
                format!("`{key}` holds a non-string"),
            )),
        })
        .collect()
}

fn pre_tokenizer(path: &Path, pre: &str) -> Result<Json> {
    let byte_level = |use_regex: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex});
    let split = |regex: &str| {
        json!({"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false},
            byte_level(false),
        ]})
    };
    Ok(match pre {
        "default" | "gpt-2" | "gpt2" => byte_level(true),
        "smollm" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            byte_level(true),
        ]}),
        "llama3" | "llama-v3" | "llama-bpe" | "smaug-bpe" => split(LLAMA3_SPLIT),
        "qwen2" | "deepseek-r1-qwen" => split(QWEN2_SPLIT),
        other => {
            return Err(ModelError::unsupported(
                path,
                format!("GGUF pre-tokenizer `{other}`; retarget knows {KNOWN_PRE}"),
            ))
        }
    })
}

/// Rebuilds the tokenizer described by `file`'s metadata.
pub fn rebuild(file: &GgufFile) -> Result<GgufTokenizer> {
    let path = file.path();
    let model = file.meta_str("tokenizer.ggml.model").unwrap_or("");
    if model != "gpt2" {
        return Err(ModelError::unsupported(
            path,
            format!("GGUF tokenizer model `{model}`; retarget rebuilds byte-level BPE (`gpt2`) tokenizers"),
        ));
    }
    let alphabet = byte_alphabet();
    let in_alphabet = |t: &str| t.chars().all(|c| alphabet.contains(&c));
    let respell = |t: &str| -> String { t.bytes().map(|b| alphabet[b as usize]).collect() };
    let raw_tokens = strings(file, "tokenizer.ggml.tokens")?;
    let tokens: Vec<String> = raw_tokens
        .iter()
        .map(|t| {
            if in_alphabet(t) {
                t.clone()
            } else {
                respell(t)
            }
        })
        .collect();
    let token_types: Vec<u64> = file
        .meta_array("tokenizer.ggml.token_type")
        .map(|a| a.iter().map(|v| value_u64(v).unwrap_or(1)).collect())
        .unwrap_or_default();
    let merges: Vec<Json> = strings(file, "tokenizer.ggml.merges")?
        .iter()
        .map(|m| {
            let (l, r) = m.split_once(' ').ok_or_else(|| {
                ModelError::invalid(
                    path,
                    format!("merge `{m}` is not two tokens separated by a space"),
                )
            })?;
            Ok(json!([l, r]))
        })
        .collect::<Result<_>>()?;
    let mut vocab = Map::new();
    for (id, token) in tokens.iter().enumerate() {
        if vocab.insert(token.clone(), json!(id)).is_some() {
            return Err(ModelError::invalid(
                path,
                format!("token `{token}` appears twice in the vocabulary"),
            ));
        }
    }
    let mut added = Vec::new();
    for (id, (token, kind)) in tokens.iter().zip(&token_types).enumerate() {
        let special = *kind == TOKEN_TYPE_CONTROL;
        if special || *kind == TOKEN_TYPE_USER_DEFINED {
            added.push(json!({
                "id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": special,
            }));
        }
    }
    let token_at = |key: &str| {
        file.meta_u64(key)
            .and_then(|id| tokens.get(id as usize))
            .cloned()
    };
    let bos = token_at("tokenizer.ggml.bos_token_id");
    let eos = token_at("tokenizer.ggml.eos_token_id");
    let unk = token_at("tokenizer.ggml.unknown_token_id");
    let pad = token_at("tokenizer.ggml.padding_token_id");
    let add_bos = file
        .meta_bool("tokenizer.ggml.add_bos_token")
        .unwrap_or(false);
    let add_eos = file
        .meta_bool("tokenizer.ggml.add_eos_token")
        .unwrap_or(false);
    let pre = file.meta_str("tokenizer.ggml.pre").unwrap_or("default");

    let post_processor = match (&bos, add_bos || add_eos) {
        (Some(bos_token), true) => {
            let bos_id = vocab[bos_token].clone();
            let mut single = Vec::new();
            let mut special_tokens = Map::new();
            if add_bos {
                single.push(json!({"SpecialToken": {"id": bos_token, "type_id": 0}}));
                special_tokens.insert(
                    bos_token.clone(),
                    json!({"id": bos_token, "ids": [bos_id], "tokens": [bos_token]}),
                );
            }
            single.push(json!({"Sequence": {"id": "A", "type_id": 0}}));
            if let (true, Some(eos_token)) = (add_eos, &eos) {
                single.push(json!({"SpecialToken": {"id": eos_token, "type_id": 0}}));
                special_tokens.insert(eos_token.clone(), json!({"id": eos_token, "ids": [vocab[eos_token].clone()], "tokens": [eos_token]}));
            }
            let mut pair = single.clone();
            pair.extend(single.iter().map(|p| {
                let mut p = p.clone();
                if let Some(seq) = p.get_mut("Sequence") {
                    seq["id"] = json!("B");
                    seq["type_id"] = json!(1);
                }
                p
            }));
            json!({"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special_tokens})
        }
        _ => {
            json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true})
        }
    };

    let tokenizer_json = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer(path, pre)?,
        "post_processor": post_processor,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": false, "vocab": vocab, "merges": merges,
        },
    });
    let text = serde_json::to_string(&tokenizer_json).expect("JSON serialises");
    tokenizers::Tokenizer::from_bytes(text.as_bytes()).map_err(|e| {
        ModelError::invalid(
            path,
            format!("the tokenizer rebuilt from GGUF metadata does not load: {e}"),
        )
    })?;

    let mut special_map = Map::new();
    let mut config = Map::new();
    config.insert("add_bos_token".into(), json!(add_bos));
    config.insert("add_eos_token".into(), json!(add_eos));
    for (name, token) in [
        ("bos_token", &bos),
        ("eos_token", &eos),
        ("unk_token", &unk),
        ("pad_token", &pad),
    ] {
        if let Some(token) = token {
            config.insert(name.into(), json!(token));
            special_map.insert(name.into(), json!(token));
        }
    }
    config.insert("clean_up_tokenization_spaces".into(), json!(false));
    if let Some(template) = file.meta_str("tokenizer.chat_template") {
        config.insert("chat_template".into(), json!(template));
    }
    if let Some(ctx) = file
        .architecture()
        .and_then(|a| file.meta_u64(&format!("{a}.context_length")))
    {
        config.insert("model_max_length".into(), json!(ctx));
    }
    config.insert("tokenizer_class".into(), json!("PreTrainedTokenizerFast"));
    Ok(GgufTokenizer {
        tokenizer_json,
        tokenizer_config: Json::Object(config),
        special_tokens_map: Json::Object(special_map),
        vocab_size: tokens.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_alphabet_matches_gpt2() {
        let a = byte_alphabet();
        assert_eq!(a[b'A' as usize], 'A');
        assert_eq!(a[b' ' as usize], 'Ġ');
        assert_eq!(a[b'\n' as usize], 'Ċ');
        assert_eq!(a[0], 'Ā');
        let mut unique = a.to_vec();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 256);
    }
}
