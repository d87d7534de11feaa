//! chrF and chrF++ exactly as sacrebleu 2.6 computes them: character n-grams
//! of the text with whitespace removed, optional word n-grams with
//! sacrebleu's punctuation splitting, the best reference per segment by
//! F-score, and the averaged-precision/recall corpus formula.

use std::borrow::Cow;

use crate::ngrams::{
    char_boundaries, char_match_stats, char_ngrams, clipped_matches, word_match_stats, CharScratch,
    Counts, MAX_PACKED_CHAR_ORDER,
};
use crate::score::{Score, Signature};
use retarget_model::text::python;

/// chrF settings.
#[derive(Debug, Clone, Copy)]
pub struct Chrf {
    /// Character n-gram order (6).
    pub char_order: usize,
    /// Word n-gram order (0 for chrF, 2 for chrF++).
    pub word_order: usize,
    /// Recall weight (2).
    pub beta: u32,
    /// Lowercase first.
    pub lowercase: bool,
    /// Keep whitespace inside character n-grams.
    pub whitespace: bool,
    /// Use epsilon smoothing (chrF's original implementation) instead of
    /// the effective order.
    pub eps_smoothing: bool,
}

impl Default for Chrf {
    fn default() -> Self {
        Chrf {
            char_order: 6,
            word_order: 0,
            beta: 2,
            lowercase: false,
            whitespace: false,
            eps_smoothing: false,
        }
    }
}

/// Per-order (hypothesis n-grams, reference n-grams, matches), char orders
/// first, then word orders.
pub type ChrfStats = Vec<[u64; 3]>;

/// Python's `string.punctuation`, which sacrebleu splits off words: the 32
/// ASCII punctuation characters, exactly `char::is_ascii_punctuation`'s
/// set (a search of the 32-character string per word was a few percent of
/// chrF++).
fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
}

/// sacrebleu's `_remove_punctuation`: split one leading or trailing ASCII
/// punctuation mark off each word (trailing first).
fn words(sent: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in python::split(sent) {
        let mut chars = w.chars();
        let first = chars.next().expect("non-empty word");
        let last = w.chars().next_back().expect("non-empty word");
        if chars.next().is_none() {
            out.push(w);
        } else if is_punct(last) {
            out.push(&w[..w.len() - last.len_utf8()]);
            out.push(&w[w.len() - last.len_utf8()..]);
        } else if is_punct(first) {
            out.push(&w[..first.len_utf8()]);
            out.push(&w[first.len_utf8()..]);
        } else {
            out.push(w);
        }
    }
    out
}

/// Scratch buffers reused by every segment a thread scores (sentence-level
/// scoring of short segments spent a fifth of its time in the allocator).
#[derive(Default)]
struct Scratch {
    hyp_chars: Vec<char>,
    ref_chars: Vec<char>,
    chars: CharScratch,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

impl Chrf {
    fn order(&self) -> usize {
        self.char_order + self.word_order
    }

