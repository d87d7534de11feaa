//! An HF folder's tokenizer as llama.cpp's `tokenizer.ggml.*` metadata.
//! Byte-level BPE (`gpt2`) as `convert_hf_to_gguf.py` writes it
//! (`get_vocab_base`, `SpecialVocab`): every id up to the embedding's rows
//! (ids the tokenizer lacks as `[PADn]`, unused), special added tokens as
//! control tokens, other added tokens as user-defined, the rest normal
//! (tokens `vocab expand` added included, with their merges); the merges;
//! the pre-tokenizer's llama.cpp name. Gemma's SentencePiece vocabulary
//! (`llama`) as its original GGUF holds it: pieces (several-space pieces
//! user-defined, spelled with spaces), byte pieces, scores ranking the
//! normal pieces in merge order, no merges. Both: BOS/EOS/UNK/PAD ids,
//! whether BOS and EOS are added, and the chat template.

use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::error::{ModelError, Result};
use crate::gguf_tokenizer::byte_level::{pre_tokenizer, EXPORTED_PRE};
use crate::gguf_tokenizer::is_byte_piece;
use crate::gguf_write::MetaValue;

const NORMAL: i32 = 1;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const UNUSED: i32 = 5;
const BYTE: i32 = 6;

fn read_json(path: &Path) -> Result<Option<Json>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| ModelError::invalid(path, format!("not JSON: {e}")))
}

/// `j` without `trim_offsets` keys (they change offsets, not tokens).
fn without_offsets(j: &Json) -> Json {
    match j {
        Json::Object(m) => Json::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "trim_offsets")
                .map(|(k, v)| (k.clone(), without_offsets(v)))
                .collect(),
        ),
        Json::Array(a) => Json::Array(a.iter().map(without_offsets).collect()),
        other => other.clone(),
    }
}

/// Whether `tokenizer` is a Gemma-style SentencePiece vocabulary as
/// `tokenizers` spells it: a byte-fallback BPE whose normalizer turns spaces
/// into `▁` (exported as llama.cpp's `llama` vocabulary: pieces, scores,
/// types, no merges).
fn is_gemma_sentencepiece(tokenizer: &Json) -> bool {
    let replaces_spaces =
        |n: &Json| n["type"] == "Replace" && n["pattern"]["String"] == " " && n["content"] == "▁";
    tokenizer["model"]["byte_fallback"] == true && replaces_spaces(&tokenizer["normalizer"])
}

/// SentencePiece scores: control and user-defined pieces -1000, bytes 0,
/// normal pieces `-(their rank among normal pieces)` — so earlier pieces
/// merge first, the order transformers' Gemma tokenizer merges in (and the
/// order of Gemma's own scores).
fn scores(types: &[i32]) -> Vec<f32> {
    let mut rank = 0f32;
    types
        .iter()
        .map(|&t| match t {
            NORMAL => {
                let score = -rank;
                rank += 1.0;
                score
            }
            BYTE => 0.0,
            _ => -1000.0,
        })
        .collect()
}

/// A special token's text in `tokenizer_config.json`: a string or
/// `{"content": …}`.
fn token_text(value: Option<&Json>) -> Option<&str> {
    match value? {
        Json::String(s) => Some(s),
        Json::Object(m) => m.get("content")?.as_str(),
        _ => None,
    }
}

