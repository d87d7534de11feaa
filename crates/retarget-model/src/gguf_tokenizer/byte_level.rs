//! Byte-level BPE vocabularies (`tokenizer.ggml.model = gpt2`, used by
//! SmolLM, Llama 3, Qwen, GPT-2 and most recent models): tokens respelled in
//! GPT-2's byte alphabet where the file writes raw text, the file's merges,
//! and the pre-tokenizer llama.cpp's `tokenizer.ggml.pre` names, so that text
//! splits as the model was trained.

use std::path::Path;

use serde_json::{json, Value as Json};

use super::{
    added_tokens, finish, post_processor, strings, token_types, vocabulary, GgufTokenizer,
};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// `tokenizer.ggml.pre` values understood, for error messages.
const KNOWN_PRE: &str =
    "default, gpt-2, smollm, llama3, llama-v3, llama-bpe, smaug-bpe, qwen2, deepseek-r1-qwen";

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

/// The `tokenizer.ggml.pre` names written for export, each standing for the
/// pre-tokenizer [`pre_tokenizer`] builds from it.
pub(crate) const EXPORTED_PRE: [&str; 4] = ["default", "smollm", "llama-bpe", "qwen2"];

/// The pre-tokenizer llama.cpp's `tokenizer.ggml.pre` name `pre` stands for.
pub(crate) fn pre_tokenizer(path: &Path, pre: &str) -> Result<Json> {
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

/// Rebuilds a byte-level BPE tokenizer (`tokenizer.ggml.model = gpt2`).
pub(super) fn rebuild(file: &GgufFile) -> Result<GgufTokenizer> {
    let path = file.path();
    let alphabet = byte_alphabet();
    let in_alphabet = |t: &str| t.chars().all(|c| alphabet.contains(&c));
    let respell = |t: &str| -> String { t.bytes().map(|b| alphabet[b as usize]).collect() };
    let tokens: Vec<String> = strings(file, "tokenizer.ggml.tokens")?
        .iter()
        .map(|t| {
            if in_alphabet(t) {
                t.clone()
            } else {
                respell(t)
            }
        })
        .collect();
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
    let vocab = vocabulary(path, &tokens)?;
    let types = token_types(file, tokens.len())?;
    let added = added_tokens(file, &tokens, &types, |_| true);
    let pre = file.meta_str("tokenizer.ggml.pre").unwrap_or("default");
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true});
    let tokenizer_json = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer(path, pre)?,
        "post_processor": post_processor(file, &tokens).unwrap_or(byte_level),
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": false, "vocab": vocab, "merges": merges,
        },
    });
    finish(file, tokenizer_json, &tokens)
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
