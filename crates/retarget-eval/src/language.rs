//! Language codes, normalised in one place.
//!
//! Users and models name languages in many ways: ISO 639-1 (`sw`), ISO 639-3
//! (`swa`, `swh`), bibliographic ISO 639-2 (`per`), BCP-47 tags (`sw-Latn-TZ`),
//! GlotLID / NLLB labels (`swh_Latn`) and fastText labels (`__label__sw`).
//! [`Language::parse`] turns all of them into one ISO 639-3 code plus an
//! optional ISO 15924 script, and [`Language::matches`] decides whether two
//! languages are the same for an off-target check (an individual language
//! matches its macrolanguage: `swh` is `sw`).
//!
//! The table `data/languages.tsv` is generated from Debian's `iso-codes` and
//! CLDR by `scripts/gen-language-table.py`.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use crate::error::{EvalError, Result};

/// The generated table (see the module documentation).
const TABLE: &str = include_str!("../data/languages.tsv");

/// A language: an ISO 639-3 code (or ISO 639-2/639-5 for collective codes
/// that 639-3 lacks) and, when known, an ISO 15924 script.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language {
    code: &'static str,
    script: Option<&'static str>,
}

impl Language {
    /// Parses a language code or tag; fails with a usage error naming the
    /// code when the language or the script is unknown.
    pub fn parse(tag: &str) -> Result<Language> {
        Language::lookup(tag).ok_or_else(|| {
            EvalError::Usage(format!(
                "unknown language code '{tag}' (expected ISO 639-1/639-3 or BCP-47, e.g. sw, swa, swh, swh_Latn, sw-Latn-TZ)"
            ))
        })
    }

    /// Like [`Language::parse`], but `None` instead of an error.
    pub fn lookup(tag: &str) -> Option<Language> {
        let table = table();
        let tag = tag.trim();
        let tag = tag.strip_prefix("__label__").unwrap_or(tag);
        let mut subtags = tag.split(['_', '-']);
        let first = subtags.next()?.to_ascii_lowercase();
        let mut script = None;
        for subtag in subtags {
            // BCP-47: a 4-letter subtag is a script; regions (2 letters or 3
            // digits) and variants do not change the language.
            if subtag.len() == 4 && subtag.bytes().all(|b| b.is_ascii_alphabetic()) {
                script = Some(*table.scripts.get(subtag.to_ascii_lowercase().as_str())?);
            }
        }
        if let Some(&code) = table.codes.get(first.as_str()) {
            return Some(Language { code, script });
        }
        let &(code, alias_script) = table.aliases.get(first.as_str())?;
        Some(Language {
            code,
            script: script.or(alias_script),
        })
    }

    /// The ISO 639-3 code (`swh`).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The ISO 15924 script code (`Latn`), when known.
    pub fn script(&self) -> Option<&'static str> {
        self.script
    }

    /// The English name from ISO 639 (`Swahili (individual language)`).
    pub fn name(&self) -> &'static str {
        table().names.get(self.code).copied().unwrap_or(self.code)
    }

    /// The macrolanguage this language belongs to (`swh` → `swa`), or the
    /// language itself.
    pub fn macrolanguage(&self) -> &'static str {
        table().macros.get(self.code).copied().unwrap_or(self.code)
    }

    /// True when `other` counts as this language in an off-target check:
    /// the same code or macrolanguage, and no conflicting scripts.
    pub fn matches(&self, other: &Language) -> bool {
        let scripts_agree = match (self.script, other.script) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        scripts_agree && self.macrolanguage() == other.macrolanguage()
    }
}

impl serde::Serialize for Language {
    /// Serialised as its display form (`swh_Latn`).
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for Language {
    /// `swh` or `swh_Latn`, the form GlotLID and FLORES use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.script {
            Some(script) => write!(f, "{}_{script}", self.code),
            None => f.write_str(self.code),
        }
    }
}

