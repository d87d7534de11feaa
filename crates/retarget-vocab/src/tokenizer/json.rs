//! `tokenizer.json` surgery: which tokens a tokenizer cannot do without, the
//! closure of a BPE merge list over kept tokens, and the trimmed file with
//! every id renumbered (model vocabulary, merges, added tokens, unknown id,
//! post-processor templates). Done on the JSON itself, so that every other
//! part of the tokenizer (normaliser, pre-tokenizer, decoder) is untouched;
//! the result is loaded with the `tokenizers` crate to check it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Result, VocabError};

/// The tokenization algorithm of a `tokenizer.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Byte-pair encoding (GPT-2/Llama 3/Qwen/SmolLM byte-level, or character-level).
    Bpe,
    /// SentencePiece unigram (T5, XLM-R, mT5).
    Unigram,
    /// WordPiece (BERT).
    WordPiece,
}

/// A parsed `tokenizer.json` with its tokens by id.
#[derive(Debug, Clone)]
pub struct TokenizerFile {
    path: PathBuf,
    json: Value,
    kind: ModelKind,
    tokens: Vec<String>,
    ids: HashMap<String, usize>,
}

fn model_str<'a>(model: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    model.get(key).and_then(Value::as_str)
}

/// Whether a pre-tokenizer or decoder (possibly a `Sequence`) has the given type.
fn has_component(value: &Value, kind: &str) -> bool {
    match value {
        Value::Object(o) => {
            o.get("type").and_then(Value::as_str) == Some(kind)
                || ["pretokenizers", "decoders"]
                    .iter()
                    .filter_map(|k| o.get(*k).and_then(Value::as_array))
                    .flatten()
                    .any(|v| has_component(v, kind))
        }
        _ => false,
    }
}

/// Splits a BPE merge entry (`"a b"` or `["a", "b"]`).
pub(crate) fn merge_parts(entry: &Value) -> Option<(&str, &str)> {
    match entry {
        Value::String(s) => s.split_once(' '),
        Value::Array(parts) if parts.len() == 2 => Some((parts[0].as_str()?, parts[1].as_str()?)),
        _ => None,
    }
}

pub(crate) use retarget_model::gguf_tokenizer::is_byte_piece;

fn is_single_char(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some() && chars.next().is_none()
}

