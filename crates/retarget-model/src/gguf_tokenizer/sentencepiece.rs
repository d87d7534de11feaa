//! SentencePiece-style vocabularies (`tokenizer.ggml.model = llama`:
//! pieces with scores and types, `▁` for a space, `<0x..>` byte pieces, no
//! merges), rebuilt as `transformers` rebuilds them when it loads such a
//! file: a byte-fallback BPE whose merges are recovered from the vocabulary
//! (every split of a piece into two pieces of the vocabulary is a merge).
//!
//! Two flavours, as in `transformers`' GGUF tokenizer builders:
//! - **Gemma** (gemma, gemma2, gemma3): merges ranked by their piece's
//!   position in the file (Gemma's scores do not follow its merge order),
//!   spaces turned into `▁` by a normalizer and split after, no prefix space;
//!   a piece of two or more spaces is stored as real spaces but looked up as
//!   `▁▁…`, so it is respelled first.
//! - **Llama** (llama-2-style files of every other architecture): merges
//!   ranked by their piece's score, a `▁` prepended to the first piece of
//!   the text and stripped again when decoding, no unknown piece in the model.
//!
//! In both, ties go to the longer left part, then the longer right part,
//! then the file order.

use serde_json::{json, Value as Json};

use super::{
    added_tokens, finish, post_processor, strings, token_at, token_types, vocabulary, GgufTokenizer,
};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::text::python::is_py_space;

/// GGUF architectures whose `llama` vocabularies are Gemma's.
pub const GEMMA: &[&str] = &["gemma", "gemma2", "gemma3"];
/// Architectures whose `llama` vocabularies `transformers` rebuilds in a
/// third way (a normalizer adds the prefix space) that retarget does not.
pub const UNSUPPORTED: &[&str] = &["phi3"];

/// How a SentencePiece-style vocabulary is turned into a tokenizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Gemma's: file order, spaces normalised, no prefix space.
    Gemma,
    /// llama-2's: scores, a prefix space on the first piece.
    Llama,
}

impl Flavour {
    /// The flavour of a `llama` vocabulary in a file of `architecture`.
    pub fn of(architecture: &str) -> Self {
        if GEMMA.contains(&architecture) {
            Flavour::Gemma
        } else {
            Flavour::Llama
        }
    }
}

/// Rebuilds a SentencePiece-style tokenizer.
pub(super) fn rebuild(file: &GgufFile, flavour: Flavour) -> Result<GgufTokenizer> {
    let path = file.path();
    let stored = strings(file, "tokenizer.ggml.tokens")?;
    let tokens: Vec<String> = match flavour {
        Flavour::Gemma => stored.iter().map(|t| respell_spaces(t)).collect(),
        Flavour::Llama => stored.clone(),
    };
    let vocab = vocabulary(path, &tokens)?;
    let types = token_types(file, tokens.len())?;
    // A SentencePiece vocabulary without one score per piece is not one
    // (even where, as in Gemma's, the scores do not rank the merges).
    let scores = file.meta_array("tokenizer.ggml.scores").ok_or_else(|| {
        ModelError::invalid(
            path,
            "inconsistent tokenizer metadata: a SentencePiece-style vocabulary without `tokenizer.ggml.scores`",
        )
    })?;
    if scores.len() != tokens.len() {
        return Err(ModelError::invalid(
            path,
            format!(
                "inconsistent tokenizer metadata: {} scores for {} tokens",
                scores.len(),
                tokens.len()
            ),
        ));
    }
    let ranks: Vec<f64> = match flavour {
        Flavour::Gemma => (0..tokens.len()).map(|i| -(i as f64)).collect(),
        Flavour::Llama => scores
            .iter()
            .map(|v| {
                crate::gguf::value_f64(v).ok_or_else(|| {
                    ModelError::invalid(path, "`tokenizer.ggml.scores` holds a non-number")
                })
            })
            .collect::<Result<_>>()?,
    };
    // What the flavours do differently: the unknown piece of the BPE, how
    // spaces become `▁`, and whether the decoder strips the prefix space.
    let (unk, normalizer, pre_tokenizer, strip) =
        match flavour {
            Flavour::Gemma => (
                Some(token_at(file, &tokens, "tokenizer.ggml.unknown_token_id").ok_or_else(|| {
                    ModelError::invalid(
                        path,
                        "GGUF metadata lacks a valid `tokenizer.ggml.unknown_token_id` (byte-fallback BPE needs its unknown piece)",
                    )
                })?),
                json!({"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"}),
                json!({"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false}),
                None,
            ),
            Flavour::Llama => (
                None,
                Json::Null,
                json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false}),
                Some(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0})),
            ),
        };
    let mut decoders = vec![
        json!({"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "}),
        json!({"type": "ByteFallback"}),
        json!({"type": "Fuse"}),
    ];
    decoders.extend(strip);
    let tokenizer_json = json!({
        "version": "1.0", "truncation": null, "padding": null,
        // A user-defined piece stays whole only under its own spelling: a
        // respelled run of spaces (Gemma) is left to the merges.
        "added_tokens": added_tokens(file, &tokens, &types, |id| stored[id] == tokens[id]),
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post_processor(file, &tokens),
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": unk, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true,
            "ignore_merges": false, "vocab": vocab, "merges": merges(&tokens, &vocab, &ranks),
        },
    });
    finish(file, tokenizer_json, &tokens)
}

