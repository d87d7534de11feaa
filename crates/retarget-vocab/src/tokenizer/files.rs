//! The small files beside the weights, rewritten for a new vocabulary:
//! `tokenizer.json`, token ids in `config.json` and `generation_config.json`
//! (and `vocab_size`), `tokenizer_config.json`'s added-token table,
//! `added_tokens.json`, the slow tokenizers' `vocab.txt` / `vocab.json` +
//! `merges.txt`; SentencePiece models are dropped; everything else is copied.

use std::path::{Path, PathBuf};

use retarget_model::output::OutputDir;
use retarget_model::ModelError;
use serde_json::Value;

use crate::error::{Result, VocabError};
use crate::model::VocabModel;
use crate::tokenizer::config_ids::{referenced_ids, remap_added_tokens_decoder, remap_ids};
use crate::tokenizer::json::{ModelKind, TokenizerFile};

/// SentencePiece model files: binary protobufs that the trimmed
/// `tokenizer.json` replaces (transformers loads `tokenizer.json` first).
const SENTENCEPIECE_FILES: &[&str] =
    &["tokenizer.model", "spiece.model", "sentencepiece.bpe.model"];

/// Files rewritten rather than copied.
const REWRITTEN: &[&str] = &[
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
];

pub(crate) fn read_json(path: &Path) -> Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| VocabError::invalid(path, format!("not valid JSON: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ModelError::io(path, e).into()),
    }
}

fn json_bytes(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON serialises");
    bytes.push(b'\n');
    bytes
}

/// The token ids `dir`'s config files (`config.json`,
/// `generation_config.json`) name, each with its file.
pub(crate) fn config_token_ids(dir: &Path) -> Result<Vec<(PathBuf, usize)>> {
    let mut found = Vec::new();
    for path in ["config.json", "generation_config.json"].map(|n| dir.join(n)) {
        let mut ids = Vec::new();
        if let Some(config) = read_json(&path)? {
            referenced_ids(&config, &mut ids);
        }
        found.extend(ids.into_iter().map(|id| (path.clone(), id)));
    }
    Ok(found)
}

/// Writes the new tokenizer and the companion files of `model` into `out`,
/// token ids renumbered by `remap` (old id → new id); returns the files left
/// out.
pub fn write_tokenizer_files(
    out: &OutputDir,
    model: &VocabModel,
    new: &TokenizerFile,
    remap: &[Option<usize>],
    rows_after: usize,
) -> Result<Vec<String>> {
    out.write_file(Path::new("tokenizer.json"), &new.to_json_bytes())?;
    let mut dropped_files = Vec::new();
    for rel in model.folder.small_files()? {
        let name = rel.to_string_lossy().to_string();
        let source = model.dir.join(&rel);
        if SENTENCEPIECE_FILES.contains(&name.as_str()) {
            dropped_files.push(name);
            continue;
        }
        if !REWRITTEN.contains(&name.as_str()) {
            out.copy_file(&source, &rel)?;
            continue;
        }
        match name.as_str() {
            "tokenizer.json" => {}
            "config.json" | "generation_config.json" => {
                if let Some(mut config) = read_json(&source)? {
                    remap_ids(&mut config, remap);
                    if name == "config.json" {
                        config["vocab_size"] = Value::from(rows_after);
                    }
                    out.write_file(&rel, &json_bytes(&config))?;
                }
            }
            "tokenizer_config.json" => {
                if let Some(mut config) = read_json(&source)? {
                    remap_added_tokens_decoder(&mut config, remap);
                    out.write_file(&rel, &json_bytes(&config))?;
                }
            }
            "added_tokens.json" => {
                if let Some(Value::Object(map)) = read_json(&source)? {
                    let renumbered: serde_json::Map<String, Value> = map
                        .into_iter()
                        .filter_map(|(t, id)| {
                            Some((
                                t,
                                Value::from(remap.get(id.as_u64()? as usize).copied().flatten()?),
                            ))
                        })
                        .collect();
                    out.write_file(&rel, &json_bytes(&Value::Object(renumbered)))?;
                }
            }
            "vocab.txt" if new.kind() == ModelKind::WordPiece => {
                out.write_file(&rel, new.vocab_txt().as_bytes())?;
            }
            "vocab.json" | "merges.txt" if new.kind() == ModelKind::Bpe => {
                let (vocab, merges) = new.bpe_files();
                let bytes = if name == "vocab.json" {
                    vocab
                } else {
                    merges.into_bytes()
                };
                out.write_file(&rel, &bytes)?;
            }
            _ => dropped_files.push(name),
        }
    }
    Ok(dropped_files)
}
