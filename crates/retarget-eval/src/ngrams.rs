//! n-gram counting shared by BLEU and chrF. Keys borrow from the segment's
//! text, so counting allocates no strings; tables use aHash, several times
//! faster than the standard SipHash on these short keys (counts are summed,
//! so iteration order never matters).

use std::hash::Hash;

/// Counts of n-grams of one order (or of all orders, for BLEU).
pub type Counts<K> = ahash::AHashMap<K, u32>;

/// Word n-grams of every order from `min` to `max`, keyed by token slices.
pub fn word_ngrams<'t, 's>(tokens: &'t [&'s str], min: usize, max: usize) -> Counts<&'t [&'s str]> {
    let mut counts = Counts::with_capacity(tokens.len() * (max + 1 - min));
    for n in min..=max {
        for window in tokens.windows(n) {
            *counts.entry(window).or_insert(0) += 1;
        }
    }
    counts
}

/// Numbers tokens (equal strings, equal ids) so that n-grams of up to four
/// tokens pack into one `u128` key, hashed far faster than string slices.
#[derive(Debug, Default)]
pub struct TokenIds<'s> {
    ids: Counts<&'s str>,
}

impl<'s> TokenIds<'s> {
    /// The ids of `tokens`, assigning new ones as needed (ids start at 1).
    pub fn ids(&mut self, tokens: impl Iterator<Item = &'s str>) -> Vec<u32> {
        tokens
            .map(|t| {
                let next = self.ids.len() as u32 + 1;
                *self.ids.entry(t).or_insert(next)
            })
            .collect()
    }
}

/// n-grams of orders 1 to `max` (at most 4) of token ids, packed 32 bits a
/// token; [`packed_order`] recovers the order.
pub fn packed_ngrams(ids: &[u32], max: usize) -> Counts<u128> {
    debug_assert!(max <= 4);
    let mut counts = Counts::with_capacity(ids.len() * max);
    for n in 1..=max {
        for window in ids.windows(n) {
            let key = window.iter().fold(0u128, |k, &id| (k << 32) | id as u128);
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// The order of a key made by [`packed_ngrams`] (ids are never 0).
pub fn packed_order(key: u128) -> usize {
    (128 - key.leading_zeros() as usize).div_ceil(32)
}

/// Character n-grams of order `n` of `chars` (a string and its char
/// boundaries), keyed by substrings.
pub fn char_ngrams<'s>(text: &'s str, boundaries: &[usize], n: usize) -> Counts<&'s str> {
    let chars = boundaries.len() - 1;
    let mut counts = Counts::with_capacity(chars);
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
