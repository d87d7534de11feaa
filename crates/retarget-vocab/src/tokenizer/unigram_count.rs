//! Token counts of a corpus under a Unigram (SentencePiece) `tokenizer.json`
//! without building the `tokenizers` crate's Unigram model, whose trie of
//! pieces (one hash map per node) takes longer to build for XLM-R's 250k
//! pieces (~0.5 s) than the rest of a trim. Hand-written because no crate
//! encodes Unigram apart from that model.
//!
//! The text still goes through the `tokenizers` crate for everything but the
//! model: a tokenizer built from the same file with a one-piece model finds
//! the added tokens, normalises and pre-tokenizes, and hands each word to its
//! model, which (every character unknown, unknown pieces fused) returns the
//! word whole. Each word then goes through the search of `tokenizers`'
//! `Unigram::encode_optimized` (0.23), over a hash map of pieces instead of
//! a trie: the same best path and the same ties (the first candidate of
//! equal score, by start, then shorter pieces first), unknown characters
//! scored `min_score - 10` and fused, then the byte-fallback pieces or the
//! unknown id, as `Unigram::tokenize` does.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use serde_json::{Map, Value};
use tokenizers::Tokenizer;

use crate::error::{Result, VocabError};
use crate::tokenizer::json::{ModelKind, TokenizerFile};
use crate::tokenizer::usage::count_ids;

/// `tokenizers`' penalty of an unknown character under the lowest score.
const UNK_PENALTY: f64 = 10.0;

/// The one piece of the word-splitting tokenizer's model: text no corpus has.
const SPLITTER_PIECE: &str = "\u{0}retarget-unigram-splitter\u{0}";

/// A Unigram tokenizer's encoder, for counting.
pub struct UnigramCounter<'a> {
    /// The same tokenizer with a one-piece model: splits text into words.
    splitter: Tokenizer,
    /// Each piece's id and score; for a piece listed twice, its last entry
    /// (as `tokenizers`' map from piece to id).
    pieces: HashMap<&'a str, (u32, f64), RandomState>,
    /// The longest piece, in bytes.
    longest: usize,
    /// Score of an unknown character.
    unk_score: f64,
    unk_id: Option<u32>,
    byte_fallback: bool,
    /// The splitter's ids of added tokens → the ids `tokenizers` gives them
    /// under the real model.
    added: HashMap<u32, u32>,
}

/// One position of the best-path search.
#[derive(Clone, Copy)]
struct Node {
    id: u32,
    score: f64,
    /// Where the best piece ending here starts (`None`: not reached yet).
    start: Option<usize>,
}