    /// The segment as chrF sees it: lowercased when asked (the only case
    /// that needs a copy).
    fn cased<'s>(&self, sent: &'s str) -> Cow<'s, str> {
        if self.lowercase {
            Cow::Owned(sent.to_lowercase())
        } else {
            Cow::Borrowed(sent)
        }
    }

    /// The characters of the segment's character n-grams (whitespace removed
    /// unless kept), into `chars`.
    fn chars_into(&self, sent: &str, chars: &mut Vec<char>) {
        chars.clear();
        if self.whitespace {
            chars.extend(sent.chars());
            return;
        }
        // The characters of Python's `split()` tokens: all but whitespace.
        // ASCII bytes are characters of their own, taken without decoding
        // (a filtered `extend` could not size the vector and cost a tenth
        // of sentence-level chrF).
        chars.reserve(sent.len());
        let bytes = sent.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                if !python::is_py_space(b as char) {
                    chars.push(b as char);
                }
                i += 1;
            } else {
                let c = sent[i..].chars().next().expect("a character starts here");
                if !python::is_py_space(c) {
                    chars.push(c);
                }
                i += c.len_utf8();
            }
        }
    }

    /// The text of the segment's character n-grams, for orders above
    /// [`MAX_PACKED_CHAR_ORDER`], which count substrings.
    fn char_text(&self, sent: &str) -> String {
        if self.whitespace {
            sent.to_string()
        } else {
            python::split(sent).collect()
        }
    }

    /// Statistics of one hypothesis against its references (the reference
    /// with the best sentence F-score wins; the first on ties).
    pub fn segment_stats(&self, hypothesis: &str, references: &[&str]) -> ChrfStats {
        let hyp = self.cased(hypothesis);
        let hyp_words = if self.word_order > 0 {
            words(&hyp)
        } else {
            Vec::new()
        };
        if self.char_order <= MAX_PACKED_CHAR_ORDER {
            return SCRATCH.with_borrow_mut(|scratch| {
                let Scratch {
                    hyp_chars,
                    ref_chars,
                    chars,
                } = scratch;
                self.chars_into(&hyp, hyp_chars);
                self.best_reference(&hyp_words, references, |r| {
                    if self.char_order == 0 {
                        return Vec::new();
                    }
                    self.chars_into(r, ref_chars);
                    char_match_stats(hyp_chars, ref_chars, self.char_order, chars)
                })
            });
        }
        // Orders above MAX_PACKED_CHAR_ORDER (`-cc 7` or more): substrings
        // counted in hash tables.
        let hyp_text = self.char_text(&hyp);
        let hyp_boundaries = char_boundaries(&hyp_text);
        let hyp_counted: Vec<_> = (1..=self.char_order)
            .map(|n| char_ngrams(&hyp_text, &hyp_boundaries, n))
            .collect();
        self.best_reference(&hyp_words, references, |r| {
            let text = self.char_text(r);
            let boundaries = char_boundaries(&text);
            (1..=self.char_order)
                .zip(&hyp_counted)
                .map(|(n, h)| match_stats(h, &char_ngrams(&text, &boundaries, n)))
                .collect()
        })
    }

    /// The statistics against the reference with the best sentence F-score
    /// (the first on ties): per reference (cased), `char_stats` of it, then
    /// the word n-gram statistics against `hyp_words`.
    fn best_reference(
        &self,
        hyp_words: &[&str],
        references: &[&str],
        mut char_stats: impl FnMut(&str) -> ChrfStats,
    ) -> ChrfStats {
        let mut best: Option<(f64, ChrfStats)> = None;
        for reference in references {
            let r = self.cased(reference);
            let mut stats = char_stats(&r);
            if self.word_order > 0 {
                stats.extend(word_match_stats(hyp_words, &words(&r), self.word_order));
            }
            // With one reference there is nothing to choose between.
            let f = if references.len() == 1 {
                0.0
            } else {
                self.f_score(&stats)
            };
            if best.as_ref().is_none_or(|(b, _)| f > *b) {
                best = Some((f, stats));
            }
        }
        best.map(|(_, s)| s).unwrap_or_default()
    }

    /// sacrebleu's `_compute_f_score`, 0–100.
    pub fn f_score(&self, stats: &[[u64; 3]]) -> f64 {
        let eps = 1e-16;
        let factor = (self.beta * self.beta) as f64;
        let mut score = 0.0;
        let mut effective_order = 0usize;
        let (mut avg_prec, mut avg_rec) = (0.0f64, 0.0f64);
        for i in 0..self.order() {
            let [n_hyp, n_ref, n_match] = stats.get(i).copied().unwrap_or_default();
            let prec = if n_hyp > 0 {
                n_match as f64 / n_hyp as f64
            } else {
                eps
            };
            let rec = if n_ref > 0 {
                n_match as f64 / n_ref as f64
            } else {
                eps
            };
            let denom = factor * prec + rec;
            score += if denom > 0.0 {
                (1.0 + factor) * prec * rec / denom
            } else {
                eps
            };
            if n_hyp > 0 && n_ref > 0 {
                avg_prec += prec;
                avg_rec += rec;
                effective_order += 1;
            }
        }
        if self.eps_smoothing {
            return 100.0 * score / self.order() as f64;
        }
        if effective_order == 0 {
            avg_prec = 0.0;
            avg_rec = 0.0;
        } else {
            avg_prec /= effective_order as f64;
            avg_rec /= effective_order as f64;
        }
        if avg_prec + avg_rec != 0.0 {
            let mut s = (1.0 + factor) * avg_prec * avg_rec;
            s /= (factor * avg_prec) + avg_rec;
            100.0 * s
        } else {
            0.0
        }
    }

    /// The metric's display name, e.g. `chrF2` or `chrF2++`.
    pub fn name(&self) -> String {
        let mut name = String::new();
        self.write_name(&mut name);
        name
    }

    /// Appends [`Chrf::name`].
    pub fn write_name(&self, out: &mut String) {
        out.push_str("chrF");
        out.push_str(itoa::Buffer::new().format(self.beta));
        for _ in 0..self.word_order {
            out.push('+');
        }
    }

    /// sacrebleu's signature fields (without `nrefs` and `version`).
    pub fn signature_fields(&self) -> Vec<(&'static str, String)> {
        let yn = |b: bool| if b { "yes" } else { "no" }.to_string();
        vec![
            ("case", if self.lowercase { "lc" } else { "mixed" }.into()),
            ("eff", yn(!self.eps_smoothing)),
            ("nc", self.char_order.to_string()),
            ("nw", self.word_order.to_string()),
            ("space", yn(self.whitespace)),
        ]
    }

    /// The score of (summed) statistics.
    pub fn score(&self, stats: &[[u64; 3]], signature: Signature) -> Score {
        Score {
            name: self.name(),
            score: self.f_score(stats),
            verbose: String::new(),
            signature,
        }
    }
}

/// sacrebleu's `_get_match_statistics`: the hypothesis count is zero when the
/// reference has no n-grams of that order.
fn match_stats<K: std::hash::Hash + Eq>(hyp: &Counts<K>, reference: &Counts<K>) -> [u64; 3] {
    let (matched, hyp_count) = clipped_matches(hyp, reference);
    let ref_count: u64 = reference.values().map(|&c| c as u64).sum();
    [
        if reference.is_empty() { 0 } else { hyp_count },
        ref_count,
        matched,
    ]
}

/// Adds per-order statistics.
pub fn add_stats(total: &mut ChrfStats, segment: &[[u64; 3]]) {
    if total.len() < segment.len() {
        total.resize(segment.len(), [0; 3]);
    }
    for (t, s) in total.iter_mut().zip(segment) {
        for k in 0..3 {
            t[k] += s[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punctuation_is_pythons_string_punctuation() {
        const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(is_punct(c), PUNCTUATION.contains(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn punctuation_splitting_follows_sacrebleu() {
        assert_eq!(
            words("Hello, (world) a ! \"x"),
            ["Hello", ",", "(world", ")", "a", "!", "\"", "x"]
        );
    }
}
