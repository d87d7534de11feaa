//! Rebuilding a `tokenizer.json` (and the matching `tokenizer_config.json`
//! fields) from the tokenizer metadata llama.cpp stores in a GGUF file, so
//! that it tokenizes as `transformers`' own GGUF loading does.
//!
//! The JSON is assembled directly in the `tokenizers` serialization format and
//! then loaded with the `tokenizers` crate to prove it is valid. Two kinds of
//! vocabulary: byte-level BPE ([`byte_level`], `tokenizer.ggml.model = gpt2`)
//! and SentencePiece-style ones ([`sentencepiece`], `llama`: llama-2-style
//! and Gemma's).

pub mod byte_level;
pub mod sentencepiece;

use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use serde_json::{json, Map, Value as Json};

use crate::error::{ModelError, Result};
use crate::gguf::{value_u64, GgufFile};

pub use byte_level::byte_alphabet;

/// llama.cpp's token type for ordinary tokens.
const TOKEN_TYPE_NORMAL: u64 = 1;
/// llama.cpp's token type for control (special) tokens.
const TOKEN_TYPE_CONTROL: u64 = 3;
/// llama.cpp's token type for user-defined added tokens.
const TOKEN_TYPE_USER_DEFINED: u64 = 4;

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

/// Rebuilds the tokenizer described by `file`'s metadata.
pub fn rebuild(file: &GgufFile) -> Result<GgufTokenizer> {
    let model = file.meta_str("tokenizer.ggml.model").unwrap_or("");
    let arch = file.architecture().unwrap_or("");
    match model {
        "gpt2" => byte_level::rebuild(file),
        "llama" if !sentencepiece::UNSUPPORTED.contains(&arch) => {
            sentencepiece::rebuild(file, sentencepiece::Flavour::of(arch))
        }
        _ => Err(ModelError::unsupported(
            file.path(),
            format!(
                "GGUF tokenizer model `{model}` (architecture `{arch}`); retarget rebuilds byte-level BPE (`gpt2`) tokenizers and SentencePiece-style (`llama`) ones, except those of {}",
                sentencepiece::UNSUPPORTED.join(", ")
            ),
        )),
    }
}

/// `<0xAB>`: a SentencePiece byte-fallback piece.
pub fn is_byte_piece(token: &str) -> bool {
    token.len() == 6
        && token.starts_with("<0x")
        && token.ends_with('>')
        && token[3..5].chars().all(|c| c.is_ascii_hexdigit())
}

/// A metadata array of strings.
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

/// Each token's llama.cpp type (all normal when the file has none); a list
/// of another length than the vocabulary is refused.
fn token_types(file: &GgufFile, tokens: usize) -> Result<Vec<u64>> {
    let Some(values) = file.meta_array("tokenizer.ggml.token_type") else {
        return Ok(vec![TOKEN_TYPE_NORMAL; tokens]);
    };
    if values.len() != tokens {
        return Err(ModelError::invalid(
            file.path(),
            format!(
                "inconsistent tokenizer metadata: {} token types for {tokens} tokens",
                values.len()
            ),
        ));
    }
    Ok(values
        .iter()
        .map(|v| value_u64(v).unwrap_or(TOKEN_TYPE_NORMAL))
        .collect())
}

/// Token → id; a token listed twice is refused.
fn vocabulary(path: &Path, tokens: &[String]) -> Result<Map<String, Json>> {
    let mut vocab = Map::new();
    for (id, token) in tokens.iter().enumerate() {
        if vocab.insert(token.clone(), json!(id)).is_some() {
            return Err(ModelError::invalid(
                path,
                format!("token `{token}` appears twice in the vocabulary"),
            ));
        }
    }
    Ok(vocab)
}

/// The added tokens: control tokens and the tokens the metadata names as
/// BOS, EOS, unknown or padding as special (`transformers` adds those it is
/// given as special tokens, whatever their llama.cpp type), user-defined ones
/// (those `keep_user_defined(id)` accepts) as plain added tokens, matched
/// whole.
fn added_tokens(
    file: &GgufFile,
    tokens: &[String],
    types: &[u64],
    keep_user_defined: impl Fn(usize) -> bool,
) -> Vec<Json> {
    let named: Vec<u64> = NAMED_SPECIALS
        .iter()
        .filter_map(|(_, key)| file.meta_u64(key))
        .collect();
    let mut added = Vec::new();
    for (id, (token, kind)) in tokens.iter().zip(types).enumerate() {
        let special = *kind == TOKEN_TYPE_CONTROL || named.contains(&(id as u64));
        if special || (*kind == TOKEN_TYPE_USER_DEFINED && keep_user_defined(id)) {
            added.push(json!({
                "id": id, "content": token, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": special,
            }));
        }
    }
    added
}

