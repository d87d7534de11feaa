//! lingua's language detection over lingua's own models, ten times faster:
//! lingua spends 87 % of its time in one FST lookup per n-gram and order;
//! here the distinct n-grams of a batch of texts are looked up by one walk
//! through every candidate language's FST (`ngrams`). The decisions are
//! lingua 1.8.0's `compute_language_confidence_values`, step for step; only
//! the order in which a language's log-probabilities are added differs
//! (lingua adds them in hash-set order, which varies from run to run), so
//! the confidences agree to the last bits and the labels agree
//! (`tests/lingua_agreement.rs`).

mod models;
mod ngrams;
mod rules;

use std::sync::LazyLock;

use fst::raw::Fst;
use lingua::Language;
use regex::Regex;

use models::{models, Models};
use ngrams::{Grams, Visit, LONGEST};
use rules::Rules;

/// lingua's words: runs of letters, and single Han or kana characters.
static WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\p{Bengali}+|\p{Devanagari}+|\p{Gujarati}+|\p{Gurmukhi}+|\p{Han}|\p{Hangul}+|\p{Hiragana}|\p{Katakana}|\p{Tamil}+|\p{Telugu}+|\p{Thai}+|\p{L}+",
    )
    .expect("a valid pattern")
});

/// Texts of at least this many letters are scored on trigrams only.
const LONG_TEXT: usize = 120;

/// What lingua's rules make of a text.
enum Decision {
    /// The text is in this language (confidence 1).
    Language(Language),
    /// No language (every confidence 0).
    None,
    /// The n-gram probabilities of these candidates decide.
    Score(Vec<Language>),
}

/// A line whose n-grams are scored.
struct Line {
    /// Its place among the texts.
    index: usize,
    /// Which of the walked languages are its candidates.
    candidates: Vec<bool>,
    /// Whether only trigrams are scored (long texts, low-accuracy mode).
    trigrams_only: bool,
    /// The orders scored.
    orders: Vec<usize>,
}

/// A detector over a set of lingua's languages.
pub(super) struct Detector {
    /// Its languages, sorted.
    languages: Vec<Language>,
    low_accuracy: bool,
    rules: Rules,
    /// lingua's languages written in a script of their own.
    single_script: Vec<Language>,
}

impl Detector {
    /// A detector over `languages` (not empty), in lingua's low-accuracy mode
    /// when `low_accuracy`.
    pub(super) fn new(languages: &[Language], low_accuracy: bool) -> Detector {
        let mut languages = languages.to_vec();
        languages.sort();
        languages.dedup();
        Detector {
            rules: Rules::new(&languages),
            languages,
            low_accuracy,
            single_script: Language::all_with_single_unique_script()
                .into_iter()
                .collect(),
        }
    }

    /// Every language of the detector with its confidence for `text`,
    /// most likely first, as lingua's `compute_language_confidence_values`.
    pub(super) fn confidence_values(&self, text: &str) -> Vec<(Language, f64)> {
        let mut values = self.confidence_values_of(&[text]);
        values.pop().expect("one text, one result")
    }

    /// [`Detector::confidence_values`] of each text; the n-grams of all of
    /// them are looked up together.
    pub(super) fn confidence_values_of(&self, texts: &[&str]) -> Vec<Vec<(Language, f64)>> {
        let lowercase: Vec<String> = texts.iter().map(|t| t.trim().to_lowercase()).collect();
        let words: Vec<Vec<&str>> = lowercase
            .iter()
            .map(|t| WORDS.find_iter(t).map(|m| m.as_str()).collect())
            .collect();
        let zeros: Vec<(Language, f64)> = self.languages.iter().map(|&l| (l, 0.0)).collect();
        let mut values = vec![zeros; texts.len()];
        let unique_or_common = if self.languages.len() == 1 || self.low_accuracy {
            self.unique_or_common(&words)
        } else {
            vec![None; words.len()]
        };
        let mut to_score = Vec::new();
        for (line, words) in words.iter().enumerate() {
            if words.is_empty() {
                continue;
            }
            match self.decide(words, unique_or_common[line]) {
                Decision::Language(language) => {
                    if let Some(value) = values[line].iter_mut().find(|(l, _)| *l == language) {
                        value.1 = 1.0;
                    }
                }
                Decision::None => {}
                Decision::Score(candidates) => {
                    let letters: usize = words.iter().map(|w| w.chars().count()).sum();
                    if !(self.low_accuracy && letters < 3) {
                        to_score.push((line, candidates, letters));
                    }
                }
            }
        }
        self.score(&words, &to_score, &mut values);
        for values in &mut values {
            values.sort_by(|a, b| {
                b.1.partial_cmp(&a.1)
                    .expect("confidences are numbers")
                    .then(a.0.cmp(&b.0))
            });
        }
        values
    }

