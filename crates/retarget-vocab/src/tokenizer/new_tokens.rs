//! The target-language tokens an expansion adds: a tokenizer of the base's
//! kind trained on the corpus (same normaliser and pre-tokenizer, by the
//! `tokenizers` crate's trainers), and the most useful of its tokens that the
//! base lacks, in the form each algorithm integrates them (BPE: the merges
//! that build them; Unigram: pieces with scores; WordPiece: plain entries).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::unigram::{Unigram, UnigramTrainer};
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::models::{ModelWrapper, TrainerWrapper};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::{Result, VocabError};
use crate::tokenizer::json::{merge_parts, ModelKind, NewTokens, TokenizerFile};

/// Most tokens a vocabulary may be given (ten times the largest in use).
pub const MAX_VOCABULARY: usize = 4_000_000;

/// Trains a tokenizer like `tokenizer` (described by `base`) on `lines` and
/// returns the `add` most useful tokens it has and the base lacks.
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
    let trained = train_like(base, tokenizer, lines, size, Vec::new())?;
    let new = match base.kind() {
        ModelKind::Bpe => NewTokens::Bpe(bpe_merges(&trained, known, add)),
        ModelKind::Unigram => NewTokens::Unigram(unigram_pieces(base, &trained, &known, add)),
        ModelKind::WordPiece => {
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

/// The first `add` trained merges that make a token the base lacks from
/// parts it has (or has gained by an earlier one).
fn bpe_merges(
    trained: &Tokenizer,
    mut known: HashSet<String>,
    add: usize,
) -> Vec<(String, String, String)> {
    let model = tokenizer_json(trained)["model"].take();
    let mut out = Vec::new();
    for entry in model["merges"].as_array().into_iter().flatten() {
        let Some((a, b)) = merge_parts(entry) else {
            continue;
        };
        let token = format!("{a}{b}");
        if known.contains(&token) || !known.contains(a) || !known.contains(b) {
            continue;
        }
        known.insert(token.clone());
        out.push((a.to_string(), b.to_string(), token));
        if out.len() == add {
            break;
        }
    }
    out
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