impl<'a> UnigramCounter<'a> {
    /// The counter for `file`, or `None` where it does not apply: not a
    /// Unigram model, or truncation or padding set (they change the ids).
    pub fn new(file: &'a TokenizerFile) -> Result<Option<Self>> {
        let json = file.json();
        let set = |key: &str| json.get(key).is_some_and(|v| !v.is_null());
        if file.kind() != ModelKind::Unigram || set("truncation") || set("padding") {
            return Ok(None);
        }
        let invalid = |problem: String| VocabError::invalid(file.path(), problem);
        let model = json["model"].as_object().expect("checked when read");
        let vocab = model
            .get("vocab")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("the Unigram model's vocabulary is not a list".into()))?;
        let mut pieces = HashMap::with_capacity_and_hasher(vocab.len(), RandomState::default());
        let (mut longest, mut min_score) = (0, f64::INFINITY);
        for (id, entry) in vocab.iter().enumerate() {
            let piece = entry.get(0).and_then(Value::as_str);
            let score = entry.get(1).and_then(Value::as_f64);
            let (Some(piece), Some(score)) = (piece, score) else {
                return Err(invalid(format!(
                    "vocabulary entry {id} is not [piece, score]"
                )));
            };
            pieces.insert(piece, (id as u32, score));
            longest = longest.max(piece.len());
            min_score = min_score.min(score);
        }
        let unk_id = model.get("unk_id").and_then(Value::as_u64);
        // What `tokenizers` checks when it builds the model.
        if unk_id.is_some_and(|u| u as usize >= vocab.len()) {
            return Err(invalid(format!(
                "cannot load tokenizer: the Unigram model's unk_id {} is not one of its {} pieces",
                unk_id.unwrap_or_default(),
                vocab.len()
            )));
        }
        let unk_id = unk_id.map(|u| u as u32);
        let byte_fallback = model.get("byte_fallback").and_then(Value::as_bool) == Some(true);
        if added_contents(json).any(|c| c == SPLITTER_PIECE) {
            return Ok(None);
        }
        let splitter =
            splitter(json).map_err(|e| invalid(format!("cannot load tokenizer: {e}")))?;
        let added = added_ids(json, &splitter, &pieces, vocab.len() as u32);
        Ok(Some(UnigramCounter {
            splitter,
            pieces,
            longest,
            unk_score: min_score - UNK_PENALTY,
            unk_id,
            byte_fallback,
            added,
        }))
    }

    /// Occurrences of every token id in `lines` (special tokens not added),
    /// as [`crate::tokenizer::usage::count_tokens`] counts them, all cores.
    pub fn count(&self, lines: &[String], vocab_len: usize) -> Result<Vec<u64>> {
        count_ids(lines, vocab_len, |line, nodes, ids| {
            self.encode(line, ids, nodes)
        })
    }

    /// Appends the ids of `line` to `ids`.
    fn encode(&self, line: &str, ids: &mut Vec<u32>, nodes: &mut Vec<Node>) -> Result<()> {
        let words = self
            .splitter
            .encode(line, false)
            .map_err(|e| VocabError::Internal(format!("tokenizing the corpus: {e}")))?;
        for (&id, word) in words.get_ids().iter().zip(words.get_tokens()) {
            match self.added.get(&id) {
                Some(&real) => ids.push(real),
                None => self.encode_word(word, ids, nodes)?,
            }
        }
        Ok(())
    }

    /// Appends the ids of one pre-tokenized, normalised word.
    fn encode_word(&self, word: &str, ids: &mut Vec<u32>, nodes: &mut Vec<Node>) -> Result<()> {
        if word.is_empty() {
            return Ok(());
        }
        nodes.clear();
        let unreached = Node {
            id: 0,
            score: 0.0,
            start: None,
        };
        nodes.resize(word.len() + 1, unreached);
        let mut start = 0;
        while start < word.len() {
            let here = nodes[start].score;
            let rest = &word[start..];
            let first = rest.chars().next().map_or(1, char::len_utf8);
            let mut single = false;
            for (offset, c) in rest.char_indices() {
                let end = offset + c.len_utf8();
                if end > self.longest {
                    break;
                }
                if let Some(&(id, score)) = self.pieces.get(&rest[..end]) {
                    offer(&mut nodes[start + end], id, here + score, start);
                    single |= end == first;
                }
            }
            if !single {
                let unk = self.unk_id.ok_or_else(missing_unk)?;
                offer(&mut nodes[start + first], unk, here + self.unk_score, start);
            }
            start += first;
        }
        // The best path, back to front; runs of unknown characters fused.
        let first_new = ids.len();
        let mut end = word.len();
        let mut unknown_run: Option<usize> = None;
        while end > 0 {
            let node = nodes[end];
            let start = node.start.expect("every character boundary is reached");
            if Some(node.id) == self.unk_id {
                unknown_run.get_or_insert(end);
            } else {
                if let Some(run_end) = unknown_run.take() {
                    self.push_text(&word[end..run_end], ids)?;
                }
                self.push_text(&word[start..end], ids)?;
            }
            end = start;
        }
        if let Some(run_end) = unknown_run {
            self.push_text(&word[..run_end], ids)?;
        }
        ids[first_new..].reverse();
        Ok(())
    }

    /// Appends the ids of one piece of the best path (in reverse order, as
    /// the path is walked back to front): its id, else its bytes' pieces
    /// with byte fallback, else the unknown id.
    fn push_text(&self, text: &str, ids: &mut Vec<u32>) -> Result<()> {
        if let Some(&(id, _)) = self.pieces.get(text) {
            ids.push(id);
            return Ok(());
        }
        if self.byte_fallback {
            let bytes: Option<Vec<u32>> = text
                .bytes()
                .map(|b| {
                    self.pieces
                        .get(format!("<0x{b:02X}>").as_str())
                        .map(|p| p.0)
                })
                .collect();
            if let Some(bytes) = bytes {
                ids.extend(bytes.into_iter().rev());
                return Ok(());
            }
        }
        let unk = self.unk_id.ok_or_else(missing_unk)?;
        ids.push(unk);
        Ok(())
    }
}

/// `tokenizers`' error where an unknown character meets a model without
/// an unknown piece.
fn missing_unk() -> VocabError {
    VocabError::Internal(
        "tokenizing the corpus: Encountered an unknown token but `unk_id` is missing".into(),
    )
}

/// `tokenizers`' update of a position: the first candidate, or a better one.
fn offer(node: &mut Node, id: u32, score: f64, start: usize) {
    if node.start.is_none() || score > node.score {
        *node = Node {
            id,
            score,
            start: Some(start),
        };
    }
}

/// The tokenizer of `json` with its model replaced by one piece that no text
/// has (its unknown piece), so that each word comes back whole.
fn splitter(json: &Value) -> serde_json::Result<Tokenizer> {
    let mut copy = Map::new();
    for (key, value) in json.as_object().expect("checked when read") {
        let value = if key == "model" {
            serde_json::json!({"type": "Unigram", "unk_id": 0, "vocab": [[SPLITTER_PIECE, 0.0]]})
        } else {
            value.clone()
        };
        copy.insert(key.clone(), value);
    }
    serde_json::from_value(Value::Object(copy))
}

/// The added tokens' contents, in file order.
fn added_contents(json: &Value) -> impl Iterator<Item = &str> {
    json.get("added_tokens")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("content").and_then(Value::as_str))
}

/// For each added token, the splitter's id → the id `tokenizers` gives it
/// when it loads the file: the model's id of that text if it has one, else
/// the next id from the vocabulary's size on, in file order (as
/// `AddedVocabulary::add_tokens`).
fn added_ids(
    json: &Value,
    splitter: &Tokenizer,
    pieces: &HashMap<&str, (u32, f64), RandomState>,
    vocab_len: u32,
) -> HashMap<u32, u32> {
    let mut real: HashMap<&str, u32> = HashMap::new();
    let mut next = vocab_len;
    for content in added_contents(json).filter(|c| !c.is_empty()) {
        if real.contains_key(content) {
            continue;
        }
        let id = pieces.get(content).map(|p| p.0).unwrap_or_else(|| {
            next += 1;
            next - 1
        });
        real.insert(content, id);
    }
    real.into_iter()
        .filter_map(|(content, id)| Some((splitter.token_to_id(content)?, id)))
        .collect()
}