/// The `tokenizer.ggml.*` metadata (and `tokenizer.chat_template`) of the
/// tokenizer in `dir`, for an embedding of `rows` rows; a tokenizer GGUF
/// cannot express is refused, naming the file and what it is.
pub(super) fn metadata(dir: &Path, rows: usize) -> Result<Vec<(String, MetaValue)>> {
    let path = dir.join("tokenizer.json");
    let tokenizer = read_json(&path)?
        .ok_or_else(|| ModelError::invalid(dir, "no tokenizer.json: GGUF needs the vocabulary"))?;
    let cannot = |what: String| {
        ModelError::unsupported(
            &path,
            format!("{what}: GGUF export writes byte-level BPE vocabularies (tokenizer.ggml.model = gpt2) and Gemma's SentencePiece ones (llama)"),
        )
    };
    let model = &tokenizer["model"];
    if model["type"] != "BPE" {
        return Err(cannot(format!(
            "a `{}` tokenizer model",
            model["type"].as_str().unwrap_or("?")
        )));
    }
    let sentencepiece = is_gemma_sentencepiece(&tokenizer);
    if !sentencepiece && !tokenizer["normalizer"].is_null() {
        return Err(cannot("a tokenizer with a normalizer".into()));
    }
    let pre = without_offsets(&tokenizer["pre_tokenizer"]);
    let pre_name = if sentencepiece {
        "default"
    } else {
        EXPORTED_PRE
            .iter()
            .find(|name| pre_tokenizer(&path, name).is_ok_and(|j| without_offsets(&j) == pre))
            .ok_or_else(|| {
                cannot(format!(
                    "a pre-tokenizer llama.cpp has no name for among those retarget writes ({})",
                    EXPORTED_PRE.join(", ")
                ))
            })?
    };
    let vocab = model["vocab"]
        .as_object()
        .ok_or_else(|| ModelError::invalid(&path, "model.vocab is not an object"))?;
    let mut tokens: Vec<Option<String>> = vec![None; rows];
    let mut types = vec![NORMAL; rows];
    let mut ids: Map<String, Json> = Map::new();
    let mut place = |token: &str, id: u64, kind: i32| -> Result<()> {
        let slot = usize::try_from(id)
            .ok()
            .filter(|&i| i < rows)
            .ok_or_else(|| {
                ModelError::invalid(
                    &path,
                    format!("token `{token}` has id {id}, but the embedding has {rows} rows"),
                )
            })?;
        tokens[slot] = Some(token.to_string());
        types[slot] = kind;
        ids.insert(token.to_string(), Json::from(id));
        Ok(())
    };
    for (token, id) in vocab {
        let id = id.as_u64().ok_or_else(|| {
            ModelError::invalid(&path, format!("token `{token}` has no integer id"))
        })?;
        if sentencepiece && is_byte_piece(token) {
            place(token, id, BYTE)?;
        } else if sentencepiece && token.chars().count() >= 2 && token.chars().all(|c| c == '▁') {
            // Gemma's pieces of several spaces: user-defined, stored as
            // spaces (the GGUF reader spells them `▁▁…` again).
            place(&token.replace('▁', " "), id, USER_DEFINED)?;
        } else {
            place(token, id, NORMAL)?;
        }
    }
    for added in tokenizer["added_tokens"].as_array().into_iter().flatten() {
        let (Some(content), Some(id)) = (added["content"].as_str(), added["id"].as_u64()) else {
            return Err(ModelError::invalid(
                &path,
                "an added token without content or id",
            ));
        };
        let kind = if added["special"].as_bool() == Some(true) {
            CONTROL
        } else {
            USER_DEFINED
        };
        place(content, id, kind)?;
    }
    let tokens: Vec<String> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            t.unwrap_or_else(|| {
                types[i] = UNUSED;
                format!("[PAD{i}]")
            })
        })
        .collect();
    // SentencePiece vocabularies carry no merges in GGUF.
    let merges = if sentencepiece {
        Vec::new()
    } else {
        model["merges"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|m| match m {
                Json::String(s) => Ok(s.clone()),
                Json::Array(pair) => match (
                    pair.first().and_then(Json::as_str),
                    pair.get(1).and_then(Json::as_str),
                ) {
                    (Some(a), Some(b)) if !a.contains(' ') && !b.contains(' ') => {
                        Ok(format!("{a} {b}"))
                    }
                    _ => Err(cannot(format!(
                        "merge {m} (GGUF writes merges as two space-free tokens)"
                    ))),
                },
                other => Err(ModelError::invalid(
                    &path,
                    format!("merge {other} is neither a string nor a pair"),
                )),
            })
            .collect::<Result<Vec<_>>>()?
    };
    let mut out = vec![
        (
            "tokenizer.ggml.model".to_string(),
            MetaValue::String(if sentencepiece { "llama" } else { "gpt2" }.into()),
        ),
        (
            "tokenizer.ggml.pre".to_string(),
            MetaValue::String(pre_name.to_string()),
        ),
        (
            "tokenizer.ggml.tokens".to_string(),
            MetaValue::Strings(tokens),
        ),
    ];
    if sentencepiece {
        out.push((
            "tokenizer.ggml.scores".into(),
            MetaValue::F32s(scores(&types)),
        ));
        out.push(("tokenizer.ggml.token_type".into(), MetaValue::I32s(types)));
        out.push((
            "tokenizer.ggml.add_space_prefix".into(),
            MetaValue::Bool(false),
        ));
    } else {
        out.push(("tokenizer.ggml.token_type".into(), MetaValue::I32s(types)));
        out.push(("tokenizer.ggml.merges".into(), MetaValue::Strings(merges)));
    }
    let config = read_json(&dir.join("tokenizer_config.json"))?.unwrap_or(Json::Null);
    let special_map = read_json(&dir.join("special_tokens_map.json"))?.unwrap_or(Json::Null);
    let id_of = |name: &str| {
        token_text(config.get(name))
            .or_else(|| token_text(special_map.get(name)))
            .and_then(|t| ids.get(t))
            .and_then(Json::as_u64)
    };
    let mut bos = None;
    for (name, key) in [
        ("bos_token", "tokenizer.ggml.bos_token_id"),
        ("eos_token", "tokenizer.ggml.eos_token_id"),
        ("unk_token", "tokenizer.ggml.unknown_token_id"),
        ("pad_token", "tokenizer.ggml.padding_token_id"),
    ] {
        if let Some(id) = id_of(name) {
            if name == "bos_token" {
                bos = Some(id);
            }
            out.push((key.to_string(), MetaValue::U32(id as u32)));
        }
    }
    // Whether BOS is added: the config's flag, else the post-processor's
    // template (as gguf-py's SpecialVocab reads it).
    let template_adds_bos = || {
        let first = &tokenizer["post_processor"]["single"][0]["SpecialToken"]["id"];
        bos.is_some()
            && first
                .as_str()
                .and_then(|t| ids.get(t))
                .and_then(Json::as_u64)
                == bos
    };
    let add_bos = config["add_bos_token"]
        .as_bool()
        .unwrap_or_else(template_adds_bos);
    out.push((
        "tokenizer.ggml.add_bos_token".into(),
        MetaValue::Bool(add_bos),
    ));
    let add_eos = config["add_eos_token"].as_bool().unwrap_or(false);
    out.push((
        "tokenizer.ggml.add_eos_token".into(),
        MetaValue::Bool(add_eos),
    ));
    let template = match &config["chat_template"] {
        Json::String(s) => Some(s.clone()),
        Json::Array(named) => named
            .iter()
            .find(|t| t["name"] == "default")
            .and_then(|t| t["template"].as_str().map(str::to_string)),
        _ => None,
    };
    if let Some(template) = template {
        out.push((
            "tokenizer.chat_template".into(),
            MetaValue::String(template),
        ));
    }
    Ok(out)
}