    /// What lingua's rules make of a text's words (lingua's steps before
    /// its n-gram probabilities), given the language its unique or most
    /// common n-grams point to (looked for only in a detector of one
    /// language or in the low-accuracy mode).
    fn decide(&self, words: &[&str], unique_or_common: Option<Language>) -> Decision {
        let one_language = self.languages.len() == 1;
        if let Some(language) = unique_or_common {
            return Decision::Language(language);
        }
        if let Some(language) = self.rules.decide(words) {
            return Decision::Language(language);
        }
        if one_language {
            return Decision::None;
        }
        let candidates = self.rules.narrow(words);
        if let [language] = candidates[..] {
            return Decision::Language(language);
        }
        Decision::Score(candidates)
    }

    /// For each text (its words), the one language whose unique (or, for
    /// a detector of one language, most common) n-grams it has (lingua's
    /// `detect_language_with_unique_and_common_ngrams`); the texts' n-grams
    /// are looked up together.
    fn unique_or_common(&self, words: &[Vec<&str>]) -> Vec<Option<Language>> {
        let one_language = self.languages.len() == 1;
        // Unigrams count only for these languages.
        let unigrams: Vec<bool> = self
            .languages
            .iter()
            .map(|&language| {
                matches!(language, Language::Hindi | Language::Marathi)
                    || (language == Language::Japanese && one_language)
                    || self.single_script.contains(&language)
            })
            .collect();
        let n = self.languages.len();
        let mut hit = vec![false; words.len() * n];
        // Which n-gram lengths count in the unique and in the most common
        // n-grams of language l.
        let in_unique = |l: usize, length: usize| length >= 2 || unigrams[l];
        let in_common = |l: usize, length: usize| length >= 3 || (length == 1 && unigrams[l]);
        let set = |pick: fn(&'static Models) -> Option<&'static Fst<&'static [u8]>>| {
            (0..n)
                .filter_map(|l| Some((l, pick(models(self.languages[l]))?)))
                .unzip::<_, _, Vec<usize>, Vec<_>>()
        };
        let mut sets: Vec<(_, &dyn Fn(usize, usize) -> bool)> =
            vec![(set(|m| m.unique.as_ref()), &in_unique)];
        if one_language {
            sets.push((set(|m| m.most_common.as_ref()), &in_common));
        }
        let grams = Grams::new(words.iter().map(|w| (&w[..], LONGEST, false)));
        for ((with_set, fsts), counts) in sets {
            // found[f][length]: whether the current n-gram of that length
            // is in set f.
            let mut found = vec![[false; LONGEST + 1]; fsts.len()];
            grams.walk(&fsts, |visit| match visit {
                Visit::Gram { length, values } => {
                    for (found, value) in found.iter_mut().zip(values) {
                        found[length] = value.is_some();
                    }
                }
                Visit::Line { line, length } => {
                    for (f, &l) in with_set.iter().enumerate() {
                        hit[line * n + l] |= found[f][length] && counts(l, length);
                    }
                }
            });
        }
        hit.chunks(n)
            .map(|hit| {
                let mut found = self.languages.iter().zip(hit).filter(|(_, &h)| h);
                match (found.next(), found.next()) {
                    (Some((&language, _)), None) => Some(language),
                    _ => None,
                }
            })
            .collect()
    }