impl TokenizerFile {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| VocabError::Model(retarget_model::ModelError::io(path, e)))?;
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| VocabError::invalid(path, format!("not valid JSON: {e}")))?;
        Self::from_json(path, json)
    }

    fn from_json(path: &Path, json: Value) -> Result<Self> {
        let invalid = |p: String| VocabError::invalid(path, p);
        let model = json
            .get("model")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("no `model` object".into()))?;
        let kind = match model_str(model, "type") {
            Some("BPE") => ModelKind::Bpe,
            Some("Unigram") => ModelKind::Unigram,
            Some("WordPiece") => ModelKind::WordPiece,
            Some(other) => {
                return Err(invalid(format!(
                    "tokenizer model `{other}` is not supported (BPE, Unigram and WordPiece are)"
                )))
            }
            None => return Err(invalid("the tokenizer model has no `type`".into())),
        };
        let mut by_id: HashMap<usize, String> = HashMap::new();
        match model.get("vocab") {
            Some(Value::Object(vocab)) => {
                for (token, id) in vocab {
                    let id = id
                        .as_u64()
                        .ok_or_else(|| invalid(format!("token {token:?} has no numeric id")))?;
                    by_id.insert(id as usize, token.clone());
                }
            }
            Some(Value::Array(pieces)) => {
                for (id, piece) in pieces.iter().enumerate() {
                    let token = piece.get(0).and_then(Value::as_str).ok_or_else(|| {
                        invalid(format!("vocabulary entry {id} is not [piece, score]"))
                    })?;
                    by_id.insert(id, token.to_string());
                }
            }
            _ => return Err(invalid("the tokenizer model has no vocabulary".into())),
        }
        for added in json
            .get("added_tokens")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let id = added.get("id").and_then(Value::as_u64);
            let content = added.get("content").and_then(Value::as_str);
            let (Some(id), Some(content)) = (id, content) else {
                return Err(invalid("an added token lacks `id` or `content`".into()));
            };
            by_id.insert(id as usize, content.to_string());
        }
        let len = by_id.len();
        let mut tokens = vec![String::new(); len];
        for (id, token) in by_id {
            let slot = tokens.get_mut(id).ok_or_else(|| {
                invalid(format!(
                    "token ids are not contiguous: {token:?} has id {id} of {len} tokens"
                ))
            })?;
            *slot = token;
        }
        let ids = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i))
            .collect();
        Ok(TokenizerFile {
            path: path.to_path_buf(),
            json,
            kind,
            tokens,
            ids,
        })
    }

    /// A tokenizer trained in place of the one at `path` (named in errors).
    pub(crate) fn from_trained(path: &Path, json: Value) -> Result<Self> {
        Self::from_json(path, json)
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The added tokens' contents, in id order.
    pub fn added_tokens(&self) -> Vec<String> {
        let mut added: Vec<(u64, String)> = self.json["added_tokens"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t["id"].as_u64()?, t["content"].as_str()?.to_string())))
            .collect();
        added.sort();
        added.into_iter().map(|(_, t)| t).collect()
    }

    /// The added tokens marked special.
    pub fn special_tokens(&self) -> Vec<String> {
        self.json["added_tokens"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["special"].as_bool() == Some(true))
            .filter_map(|t| t["content"].as_str().map(str::to_string))
            .collect()
    }

    /// The parsed JSON.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The algorithm.
    pub fn kind(&self) -> ModelKind {
        self.kind
    }

    /// Number of tokens (model vocabulary and added tokens).
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token with id `id`.
    pub fn token(&self, id: usize) -> &str {
        &self.tokens[id]
    }

    /// The id of `token`.
    pub fn id(&self, token: &str) -> Option<usize> {
        self.ids.get(token).copied()
    }

    fn model(&self) -> &Map<String, Value> {
        self.json["model"]
            .as_object()
            .expect("checked in from_json")
    }

    /// Tokens the tokenizer cannot do without, whatever the text: added and
    /// special tokens, the unknown token, and the base alphabet (single
    /// characters, with their continuation forms, and byte-fallback pieces;
    /// for byte-level BPE that is every byte). A byte-fallback BPE spells any
    /// character it lacks in its byte pieces, so there the byte pieces are
    /// the alphabet: its single characters stay only if the text or the
    /// merges of kept tokens use them (Gemma's 262k vocabulary has some
    /// 19,000 of them).
    pub fn structural(&self) -> Vec<bool> {
        let model = self.model();
        let byte_fallback = model.get("byte_fallback").and_then(Value::as_bool) == Some(true);
        let mut keep = vec![false; self.len()];
        for added in self
            .json
            .get("added_tokens")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = added.get("id").and_then(Value::as_u64) {
                keep[id as usize] = true;
            }
        }
        if let Some(unk) = model_str(model, "unk_token").and_then(|t| self.id(t)) {
            keep[unk] = true;
        }
        if let Some(unk) = model.get("unk_id").and_then(Value::as_u64) {
            keep[unk as usize] = true;
        }
        let prefix = model_str(model, "continuing_subword_prefix").filter(|p| !p.is_empty());
        let suffix = model_str(model, "end_of_word_suffix").filter(|s| !s.is_empty());
        for (id, token) in self.tokens.iter().enumerate() {
            let mut text = token.as_str();
            if let Some(p) = prefix {
                text = text.strip_prefix(p).unwrap_or(text);
            }
            if let Some(s) = suffix {
                text = text.strip_suffix(s).unwrap_or(text);
            }
            if is_byte_piece(token) || (!byte_fallback && is_single_char(text)) {
                keep[id] = true;
            }
        }
        keep
    }

    /// Whether the BPE model is byte-level (every text is covered by the 256
    /// byte symbols).
    pub fn is_byte_level(&self) -> bool {
        ["pre_tokenizer", "decoder"].iter().any(|k| {
            self.json
                .get(*k)
                .is_some_and(|v| has_component(v, "ByteLevel"))
        })
    }

    /// BPE merges as (left, right, result).
    fn merges(&self) -> Vec<(String, String, String)> {
        let model = self.model();
        let prefix = model_str(model, "continuing_subword_prefix").unwrap_or("");
        model
            .get("merges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(merge_parts)
            .map(|(a, b)| {
                let rest = b
                    .strip_prefix(prefix)
                    .filter(|_| !prefix.is_empty())
                    .unwrap_or(b);
                (a.to_string(), b.to_string(), format!("{a}{rest}"))
            })
            .collect()
    }

    /// Adds to `keep` every token that a kept BPE token is merged from,
    /// recursively, so that the merges building kept tokens survive.
    pub fn close_over_merges(&self, keep: &mut [bool]) {
        if self.kind != ModelKind::Bpe {
            return;
        }
        let mut producers: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (a, b, result) in self.merges() {
            producers.entry(result).or_default().push((a, b));
        }
        let mut work: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
        while let Some(id) = work.pop() {
            for (a, b) in producers.get(&self.tokens[id]).into_iter().flatten() {
                for part in [a, b] {
                    if let Some(p) = self.id(part) {
                        if !keep[p] {
                            keep[p] = true;
                            work.push(p);
                        }
                    }
                }
            }
        }
    }

    /// The tokenizer restricted to the kept ids, renumbered in their old
    /// order, and the map old id → new id.
    pub fn trimmed(&self, keep: &[bool]) -> Result<(TokenizerFile, Vec<Option<usize>>)> {
        let mut remap = vec![None; self.len()];
        let mut next = 0;
        for (old, k) in keep.iter().enumerate() {
            if *k {
                remap[old] = Some(next);
                next += 1;
            }
        }
        let kept_token = |t: &str| self.id(t).is_some_and(|i| keep[i]);
        // Built key by key rather than cloned and edited: a clone of the
        // whole tree (250k pieces for XLM-R) costs more than the trim keeps.
        let mut model = Map::new();
        for (key, value) in self.model() {
            let value = match (key.as_str(), value) {
                ("vocab", Value::Object(vocab)) => {
                    let mut entries: Vec<(usize, &String)> = vocab
                        .iter()
                        .filter_map(|(t, id)| remap[id.as_u64()? as usize].map(|n| (n, t)))
                        .collect();
                    entries.sort();
                    Value::Object(
                        entries
                            .into_iter()
                            .map(|(n, t)| (t.clone(), Value::from(n)))
                            .collect(),
                    )
                }
                ("vocab", Value::Array(pieces)) => Value::Array(
                    pieces
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| keep[*i])
                        .map(|(_, p)| p.clone())
                        .collect(),
                ),
                ("unk_id", unk) if self.model().get("vocab").is_some_and(Value::is_array) => {
                    match unk.as_u64() {
                        Some(unk) => remap[unk as usize].map_or(Value::Null, Value::from),
                        None => unk.clone(),
                    }
                }
                ("merges", Value::Array(merges)) => {
                    let prefix = model_str(self.model(), "continuing_subword_prefix").unwrap_or("");
                    Value::Array(
                        merges
                            .iter()
                            .filter(|m| {
                                merge_parts(m).is_some_and(|(a, b)| {
                                    let rest = b
                                        .strip_prefix(prefix)
                                        .filter(|_| !prefix.is_empty())
                                        .unwrap_or(b);
                                    kept_token(a)
                                        && kept_token(b)
                                        && kept_token(&format!("{a}{rest}"))
                                })
                            })
                            .cloned()
                            .collect(),
                    )
                }
                _ => value.clone(),
            };
            model.insert(key.clone(), value);
        }
        let mut json = Map::new();
        for (key, value) in self.json.as_object().expect("checked in from_json") {
            let value = match key.as_str() {
                "model" => Value::Object(std::mem::take(&mut model)),
                _ => value.clone(),
            };
            json.insert(key.clone(), value);
        }
        let mut json = Value::Object(json);
        if let Some(Value::Array(added)) = json.get_mut("added_tokens") {
            for entry in added.iter_mut() {
                let old = entry.get("id").and_then(Value::as_u64).map(|i| i as usize);
                let new = old.and_then(|o| remap[o]).ok_or_else(|| {
                    VocabError::Internal(format!("added token {entry} was not kept"))
                })?;
                entry["id"] = Value::from(new);
            }
        }
        if let Some(pp) = json.get_mut("post_processor") {
            remap_post_processor(pp, &remap).map_err(|p| VocabError::invalid(&self.path, p))?;
        }
        let file = TokenizerFile::from_json(&self.path, json)?;
        Ok((file, remap))
    }

    /// The Unigram model's unknown piece.
    pub fn unk_token(&self) -> Option<String> {
        let id = self.model().get("unk_id")?.as_u64()? as usize;
        self.tokens.get(id).cloned()
    }

    /// WordPiece's (or BPE's) continuing-subword prefix, such as `##`.
    pub fn continuing_prefix(&self) -> Option<&str> {
        model_str(self.model(), "continuing_subword_prefix").filter(|p| !p.is_empty())
    }

    /// Unigram pieces with their scores (empty for other models).
    pub fn unigram_scores(&self) -> HashMap<String, f64> {
        self.model()
            .get("vocab")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.get(0)?.as_str()?.to_string(), p.get(1)?.as_f64()?)))
            .collect()
    }

    /// The tokenizer with new tokens appended as model vocabulary (ids after
    /// every existing one; BPE merges after the old merges).
    pub fn with_appended(&self, new: &NewTokens) -> Result<TokenizerFile> {
        let mut json = self.json.clone();
        let model = json["model"].as_object_mut().expect("checked in from_json");
        let invalid = |p: &str| VocabError::invalid(&self.path, p);
        match (new, model.get_mut("vocab")) {
            (NewTokens::Bpe(added), Some(Value::Object(vocab))) => {
                for (k, (_, _, token)) in added.iter().enumerate() {
                    vocab.insert(token.clone(), Value::from(self.len() + k));
                }
                append_merges(model, added).map_err(invalid)?;
            }
            (NewTokens::WordPiece(added), Some(Value::Object(vocab))) => {
                for (k, token) in added.iter().enumerate() {
                    vocab.insert(token.clone(), Value::from(self.len() + k));
                }
            }
            (NewTokens::Unigram(added), Some(Value::Array(pieces))) => {
                // Unigram ids are positions in the piece list.
                if pieces.len() != self.len() {
                    return Err(invalid(
                        "added tokens sit after the Unigram pieces; appending pieces would renumber them",
                    ));
                }
                pieces.extend(added.iter().map(|(p, s)| serde_json::json!([p, s])));
            }
            _ => return Err(invalid("the new tokens do not fit this tokenizer's model")),
        }
        TokenizerFile::from_json(&self.path, json)
    }

    /// The JSON text (pretty, as `tokenizers` saves it).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.json).expect("JSON serialises")
    }

    /// The tokenizer, loaded with the `tokenizers` crate.
    pub fn load(&self) -> Result<tokenizers::Tokenizer> {
        let text = String::from_utf8(self.to_json_bytes()).expect("serde_json writes UTF-8");
        text.parse::<tokenizers::Tokenizer>()
            .map_err(|e| VocabError::Internal(format!("the trimmed tokenizer does not load: {e}")))
    }

    /// WordPiece's `vocab.txt` (one token per line, by id).
    pub fn vocab_txt(&self) -> String {
        self.tokens.iter().map(|t| format!("{t}\n")).collect()
    }

    /// BPE's slow-tokenizer files: `vocab.json` and `merges.txt`.
    pub fn bpe_files(&self) -> (Vec<u8>, String) {
        let vocab = self.json["model"]["vocab"].clone();
        let mut merges = String::from("#version: 0.2\n");
        for entry in self.json["model"]["merges"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some((a, b)) = merge_parts(entry) {
                merges.push_str(&format!("{a} {b}\n"));
            }
        }
        (serde_json::to_vec(&vocab).expect("JSON serialises"), merges)
    }

    /// Tokens that appear in the model vocabulary (not only as added tokens).
    pub fn model_tokens(&self) -> HashSet<String> {
        match &self.json["model"]["vocab"] {
            Value::Object(v) => v.keys().cloned().collect(),
            Value::Array(p) => p
                .iter()
                .filter_map(|e| e.get(0)?.as_str().map(str::to_string))
                .collect(),
            _ => HashSet::new(),
        }
    }
}

