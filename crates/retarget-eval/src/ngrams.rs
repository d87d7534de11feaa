//! n-gram counting shared by BLEU and chrF. Keys borrow from the segment's
//! text, so counting allocates no strings; tables use aHash, several times
//! faster than the standard SipHash on these short keys (counts are summed,
//! so iteration order never matters).

use std::hash::Hash;

/// Counts of n-grams of one order (or of all orders, for BLEU).
pub type Counts<K> = ahash::AHashMap<K, u32>;

/// Word n-grams of every order from `min` to `max`, keyed by token slices.
pub fn word_ngrams<'t, 's>(tokens: &'t [&'s str], min: usize, max: usize) -> Counts<&'t [&'s str]> {
    let mut counts = Counts::new();
    for n in min..=max {
        for window in tokens.windows(n) {
            *counts.entry(window).or_insert(0) += 1;
        }
    }
    counts
}

/// Character n-grams of order `n` of `chars` (a string and its char
/// boundaries), keyed by substrings.
pub fn char_ngrams<'s>(text: &'s str, boundaries: &[usize], n: usize) -> Counts<&'s str> {
    let mut counts = Counts::new();
    let chars = boundaries.len() - 1;
    if chars >= n {
        for i in 0..=chars - n {
            *counts
                .entry(&text[boundaries[i]..boundaries[i + n]])
                .or_insert(0) += 1;
        }
    }
    counts
}

/// Byte offsets of every char boundary of `text`, end included.
pub fn char_boundaries(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect()
}

/// Matched and total counts of `hyp` against `reference` (clipped).
pub fn clipped_matches<K: Hash + Eq>(hyp: &Counts<K>, reference: &Counts<K>) -> (u64, u64) {
    let mut matched = 0u64;
    let mut total = 0u64;
    for (ngram, &count) in hyp {
        total += count as u64;
        if let Some(&r) = reference.get(ngram) {
            matched += count.min(r) as u64;
        }
    }
    (matched, total)
}