    /// Sets the confidences of the lines in `to_score` (line, candidate
    /// languages, letters) from their n-gram probabilities (lingua's
    /// probability stage, from `create_lower_order_ngrams` to
    /// `compute_confidence_values`).
    fn score(
        &self,
        words: &[Vec<&str>],
        to_score: &[(usize, Vec<Language>, usize)],
        values: &mut [Vec<(Language, f64)>],
    ) {
        if to_score.is_empty() {
            return;
        }
        // Every candidate of any line with a model, walked together.
        let mut languages: Vec<Language> = to_score
            .iter()
            .flat_map(|(_, c, _)| c.iter().copied())
            .collect();
        languages.sort();
        languages.dedup();
        let (languages, fsts): (Vec<Language>, Vec<_>) = languages
            .into_iter()
            .filter_map(|l| Some((l, models(l).probabilities.as_ref()?)))
            .unzip();
        let n = languages.len();

        let lines: Vec<Line> = to_score
            .iter()
            .map(|(line, candidates, letters)| {
                let trigrams_only = *letters >= LONG_TEXT || self.low_accuracy;
                Line {
                    index: *line,
                    candidates: languages.iter().map(|l| candidates.contains(l)).collect(),
                    trigrams_only,
                    // The orders lingua scores; an order longer than the
                    // whole text is skipped (none of its n-grams can exist).
                    orders: if trigrams_only { 3..=3 } else { 1..=LONGEST }
                        .filter(|&order| *letters >= order)
                        .collect(),
                }
            })
            .collect();
        let grams = Grams::new(lines.iter().map(|line| {
            let longest = if line.trigrams_only { 3 } else { LONGEST };
            (&words[line.index][..], longest, line.trigrams_only)
        }));

        // Per line and candidate: the sum of each order's log-probabilities
        // and, for the unigram order, how many of the line's distinct
        // unigrams the model has.
        let mut sums = vec![[0.0f64; LONGEST + 1]; lines.len() * n];
        let mut unigrams = vec![0usize; lines.len() * n];
        // Per candidate, along the current n-gram: the value of its longest
        // prefix in the model of each length (an n-gram missing from the
        // model counts as that), and whether its first character is there.
        let mut best = vec![[None::<f64>; LONGEST + 1]; n];
        let mut first_found = vec![false; n];
        grams.walk(&fsts, |visit| match visit {
            Visit::Gram { length, values } => {
                for (l, value) in values.iter().enumerate() {
                    let value = value.map(f64::from_bits);
                    if length == 1 {
                        first_found[l] = value.is_some();
                    }
                    best[l][length] = value.or(best[l][length - 1]);
                }
            }
            Visit::Line { line: k, length } => {
                let line = &lines[k];
                if line.trigrams_only && length != 3 {
                    return;
                }
                for l in (0..n).filter(|&l| line.candidates[l]) {
                    if let Some(p) = best[l][length] {
                        sums[k * n + l][length] += p;
                    }
                    if length == 1 && first_found[l] {
                        unigrams[k * n + l] += 1;
                    }
                }
            }
        });

        for (k, line) in lines.iter().enumerate() {
            let values = &mut values[line.index];
            let mut first_order: Vec<(Language, f64)> = Vec::new();
            let mut probabilities: Vec<(Language, f64)> = Vec::new();
            for l in (0..n).filter(|&l| line.candidates[l]) {
                let (language, sums, unigrams) =
                    (languages[l], &sums[k * n + l], unigrams[k * n + l]);
                // lingua keeps an order's sum only when negative.
                let kept = |order: usize| Some(sums[order]).filter(|&s| s < 0.0);
                if let Some(sum) = line.orders.first().and_then(|&order| kept(order)) {
                    first_order.push((language, sum));
                }
                let mut sum: f64 = line.orders.iter().map(|&o| kept(o).unwrap_or(0.0)).sum();
                if !line.trigrams_only && unigrams > 0 {
                    sum /= unigrams as f64;
                }
                if sum != 0.0 {
                    probabilities.push((language, sum.exp()));
                }
            }
            confidences(values, &first_order, &probabilities);
        }
    }
}

/// lingua's `compute_confidence_values`: each probability over their sum.
fn confidences(
    values: &mut [(Language, f64)],
    first_order: &[(Language, f64)],
    probabilities: &[(Language, f64)],
) {
    if probabilities.is_empty() {
        return;
    }
    let denominator: f64 = probabilities.iter().map(|&(_, p)| p).sum();
    if denominator == 0.0 {
        // Every probability underflowed: lingua takes the language with
        // the largest first-order sum.
        let most_likely = first_order.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some(value) =
            most_likely.and_then(|&(language, _)| values.iter_mut().find(|(l, _)| *l == language))
        {
            value.1 = 1.0;
        }
        return;
    }
    for &(language, p) in probabilities {
        if let Some(value) = values.iter_mut().find(|(l, _)| *l == language) {
            value.1 = p / denominator;
        }
    }
}
