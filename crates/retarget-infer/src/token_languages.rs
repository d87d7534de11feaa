//! Which language each vocabulary token belongs to, for the logit lens's
//! probability mass per language. Computed once per tokenizer and language
//! list, and cached on disk.
//!
//! A token is decoded to text; tokens without letters (punctuation, digits,
//! whitespace, partial UTF-8 bytes) belong to no language. The script of its
//! letters (Unicode script property) picks the requested languages written in
//! that script; one candidate takes the token, several are told apart by the
//! evaluation crate's language identification (lingua, restricted to those
//! candidates) when it is confident enough, otherwise the token stays
//! unassigned.

use std::collections::BTreeSet;
use std::path::PathBuf;

use rayon::prelude::*;
use retarget_eval::langid::Backend;
use retarget_eval::language::Language;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;
use unicode_script::{Script, UnicodeScript};

use crate::error::{InferError, Result};

/// Confidence lingua must reach among the candidate languages to assign a
/// token of a shared script (a token is a few letters: little evidence).
pub const MIN_CONFIDENCE: f64 = 0.6;

/// The language of every token id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLanguages {
    /// The requested languages (ISO 639-3 codes, with script when given).
    pub languages: Vec<String>,
    /// Per token id: index into `languages`, or `None`.
    pub assignment: Vec<Option<u16>>,
}

/// Scripts a language is written in: the script of its tag when given, else
/// the usual script(s) of the language (Latin for those not listed).
fn scripts_of(language: &Language) -> Vec<&'static str> {
    if let Some(script) = language.script() {
        return match script {
            "Jpan" => vec!["Hira", "Kana", "Hani"],
            "Kore" => vec!["Hang", "Hani"],
            "Hans" | "Hant" => vec!["Hani"],
            other => vec![other],
        };
    }
    match language.code() {
        "rus" | "ukr" | "bel" | "bul" | "mkd" | "srp" | "tat" | "bak" | "kaz" | "kir" | "mon"
        | "khk" | "tgk" | "chv" | "sah" | "oss" | "kbd" | "che" | "udm" | "kom" | "myv" => {
            vec!["Cyrl"]
        }
        "ell" | "grc" => vec!["Grek"],
        "arb" | "ara" | "fas" | "pes" | "prs" | "urd" | "pus" | "pbu" | "ckb" | "uig" | "snd"
        | "arz" | "ary" | "apc" => {
            vec!["Arab"]
        }
        "heb" | "yid" | "ydd" => vec!["Hebr"],
        "hin" | "mar" | "nep" | "npi" | "san" | "mai" | "bho" => vec!["Deva"],
        "ben" | "asm" => vec!["Beng"],
        "tam" => vec!["Taml"],
        "tel" => vec!["Telu"],
        "kan" => vec!["Knda"],
        "mal" => vec!["Mlym"],
        "guj" => vec!["Gujr"],
        "pan" => vec!["Guru"],
        "ori" | "ory" => vec!["Orya"],
        "sin" => vec!["Sinh"],
        "tha" => vec!["Thai"],
        "lao" => vec!["Laoo"],
        "khm" => vec!["Khmr"],
        "mya" => vec!["Mymr"],
        "kat" => vec!["Geor"],
        "hye" => vec!["Armn"],
        "amh" | "tir" => vec!["Ethi"],
        "zho" | "cmn" | "yue" | "wuu" => vec!["Hani"],
        "jpn" => vec!["Hira", "Kana", "Hani"],
        "kor" => vec!["Hang", "Hani"],
        _ => vec!["Latn"],
    }
}

/// The scripts of the letters of `text` (Common and Inherited ignored).
fn letter_scripts(text: &str) -> BTreeSet<&'static str> {
    text.chars()
        .filter(|c| c.is_alphabetic())
        .map(|c| c.script())
        .filter(|s| !matches!(s, Script::Common | Script::Inherited | Script::Unknown))
        .map(Script::short_name)
        .collect()
}

