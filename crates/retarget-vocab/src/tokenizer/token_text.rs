//! A token's text apart from its tokenizer's conventions — byte-level BPE's
//! byte characters (`Ġ` is a space), SentencePiece's `▁`, WordPiece's `##`
//! continuations — and back: how a token of one tokenizer is spelled in
//! another's vocabulary, so that FVT can split it with the old model.

use retarget_model::gguf_tokenizer::byte_alphabet;
use serde_json::Value;

use crate::tokenizer::json::{ModelKind, TokenizerFile};

/// How a tokenizer writes text into its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Convention {
    /// Byte-level BPE: every byte is a printable character (GPT-2's table).
    ByteLevel,
    /// A space is written as this character (SentencePiece's `▁`).
    Metaspace(char),
    /// WordPiece: a word's first token is bare, the rest carry this prefix.
    WordPiece(String),
    /// Tokens are the text itself.
    Plain,
}

/// Whether a pre-tokenizer, decoder or normaliser tree mentions `needle`
/// (a component type or a replacement string).
fn mentions(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s == needle,
        Value::Object(o) => o.values().any(|v| mentions(v, needle)),
        Value::Array(a) => a.iter().any(|v| mentions(v, needle)),
        _ => false,
    }
}

impl Convention {
    /// The convention of `file`.
    pub fn of(file: &TokenizerFile) -> Self {
        let json = file.json();
        if file.kind() == ModelKind::WordPiece {
            return Convention::WordPiece(file.continuing_prefix().unwrap_or("##").to_string());
        }
        if file.is_byte_level() {
            return Convention::ByteLevel;
        }
        let parts = ["normalizer", "pre_tokenizer", "decoder"].map(|k| &json[k]);
        if parts
            .iter()
            .any(|v| mentions(v, "Metaspace") || mentions(v, "▁"))
        {
            return Convention::Metaspace('▁');
        }
        Convention::Plain
    }

    /// The bytes of the text `token` stands for; a token that starts a word
    /// starts with a space.
    pub fn text(&self, token: &str) -> Vec<u8> {
        match self {
            Convention::ByteLevel => {
                let table = byte_alphabet();
                token
                    .chars()
                    .flat_map(|c| match table.iter().position(|&t| t == c) {
                        Some(b) => vec![b as u8],
                        None => c.to_string().into_bytes(),
                    })
                    .collect()
            }
            Convention::Metaspace(space) => token.replace(*space, " ").into_bytes(),
            Convention::WordPiece(prefix) => match token.strip_prefix(prefix.as_str()) {
                Some(rest) if !rest.is_empty() => rest.as_bytes().to_vec(),
                _ => format!(" {token}").into_bytes(),
            },
            Convention::Plain => token.as_bytes().to_vec(),
        }
    }

    /// How this convention spells the text `bytes` as one token.
    pub fn spell(&self, bytes: &[u8]) -> String {
        match self {
            Convention::ByteLevel => {
                let table = byte_alphabet();
                bytes.iter().map(|&b| table[b as usize]).collect()
            }
            Convention::Metaspace(space) => {
                String::from_utf8_lossy(bytes).replace(' ', &space.to_string())
            }
            Convention::WordPiece(prefix) => {
                let text = String::from_utf8_lossy(bytes);
                match text.strip_prefix(' ') {
                    Some(word) => word.to_string(),
                    None => format!("{prefix}{text}"),
                }
            }
            Convention::Plain => String::from_utf8_lossy(bytes).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_their_text_across_conventions() {
        let bytes = Convention::ByteLevel;
        assert_eq!(bytes.text("Ġpaka"), b" paka");
        assert_eq!(bytes.text("Ã¤"), "ä".as_bytes());
        assert_eq!(bytes.spell(" äb".as_bytes()), "ĠÃ¤b");
        let spm = Convention::Metaspace('▁');
        assert_eq!(spm.text("▁paka"), b" paka");
        assert_eq!(spm.spell(&bytes.text("Ġpaka")), "▁paka");
        let wp = Convention::WordPiece("##".into());
        assert_eq!(wp.text("##ka"), b"ka");
        assert_eq!(wp.text("pa"), b" pa");
        assert_eq!(wp.spell(&spm.text("▁pa")), "pa");
        assert_eq!(wp.spell(&spm.text("ka")), "##ka");
        // Every byte round-trips through the byte-level table.
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(bytes.text(&bytes.spell(&all)), all);
    }
}
