//! The language tokens of a translation model's vocabulary and how each
//! family uses them: m2m_100 (`__sw__`) and NLLB (`swh_Latn`) mark the source
//! with the source language's token and force the target language's token
//! as the first generated token; multi-target marian models read a
//! `>>swh<<` token in front of the source, multilingual t5 models (MADLAD)
//! a `<2sw>` token.

use std::collections::BTreeMap;

use retarget_eval::language::Language;
use tokenizers::Tokenizer;

use super::config::Family;
use crate::error::{InferError, Result};

/// The language tokens found in a vocabulary.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LanguageTokens {
    /// Token text → (id, language).
    tokens: BTreeMap<String, (u32, Language)>,
}

/// The language code inside a language token of `family`, if `token` is one.
fn code_of(token: &str, family: Family) -> Option<&str> {
    match family {
        Family::M2m100 => {
            if let Some(code) = token.strip_prefix("__").and_then(|t| t.strip_suffix("__")) {
                return (code.len() >= 2
                    && code.len() <= 3
                    && code.bytes().all(|b| b.is_ascii_lowercase()))
                .then_some(code);
            }
            let (code, script) = token.split_once('_')?;
            let lower = code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase());
            let titled = script.len() == 4
                && script.as_bytes()[0].is_ascii_uppercase()
                && script.bytes().skip(1).all(|b| b.is_ascii_lowercase());
            (lower && titled).then_some(token)
        }
        Family::Marian => {
            let code = token.strip_prefix(">>")?.strip_suffix("<<")?;
            (!code.is_empty()).then_some(code)
        }
        Family::T5 => {
            let code = token.strip_prefix("<2")?.strip_suffix('>')?;
            (!code.is_empty()).then_some(code)
        }
    }
}

impl LanguageTokens {
    /// Scans the vocabulary (and added tokens) for `family`'s language tokens.
    pub fn find(tokenizer: &Tokenizer, family: Family) -> Self {
        let tokens = tokenizer
            .get_vocab(true)
            .into_iter()
            .filter_map(|(token, id)| {
                let language = Language::lookup(code_of(&token, family)?)?;
                Some((token, (id, language)))
            })
            .collect();
        LanguageTokens { tokens }
    }

    /// Whether the vocabulary has language tokens at all (a single-target
    /// marian model has none).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The token of `language`: the one whose script matches when the
    /// language is written in several, else the only one. Errors name the
    /// language and some of the languages the model knows.
    pub fn token_for(&self, language: &Language) -> Result<(String, u32)> {
        let matching: Vec<(&String, &(u32, Language))> = self
            .tokens
            .iter()
            .filter(|(_, (_, l))| l.matches(language))
            .collect();
        let exact: Vec<_> = matching
            .iter()
            .filter(|(_, (_, l))| {
                language.script().is_none()
                    || l.script().is_none()
                    || l.script() == language.script()
            })
            .collect();
        match exact.as_slice() {
            [(token, (id, _))] => Ok(((*token).clone(), *id)),
            [] => {
                let known: Vec<&str> = self.tokens.keys().map(String::as_str).take(12).collect();
                Err(InferError::Request(format!(
                    "the model has no token for {language} ({}); it has {} language tokens such as {}",
                    language.name(),
                    self.tokens.len(),
                    known.join(", ")
                )))
            }
            several => {
                let names: Vec<&str> = several.iter().map(|(t, _)| t.as_str()).collect();
                Err(InferError::Request(format!(
                    "{language} matches several language tokens ({}); give the script, e.g. {}",
                    names.join(", "),
                    names[0]
                )))
            }
        }
    }
}