impl TokenLanguages {
    /// Assigns every token of `tokenizer` (ids `0..vocab_size`) to one of
    /// `languages` or to none, on all cores.
    pub fn assign(
        tokenizer: &Tokenizer,
        vocab_size: usize,
        languages: &[Language],
    ) -> Result<Self> {
        let scripts: Vec<Vec<&'static str>> = languages.iter().map(scripts_of).collect();
        // One identifier per set of languages sharing a script.
        let mut identifiers: Vec<(Vec<usize>, Backend)> = Vec::new();
        let mut groups: BTreeSet<Vec<usize>> = BTreeSet::new();
        for script in scripts.iter().flatten() {
            let group: Vec<usize> = (0..languages.len())
                .filter(|&l| scripts[l].contains(script))
                .collect();
            if group.len() > 1 {
                groups.insert(group);
            }
        }
        for group in groups {
            let known: Vec<usize> = group
                .iter()
                .copied()
                .filter(|&l| {
                    Backend::from_spec("lingua", std::slice::from_ref(&languages[l])).is_ok()
                })
                .collect();
            let chosen: Vec<Language> = known.iter().map(|&l| languages[l].clone()).collect();
            if known.len() > 1 {
                let backend = Backend::from_spec("lingua", &chosen)
                    .map_err(|e| InferError::Request(e.to_string()))?;
                identifiers.push((group, backend));
            }
        }
        let assignment = (0..vocab_size as u32)
            .into_par_iter()
            .map(|id| {
                let text = tokenizer.decode(&[id], false).unwrap_or_default();
                if text.contains('\u{FFFD}') {
                    return None;
                }
                let found = letter_scripts(&text);
                let candidates: Vec<usize> = (0..languages.len())
                    .filter(|&l| !found.is_empty() && found.iter().all(|s| scripts[l].contains(s)))
                    .collect();
                match candidates.as_slice() {
                    [] => None,
                    [only] => Some(*only as u16),
                    several => {
                        let (_, backend) = identifiers
                            .iter()
                            .find(|(group, _)| several.iter().all(|l| group.contains(l)))?;
                        let found = backend.identify(text.trim())?;
                        if found.confidence < MIN_CONFIDENCE {
                            return None;
                        }
                        let language = found.language?;
                        several
                            .iter()
                            .copied()
                            .find(|&l| languages[l].matches(&language))
                            .map(|l| l as u16)
                    }
                }
            })
            .collect();
        Ok(TokenLanguages {
            languages: languages.iter().map(ToString::to_string).collect(),
            assignment,
        })
    }

    /// [`TokenLanguages::assign`], read from the cache when this tokenizer
    /// and language list were assigned before, and written there otherwise.
    /// Returns the cache file as well (`None` when no cache folder is
    /// available).
    pub fn cached(
        tokenizer: &Tokenizer,
        vocab_size: usize,
        languages: &[Language],
    ) -> Result<(Self, Option<PathBuf>)> {
        let Some(folder) = cache_folder() else {
            return Ok((Self::assign(tokenizer, vocab_size, languages)?, None));
        };
        let serialized = tokenizer
            .to_string(false)
            .map_err(|e| InferError::Request(format!("cannot serialise the tokenizer: {e}")))?;
        let mut key = fnv1a(serialized.as_bytes(), FNV_OFFSET);
        for language in languages {
            key = fnv1a(language.to_string().as_bytes(), key ^ 0xff);
        }
        key = fnv1a(&(vocab_size as u64).to_le_bytes(), key);
        let path = folder.join(format!("{key:016x}.json"));
        if let Some(found) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<TokenLanguages>(&b).ok())
            .filter(|t| t.assignment.len() == vocab_size)
        {
            return Ok((found, Some(path)));
        }
        let assigned = Self::assign(tokenizer, vocab_size, languages)?;
        let written = std::fs::create_dir_all(&folder).is_ok()
            && retarget_model::output::write_file_atomically(
                &path,
                &serde_json::to_vec(&assigned).expect("serialisable"),
            )
            .is_ok();
        Ok((assigned, written.then_some(path)))
    }
}

/// `$XDG_CACHE_HOME/retarget/token-languages`, else `~/.cache/…`.
fn cache_folder() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("retarget").join("token-languages"))
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, written out because the cache key must stay the same across
/// builds and Rust versions (std's hashers promise no such thing).
fn fnv1a(bytes: &[u8], mut hash: u64) -> u64 {
    for &b in bytes {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}
