//! SentencePiece-style vocabularies as Gemma GGUF files store them
//! (`tokenizer.ggml.model = llama`: pieces with scores and types, `▁` for a
//! space, `<0x..>` byte pieces, no merges), rebuilt as `transformers`
//! rebuilds them when it loads such a file: a byte-fallback BPE whose merges
//! are recovered from the vocabulary.
//!
//! Gemma's scores do not follow its merge order; the order of the pieces in
//! the file does. So, as `transformers` does: every split of a piece into two
//! pieces of the vocabulary is a merge; merges are ranked by their piece's
//! position in the file (earlier first), then by longer left part. And a
//! piece of two or more spaces is stored as real spaces but looked up as
//! `▁▁…` (the normalizer turns spaces into `▁`): it is respelled first.

use serde_json::{json, Value as Json};

use super::{
    added_tokens, finish, post_processor, strings, token_at, token_types, vocabulary, GgufTokenizer,
};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::text::python::is_py_space;

/// GGUF architectures whose `llama` vocabularies are Gemma's.
pub const GEMMA: &[&str] = &["gemma", "gemma2", "gemma3"];

/// Rebuilds a Gemma tokenizer.
pub(super) fn rebuild_gemma(file: &GgufFile) -> Result<GgufTokenizer> {
    let path = file.path();
    let stored = strings(file, "tokenizer.ggml.tokens")?;
    let tokens: Vec<String> = stored.iter().map(|t| respell_spaces(t)).collect();
    let vocab = vocabulary(path, &tokens)?;
    let types = token_types(file, tokens.len())?;
    // Gemma's merges follow the file order, not the scores; but a
    // SentencePiece vocabulary without one score per piece is not one.
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
    let unk = token_at(file, &tokens, "tokenizer.ggml.unknown_token_id").ok_or_else(|| {
            ModelError::invalid(
                path,
                "GGUF metadata lacks a valid `tokenizer.ggml.unknown_token_id` (byte-fallback BPE needs its unknown piece)",
            )
        })?;
    // A user-defined piece stays whole only under its own spelling: the
    // respelled runs of spaces are left to the merges.
    let added = added_tokens(&tokens, &types, |id| stored[id] == tokens[id]);
    let tokenizer_json = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"},
        "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false},
        "post_processor": post_processor(file, &tokens),
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
        ]},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": unk, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true,
            "ignore_merges": false, "vocab": vocab, "merges": merges(&tokens, &vocab),
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

/// Every split of a piece into two pieces of the vocabulary, pieces in file
/// order, longer left parts first.
fn merges(tokens: &[String], vocab: &serde_json::Map<String, Json>) -> Vec<Json> {
    let mut merges = Vec::new();
    for token in tokens {
        let bounds: Vec<usize> = token.char_indices().map(|(i, _)| i).skip(1).collect();
        for &at in bounds.iter().rev() {
            let (left, right) = token.split_at(at);
            if vocab.contains_key(left) && vocab.contains_key(right) {
                merges.push(json!([left, right]));
            }
        }
    }
    merges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_spaces_are_respelled_and_merges_follow_file_order() {
        assert_eq!(respell_spaces("   "), "▁▁▁");
        assert_eq!(respell_spaces(" \n"), "▁▁");
        assert_eq!(respell_spaces("\n\n"), "\n\n");
        assert_eq!(respell_spaces("a b"), "a b");
        let tokens: Vec<String> = ["a", "b", "ab", "aab", "ba", "aa"]
            .iter()
            .map(|t| t.to_string())
            .collect();
        let vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), json!(i)))
            .collect();
        let got: Vec<Json> = merges(&tokens, &vocab);
        // "ab": a+b; "aab": aa+b before a+ab (longer left first); "ba"; "aa".
        let want = [["a", "b"], ["aa", "b"], ["a", "ab"], ["b", "a"], ["a", "a"]];
        assert_eq!(got, want.iter().map(|p| json!(p)).collect::<Vec<_>>());
    }
}