/// The special tokens a GGUF names by id: configuration name, metadata key.
const NAMED_SPECIALS: [(&str, &str); 4] = [
    ("bos_token", "tokenizer.ggml.bos_token_id"),
    ("eos_token", "tokenizer.ggml.eos_token_id"),
    ("unk_token", "tokenizer.ggml.unknown_token_id"),
    ("pad_token", "tokenizer.ggml.padding_token_id"),
];

/// The token the metadata key names by id.
fn token_at<'t>(file: &GgufFile, tokens: &'t [String], key: &str) -> Option<&'t String> {
    file.meta_u64(key).and_then(|id| tokens.get(id as usize))
}

/// Whether BOS starts every sequence: the file's flag, or, where a file has
/// none, yes for SentencePiece-style vocabularies (llama.cpp adds it to
/// those, and `transformers` follows) and no for the others.
fn adds_bos(file: &GgufFile) -> bool {
    file.meta_bool("tokenizer.ggml.add_bos_token")
        .unwrap_or(file.meta_str("tokenizer.ggml.model") == Some("llama"))
}

/// Whether EOS ends every sequence (the file's flag; no without one).
fn adds_eos(file: &GgufFile) -> bool {
    file.meta_bool("tokenizer.ggml.add_eos_token")
        .unwrap_or(false)
}

/// BOS/EOS added around every sequence as `tokenizer.ggml.add_bos_token` /
/// `add_eos_token` say (`None` when neither is added).
fn post_processor(file: &GgufFile, tokens: &[String]) -> Option<Json> {
    let (add_bos, add_eos) = (adds_bos(file), adds_eos(file));
    let id_of = |key: &str| {
        file.meta_u64(key)
            .filter(|&id| (id as usize) < tokens.len())
    };
    let bos = id_of("tokenizer.ggml.bos_token_id").filter(|_| add_bos);
    let eos = id_of("tokenizer.ggml.eos_token_id").filter(|_| add_eos);
    if bos.is_none() && eos.is_none() {
        return None;
    }
    let special = |id: u64, type_id: u32| json!({"SpecialToken": {"id": tokens[id as usize], "type_id": type_id}});
    let sequence = |name: &str, type_id: u32| {
        let mut parts: Vec<Json> = bos.map(|id| special(id, type_id)).into_iter().collect();
        parts.push(json!({"Sequence": {"id": name, "type_id": type_id}}));
        parts.extend(eos.map(|id| special(id, type_id)));
        parts
    };
    let single = sequence("A", 0);
    let mut pair = single.clone();
    pair.extend(sequence("B", 1));
    let mut special_tokens = Map::new();
    for id in bos.into_iter().chain(eos) {
        let token = &tokens[id as usize];
        special_tokens.insert(
            token.clone(),
            json!({"id": token, "ids": [id], "tokens": [token]}),
        );
    }
    Some(
        json!({"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special_tokens}),
    )
}

/// Checks that `tokenizer_json` loads, and writes the config files around it.
fn finish(file: &GgufFile, tokenizer_json: Json, tokens: &[String]) -> Result<GgufTokenizer> {
    let path = file.path();
    let text = serde_json::to_string(&tokenizer_json).expect("JSON serialises");
    tokenizers::Tokenizer::from_bytes(text.as_bytes()).map_err(|e| {
        ModelError::invalid(
            path,
            format!("the tokenizer rebuilt from GGUF metadata does not load: {e}"),
        )
    })?;
    let mut special_map = Map::new();
    let mut config = Map::new();
    config.insert("add_bos_token".into(), json!(adds_bos(file)));
    config.insert("add_eos_token".into(), json!(adds_eos(file)));
    for (name, key) in NAMED_SPECIALS {
        if let Some(token) = token_at(file, tokens, key) {
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