/// Appends BPE merges, in the file's own form (`"a b"` or `["a", "b"]`).
fn append_merges(
    model: &mut Map<String, Value>,
    added: &[(String, String, String)],
) -> Result<(), &'static str> {
    if model_str(model, "continuing_subword_prefix").is_some_and(|p| !p.is_empty())
        || model_str(model, "end_of_word_suffix").is_some_and(|s| !s.is_empty())
    {
        return Err("BPE with a continuing-subword prefix or end-of-word suffix is not supported by expansion yet");
    }
    let merges = model
        .get_mut("merges")
        .and_then(Value::as_array_mut)
        .ok_or("BPE model has no merges")?;
    let as_strings = matches!(merges.first(), Some(Value::String(_)));
    for (a, b, _) in added {
        merges.push(if as_strings {
            Value::from(format!("{a} {b}"))
        } else {
            serde_json::json!([a, b])
        });
    }
    Ok(())
}

/// Sets the token ids a post-processor carries from its tokens' strings
/// (template special tokens, BERT/RoBERTa `cls`/`sep` pairs, sequences).
pub(crate) fn refresh_post_processor(value: &mut Value, id_of: &dyn Fn(&str) -> Option<usize>) {
    let Some(obj) = value.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(specials)) = obj.get_mut("special_tokens") {
        for special in specials.values_mut() {
            let ids: Option<Vec<Value>> = special["tokens"]
                .as_array()
                .map(|tokens| {
                    tokens
                        .iter()
                        .map(|t| t.as_str().and_then(id_of).map(Value::from))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(ids) = ids {
                special["ids"] = Value::Array(ids);
            }
        }
    }
    for key in ["cls", "sep"] {
        if let Some(Value::Array(pair)) = obj.get_mut(key) {
            if let Some(id) = pair.first().and_then(Value::as_str).and_then(id_of) {
                if pair.len() == 2 {
                    pair[1] = Value::from(id);
                }
            }
        }
    }
    if let Some(Value::Array(processors)) = obj.get_mut("processors") {
        for p in processors.iter_mut() {
            refresh_post_processor(p, id_of);
        }
    }
}

/// Renumbers the token ids a post-processor carries (template special
/// tokens, BERT/RoBERTa `cls`/`sep` pairs, nested sequences).
fn remap_post_processor(value: &mut Value, remap: &[Option<usize>]) -> Result<(), String> {
    let new_id = |old: &Value| -> Result<Value, String> {
        let o = old
            .as_u64()
            .ok_or("a post-processor token id is not a number")? as usize;
        remap
            .get(o)
            .copied()
            .flatten()
            .map(Value::from)
            .ok_or_else(|| format!("the post-processor uses token id {o}, which was not kept"))
    };
    let Some(obj) = value.as_object_mut() else {
        return Ok(());
    };
    if let Some(Value::Object(specials)) = obj.get_mut("special_tokens") {
        for special in specials.values_mut() {
            if let Some(Value::Array(ids)) = special.get_mut("ids") {
                for id in ids.iter_mut() {
                    *id = new_id(id)?;
                }
            }
        }
    }
    for key in ["cls", "sep"] {
        if let Some(Value::Array(pair)) = obj.get_mut(key) {
            if pair.len() == 2 {
                pair[1] = new_id(&pair[1])?;
            }
        }
    }
    if let Some(Value::Array(processors)) = obj.get_mut("processors") {
        for p in processors.iter_mut() {
            remap_post_processor(p, remap)?;
        }
    }
    Ok(())
}

/// New tokens, in the order they get ids.
#[derive(Debug, Clone, PartialEq)]
pub enum NewTokens {
    /// (left, right, token): each token with the merge that builds it, in
    /// merge order.
    Bpe(Vec<(String, String, String)>),
    /// (piece, score), scores on the base's log-probability scale.
    Unigram(Vec<(String, f64)>),
    /// Plain entries (continuations keep their `##` prefix).
    WordPiece(Vec<String>),
}

impl NewTokens {
    /// The tokens as stored in the vocabulary.
    pub fn tokens(&self) -> Vec<&str> {
        match self {
            NewTokens::Bpe(m) => m.iter().map(|(_, _, t)| t.as_str()).collect(),
            NewTokens::Unigram(p) => p.iter().map(|(t, _)| t.as_str()).collect(),
            NewTokens::WordPiece(w) => w.iter().map(String::as_str).collect(),
        }
    }

    /// How many.
    pub fn len(&self) -> usize {
        match self {
            NewTokens::Bpe(m) => m.len(),
            NewTokens::Unigram(p) => p.len(),
            NewTokens::WordPiece(w) => w.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
