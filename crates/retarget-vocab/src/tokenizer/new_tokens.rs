//! The target-language tokens an expansion adds, in the form each algorithm
//! integrates them: BPE merges learnt by continuing BPE on the base's own
//! segmentation of the corpus; for Unigram and WordPiece, the most useful
//! tokens the base lacks of a tokenizer of its kind trained on the corpus
//! (same normaliser and pre-tokenizer, by the `tokenizers` crate's trainers):
//! pieces with scores, plain entries. `--replace` trains a whole tokenizer
//! like the base.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::unigram::{Unigram, UnigramTrainer};
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::models::{ModelWrapper, TrainerWrapper};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Result, VocabError};
use crate::tokenizer::json::{is_byte_piece, ModelKind, NewTokens, TokenizerFile};

/// How often a pair of pieces must occur to become a token (as the
/// trainers' `min_frequency`).
const MIN_PAIR_COUNT: u64 = 2;

/// Most tokens a vocabulary may be given (ten times the largest in use).
pub const MAX_VOCABULARY: usize = 4_000_000;

/// The `add` new tokens `lines` teach the tokenizer `tokenizer` (described
/// by `base`).
pub fn learn(
    base: &TokenizerFile,
    tokenizer: &Tokenizer,
    lines: &[String],
    add: usize,
) -> Result<NewTokens> {
    if add > MAX_VOCABULARY {
        return Err(VocabError::Usage(format!(
            "--add {add} is more than {MAX_VOCABULARY} tokens"
        )));
    }
    // Train well past --add: many trained tokens repeat base tokens.
    let size = 256 + 8 * add + 1000;
    let known = base.model_tokens();
    let new = match base.kind() {
        ModelKind::Bpe => NewTokens::Bpe(continued_merges(tokenizer, lines, known, add)?),
        ModelKind::Unigram => {
            let trained = train_like(base, tokenizer, lines, size, Vec::new())?;
            NewTokens::Unigram(unigram_pieces(base, &trained, &known, add))
        }
        ModelKind::WordPiece => {
            let trained = train_like(base, tokenizer, lines, size, Vec::new())?;
            let mut by_id: Vec<(u32, String)> = trained
                .get_vocab(false)
                .into_iter()
                .filter(|(t, _)| !known.contains(t))
                .map(|(t, id)| (id, t))
                .collect();
            by_id.sort_unstable();
            NewTokens::WordPiece(by_id.into_iter().take(add).map(|(_, t)| t).collect())
        }
    };
    if new.len() < add {
        return Err(VocabError::Usage(format!(
            "the corpus yields only {} new tokens; --add {add} is larger than that (give more text or a smaller --add)",
            new.len()
        )));
    }
    Ok(new)
}

/// A whole target-language tokenizer like the base, for `--replace`: the
/// base's added tokens first (in id order, renumbered), then what the
/// corpus teaches, `vocab_size` tokens in all (fewer if the text is short);
/// the base model's settings (unknown token, prefixes) and post-processor
/// carried over with their tokens' new ids.
pub fn train_replacement(
    base: &TokenizerFile,
    tokenizer: &Tokenizer,
    lines: &[String],
    vocab_size: usize,
) -> Result<TokenizerFile> {
    if vocab_size > MAX_VOCABULARY {
        return Err(VocabError::Usage(format!(
            "--vocab-size {vocab_size} is more than {MAX_VOCABULARY} tokens"
        )));
    }
    let base_model = &base.json()["model"];
    if base_model["byte_fallback"].as_bool() == Some(true) {
        return Err(VocabError::invalid(
            base.path(),
            "training a replacement for a byte-fallback tokenizer is not supported; give the new tokenizer with --tokenizer",
        ));
    }
    let specials: Vec<AddedToken> = base
        .added_tokens()
        .into_iter()
        .map(|t| AddedToken::from(t, true))
        .collect();
    let trained = train_like(base, tokenizer, lines, vocab_size, specials)?;
    let mut json = tokenizer_json(&trained);
    // The base model's settings (unknown token, prefixes, dropout, …).
    if let (Some(from), Some(to)) = (base_model.as_object(), json["model"].as_object_mut()) {
        for (key, value) in from {
            if !matches!(key.as_str(), "vocab" | "merges" | "unk_id") && to.contains_key(key) {
                to.insert(key.clone(), value.clone());
            }
        }
    }
    let id_of = |token: &str| trained.token_to_id(token).map(|id| id as usize);
    for entry in json["added_tokens"].as_array_mut().into_iter().flatten() {
        let content = entry["content"].as_str().unwrap_or_default().to_string();
        let id = id_of(&content).ok_or_else(|| {
            VocabError::Internal(format!("the trained tokenizer lost {content:?}"))
        })?;
        entry["id"] = Value::from(id);
    }
    crate::tokenizer::json::refresh_post_processor(&mut json["post_processor"], &id_of);
    TokenizerFile::from_trained(base.path(), json)
}