/// The parsed table; keys are lower-case.
struct Table {
    /// Every accepted language code (639-1, 639-2/B, 639-3) → its 639-3 code.
    codes: HashMap<&'static str, &'static str>,
    /// 639-3 code → English name.
    names: HashMap<&'static str, &'static str>,
    /// Individual language → macrolanguage.
    macros: HashMap<&'static str, &'static str>,
    /// Deprecated or legacy code → replacement code and script.
    aliases: HashMap<&'static str, (&'static str, Option<&'static str>)>,
    /// Lower-case script code → its canonical spelling.
    scripts: HashMap<String, &'static str>,
}

fn table() -> &'static Table {
    static TABLE_CELL: OnceLock<Table> = OnceLock::new();
    TABLE_CELL.get_or_init(|| parse_table(TABLE))
}

fn parse_table(text: &'static str) -> Table {
    let mut table = Table {
        codes: HashMap::new(),
        names: HashMap::new(),
        macros: HashMap::new(),
        aliases: HashMap::new(),
        scripts: HashMap::new(),
    };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let fields: Vec<&'static str> = line.split('\t').collect();
        match fields.as_slice() {
            ["L", code3, code2, bibliographic, _scope, name] => {
                for key in [code3, code2, bibliographic] {
                    if !key.is_empty() {
                        table.codes.entry(key).or_insert(code3);
                    }
                }
                table.names.insert(code3, name);
            }
            ["M", individual, macro_code] => {
                table.macros.insert(individual, macro_code);
            }
            ["A", alias, replacement] => {
                let (code, script) = match replacement.split_once('_') {
                    Some((code, script)) => (code, Some(script)),
                    None => (*replacement, None),
                };
                table.aliases.insert(alias, (code, script));
            }
            ["S", script, _name] => {
                table.scripts.insert(script.to_ascii_lowercase(), script);
            }
            _ => unreachable!("malformed row in data/languages.tsv: {line:?}"),
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(tag: &str) -> String {
        Language::parse(tag).unwrap().to_string()
    }

    #[test]
    fn accepts_every_common_spelling() {
        assert_eq!(parse("sw"), "swa");
        assert_eq!(parse("swa"), "swa");
        assert_eq!(parse("swh"), "swh");
        assert_eq!(parse("swh_Latn"), "swh_Latn");
        assert_eq!(parse("sw-Latn-TZ"), "swa_Latn");
        assert_eq!(parse("SW"), "swa");
        assert_eq!(parse("__label__eu"), "eus");
        assert_eq!(parse("baq"), "eus"); // ISO 639-2/B
        assert_eq!(parse("tt-Cyrl"), "tat_Cyrl");
        assert_eq!(parse("zh-Hant-TW"), "zho_Hant");
        assert_eq!(parse("iw"), "heb"); // deprecated ISO 639-1
        assert_eq!(parse("bh"), "bih"); // collective ISO 639-2
        assert_eq!(
            Language::parse("swh").unwrap().name(),
            "Swahili (individual language)"
        );
    }

    #[test]
    fn rejects_unknown_codes_and_scripts() {
        for bad in ["xx", "qqq1", "", "sw_Abcd", "english"] {
            let err = Language::parse(bad).unwrap_err().to_string();
            assert!(err.contains("unknown language code"), "{bad}: {err}");
        }
    }

    #[test]
    fn individual_languages_match_their_macrolanguage() {
        let lang = |t| Language::parse(t).unwrap();
        assert!(lang("sw").matches(&lang("swh_Latn")));
        assert!(lang("swh").matches(&lang("sw")));
        assert!(lang("zh").matches(&lang("cmn_Hani")));
        assert!(lang("ar").matches(&lang("arb")));
        assert!(!lang("sw").matches(&lang("en")));
        assert!(!lang("sr_Cyrl").matches(&lang("sr_Latn")));
        assert!(lang("sr").matches(&lang("sr_Latn")));
        // Only CLDR's dominant member stands for the macrolanguage: Egyptian
        // Arabic is not Standard Arabic.
        assert!(!lang("ar").matches(&lang("arz")));
    }
}