/// A piece made only of whitespace that holds a space, as `▁` per character.
fn respell_spaces(token: &str) -> String {
    if token.contains(' ') && token.chars().all(is_py_space) {
        "\u{2581}".repeat(token.chars().count())
    } else {
        token.to_string()
    }
}

/// Every split of a piece into two pieces of the vocabulary, ranked by
/// the piece's rank (higher first), then longer left part, then longer
/// right part, then file order.
fn merges(tokens: &[String], vocab: &serde_json::Map<String, Json>, ranks: &[f64]) -> Vec<Json> {
    let mut found = Vec::new();
    for (token, &rank) in tokens.iter().zip(ranks) {
        for (at, _) in token.char_indices().skip(1) {
            let (left, right) = token.split_at(at);
            if vocab.contains_key(left) && vocab.contains_key(right) {
                let lengths = (left.chars().count(), right.chars().count());
                found.push((rank, lengths, left, right));
            }
        }
    }
    // A stable sort: equal keys keep the file order.
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)));
    found
        .into_iter()
        .map(|(_, _, left, right)| json!([left, right]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The merges of `tokens` (in file order) ranked by `ranks`.
    fn merges_of(tokens: &[&str], ranks: &[f64]) -> Vec<Json> {
        let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
        let vocab = vocabulary(std::path::Path::new("test.gguf"), &tokens).unwrap();
        merges(&tokens, &vocab, ranks)
    }

    #[test]
    fn runs_of_spaces_are_respelled_and_merges_follow_file_order() {
        assert_eq!(respell_spaces("   "), "▁▁▁");
        assert_eq!(respell_spaces(" \n"), "▁▁");
        assert_eq!(respell_spaces("\n\n"), "\n\n");
        assert_eq!(respell_spaces("a b"), "a b");
        let tokens = ["a", "b", "ab", "aab", "ba", "aa"];
        let ranks: Vec<f64> = (0..tokens.len()).map(|i| -(i as f64)).collect();
        let got = merges_of(&tokens, &ranks);
        // "ab": a+b; "aab": aa+b before a+ab (longer left first); "ba"; "aa".
        let want = [["a", "b"], ["aa", "b"], ["a", "ab"], ["b", "a"], ["a", "a"]];
        assert_eq!(got, want.iter().map(|p| json!(p)).collect::<Vec<_>>());
    }

    #[test]
    fn llama_merges_follow_scores_then_longer_left_then_file_order() {
        let tokens = ["a", "b", "c", "ab", "abc", "bc", "ca"];
        let scores = [0.0, 0.0, 0.0, -3.0, -1.0, -3.0, -2.0];
        let got = merges_of(&tokens, &scores);
        // "abc" (-1): ab+c before a+bc; "ca" (-2); "ab" and "bc" tie at -3:
        // file order.
        let want = [["ab", "c"], ["a", "bc"], ["c", "a"], ["a", "b"], ["b", "c"]];
        assert_eq!(got, want.iter().map(|p| json!(p)).collect::<Vec<_>>());
    }
}