/// Trains a tokenizer of `base`'s kind and settings (byte-level alphabet,
/// unknown piece, continuation prefix) on `lines`, `size` tokens at most,
/// `specials` first.
fn train_like(
    base: &TokenizerFile,
    tokenizer: &Tokenizer,
    lines: &[String],
    size: usize,
    specials: Vec<AddedToken>,
) -> Result<Tokenizer> {
    match base.kind() {
        ModelKind::Bpe => {
            let mut builder = BpeTrainerBuilder::new()
                .vocab_size(size)
                .min_frequency(2)
                .special_tokens(specials)
                .show_progress(false);
            if base.is_byte_level() {
                builder = builder.initial_alphabet(ByteLevel::alphabet().into_iter().collect());
            }
            train(
                tokenizer,
                ModelWrapper::BPE(BPE::default()),
                builder.build(),
                lines,
            )
        }
        ModelKind::Unigram => {
            let trainer = UnigramTrainer::builder()
                .vocab_size(size as u32)
                .special_tokens(specials)
                .unk_token(base.unk_token())
                .show_progress(false)
                .build()
                .map_err(|e| VocabError::Internal(format!("Unigram trainer: {e}")))?;
            train(
                tokenizer,
                ModelWrapper::Unigram(Unigram::default()),
                trainer,
                lines,
            )
        }
        ModelKind::WordPiece => {
            let trainer = WordPieceTrainer::builder()
                .vocab_size(size)
                .min_frequency(2)
                .special_tokens(specials)
                .continuing_subword_prefix(base.continuing_prefix().unwrap_or("##").into())
                .show_progress(false)
                .build();
            train(
                tokenizer,
                ModelWrapper::WordPiece(WordPiece::default()),
                trainer,
                lines,
            )
        }
    }
}

/// Trains `model` with `trainer` on `lines` in a copy of `base` (its
/// normaliser, pre-tokenizer and decoder).
fn train(
    base: &Tokenizer,
    model: ModelWrapper,
    trainer: impl Into<TrainerWrapper>,
    lines: &[String],
) -> Result<Tokenizer> {
    let mut tokenizer = base.clone();
    tokenizer.with_model(model);
    let mut trainer: TrainerWrapper = trainer.into();
    tokenizer
        .train(&mut trainer, lines.iter())
        .map_err(|e| VocabError::Internal(format!("training the target tokenizer: {e}")))?;
    Ok(tokenizer)
}

/// A trained tokenizer as `tokenizer.json` would hold it.
fn tokenizer_json(trained: &Tokenizer) -> Value {
    let text = trained
        .to_string(false)
        .expect("a trained tokenizer serialises");
    serde_json::from_str(&text).expect("tokenizers writes JSON")
}

/// BPE continued on the base's own segmentation: the corpus tokenized by
/// the base (normaliser, pre-tokenizer and every base merge), then, `add`
/// times, the most frequent adjacent pair of pieces whose concatenation the
/// base lacks merged everywhere (ties: the pair that sorts first). Appended
/// after the base's merges these fire exactly where they were learnt, so
/// every new token is reachable — which merges taken from a tokenizer
/// trained from scratch are not when the base's merges, ranked before them,
/// segment the text otherwise (Gemma's 514,906 merges in file order).
fn continued_merges(
    tokenizer: &Tokenizer,
    lines: &[String],
    mut known: HashSet<String>,
    add: usize,
) -> Result<Vec<(String, String, String)>> {
    // Each word of the corpus as the base's pieces, with its count.
    let mut counts: HashMap<Vec<String>, u64> = HashMap::new();
    for line in lines {
        let encoding = tokenizer
            .encode(line.as_str(), false)
            .map_err(|e| VocabError::Internal(format!("tokenizing the corpus: {e}")))?;
        // Added tokens (no word) split words and are never merged.
        let mut word: Vec<String> = Vec::new();
        let mut current = None;
        for (token, id) in encoding.get_tokens().iter().zip(encoding.get_word_ids()) {
            if (*id != current || id.is_none()) && !word.is_empty() {
                *counts.entry(std::mem::take(&mut word)).or_default() += 1;
            }
            current = *id;
            if id.is_some() {
                word.push(token.clone());
            }
        }
        if !word.is_empty() {
            *counts.entry(word).or_default() += 1;
        }
    }
    let mut words: Vec<(Vec<String>, u64)> = counts.into_iter().collect();
    words.sort();
    let mut merges = Vec::with_capacity(add);
    while merges.len() < add {
        let mut pairs: HashMap<(&str, &str), u64> = HashMap::new();
        for (pieces, count) in &words {
            for pair in pieces.windows(2) {
                *pairs
                    .entry((pair[0].as_str(), pair[1].as_str()))
                    .or_default() += count;
            }
        }
        // Pieces of the vocabulary only (not the unknown token), and no byte
        // pieces: a byte-fallback BPE spells a character it lacks in bytes
        // after merging, so no merge can join them.
        let mergeable = |piece: &str| known.contains(piece) && !is_byte_piece(piece);
        let mut best: Option<((&str, &str), u64)> = None;
        for (pair, n) in pairs {
            let better = match best {
                None => n >= MIN_PAIR_COUNT,
                Some((b, m)) => n > m || (n == m && pair < b),
            };
            if better
                && mergeable(pair.0)
                && mergeable(pair.1)
                && !known.contains(&format!("{}{}", pair.0, pair.1))
            {
                best = Some((pair, n));
            }
        }
        let Some(((a, b), _)) = best else {
            break;
        };
        let (a, b) = (a.to_string(), b.to_string());
        let token = format!("{a}{b}");
        for (pieces, _) in &mut words {
            let mut i = 0;
            while i + 1 < pieces.len() {
                if pieces[i] == a && pieces[i + 1] == b {
                    pieces[i] = token.clone();
                    pieces.remove(i + 1);
                }
                i += 1;
            }
        }
        known.insert(token.clone());
        merges.push((a, b, token));
    }
    Ok(merges)
}

/// The `add` most probable trained pieces the base lacks, their scores
/// moved onto the base's scale: a small trained vocabulary spreads its
/// probability over fewer pieces, so its log-probabilities run higher; the
/// median difference over the pieces both have is the shift.
fn unigram_pieces(
    base: &TokenizerFile,
    trained: &Tokenizer,
    known: &HashSet<String>,
    add: usize,
) -> Vec<(String, f64)> {
    let model = tokenizer_json(trained)["model"].take();
    let unk = model["unk_id"]
        .as_u64()
        .map(|i| i as usize)
        .unwrap_or(usize::MAX);
    let pieces: Vec<(String, f64)> = model["vocab"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(i, _)| *i != unk)
        .filter_map(|(_, p)| Some((p.get(0)?.as_str()?.to_string(), p.get(1)?.as_f64()?)))
        .collect();
    let base_scores: HashMap<String, f64> = base.unigram_scores();
    let mut shifts: Vec<f64> = pieces
        .iter()
        .filter_map(|(p, s)| base_scores.get(p).map(|b| b - s))
        .collect();
    shifts.sort_by(f64::total_cmp);
    let shift = shifts.get(shifts.len() / 2).copied().unwrap_or(0.0);
    let mut new: Vec<(String, f64)> = pieces
        .into_iter()
        .filter(|(p, _)| !known.contains(p))
        .map(|(p, s)| (p, s + shift))
        .collect();
    new.sort_by(|a, b| b.1.total_cmp(&a.1));
    new.truncate(add);
    new
}
