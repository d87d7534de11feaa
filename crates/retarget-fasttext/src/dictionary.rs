//! fastText's dictionary: words and labels, and how a line of text becomes
//! input rows (word ids, character n-gram buckets, word n-gram buckets).
//!
//! Mirrors `Dictionary::getLine` for supervised models, including its
//! quirks: the FNV-1a hash XORs *sign-extended* bytes, word n-gram hashes are
//! sign-extended to 64 bits, and pruned (`.ftz`) models map buckets through
//! `pruneidx` and drop the ones they did not keep.

use std::collections::HashMap;

use crate::reader::Reader;
use crate::Result;

/// End of sentence: fastText appends it to every line.
const EOS: &[u8] = b"</s>";
/// Prefix of label entries.
const LABEL_PREFIX: &[u8] = b"__label__";

/// The hyper-parameters that tokenization needs.
pub(crate) struct NgramArgs {
    pub(crate) bucket: i32,
    pub(crate) minn: i32,
    pub(crate) maxn: i32,
    pub(crate) word_ngrams: i32,
}

/// Words and labels with their counts.
pub(crate) struct Dictionary {
    ids: HashMap<Vec<u8>, i32>,
    words: Vec<Entry>,
    nwords: i32,
    nlabels: i32,
    /// `None`: not pruned; `Some(map)`: bucket → kept row (empty when every
    /// bucket was pruned).
    pruned: Option<HashMap<i32, i32>>,
    args: NgramArgs,
}

struct Entry {
    word: Vec<u8>,
    count: i64,
    is_label: bool,
}

impl Dictionary {
    pub(crate) fn read(reader: &mut Reader<'_>, args: NgramArgs) -> Result<Dictionary> {
        let size = reader.i32("dictionary size")?;
        let size = reader.count(size.into(), "dictionary size", i32::MAX as i64)?;
        let nwords = reader.i32("word count")?;
        let nlabels = reader.i32("label count")?;
        let _ntokens = reader.i64("token count")?;
        let prune_size = reader.i64("pruned index size")?;
        if nwords < 0 || nlabels < 0 || nwords as usize + nlabels as usize != size {
            return Err(reader.invalid(format!(
                "{nwords} words and {nlabels} labels do not add up to {size} entries"
            )));
        }
        // Each entry takes at least a NUL, an 8-byte count and a type byte.
        reader.check_fits(size, 10, "dictionary entries")?;
        let mut words = Vec::with_capacity(size);
        let mut ids = HashMap::with_capacity(size);
        for i in 0..size {
            let word = reader.cstr("dictionary word")?.to_vec();
            let count = reader.i64("word count")?;
            let is_label = match reader.u8("entry type")? {
                0 => false,
                1 => true,
                other => {
                    return Err(
                        reader.invalid(format!("entry type {other} is neither word nor label"))
                    )
                }
            };
            if is_label != (i >= nwords as usize) {
                return Err(reader.invalid("labels must follow the words"));
            }
            ids.insert(word.clone(), i as i32);
            words.push(Entry {
                word,
                count,
                is_label,
            });
        }
        let pruned = if prune_size < 0 {
            None
        } else {
            let n = reader.count(prune_size, "pruned index size", i32::MAX as i64)?;
            reader.check_fits(n, 8, "pruned index entries")?;
            let mut map = HashMap::with_capacity(n);
            for _ in 0..n {
                let from = reader.i32("pruned bucket")?;
                let to = reader.i32("pruned row")?;
                map.insert(from, to);
            }
            Some(map)
        };
        Ok(Dictionary {
            ids,
            words,
            nwords,
            nlabels,
            pruned,
            args,
        })
    }

    /// A dictionary of whole words only (ids in the given order), without
    /// labels or n-grams: what a `.vec` file describes.
    pub(crate) fn from_words(words: Vec<Vec<u8>>) -> Dictionary {
        let ids = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as i32))
            .collect();
        let nwords = words.len() as i32;
        Dictionary {
            ids,
            words: words
                .into_iter()
                .map(|word| Entry {
                    word,
                    count: 0,
                    is_label: false,
                })
                .collect(),
            nwords,
            nlabels: 0,
            pruned: None,
            args: NgramArgs {
                bucket: 0,
                minn: 0,
                maxn: 0,
                word_ngrams: 1,
            },
        }
    }

    pub(crate) fn nwords(&self) -> i32 {
        self.nwords
    }

    pub(crate) fn nlabels(&self) -> i32 {
        self.nlabels
    }

    pub(crate) fn is_pruned(&self) -> bool {
        self.pruned.is_some()
    }

    /// Label `i`'s text (`__label__en`).
    pub(crate) fn label(&self, i: usize) -> &[u8] {
        &self.words[self.nwords as usize + i].word
    }

    /// Label counts in label order (they drive the hierarchical softmax tree).
    pub(crate) fn label_counts(&self) -> Vec<i64> {
        self.words[self.nwords as usize..]
            .iter()
            .map(|e| e.count)
            .collect()
    }

    /// The input rows of one line of text (without its newline), as fastText
    /// computes them for `predict`.
    pub(crate) fn line_rows(&self, text: &[u8]) -> Vec<i32> {
        let mut rows = Vec::new();
        let mut word_hashes = Vec::new();
        let tokens = text
            .split(|&b| matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0))
            .filter(|t| !t.is_empty())
            .chain(std::iter::once(EOS));
        for token in tokens {
            let hash = fnv1a(token);
            match self.ids.get(token) {
                Some(&id) if !self.words[id as usize].is_label => {
                    self.push_word(&mut rows, token, id);
                    word_hashes.push(hash as i32);
                }
                Some(_) => {}
                None if token.starts_with(LABEL_PREFIX) => {}
                None => {
                    if token != EOS {
                        self.push_char_ngrams(&mut rows, token);
                    }
                    word_hashes.push(hash as i32);
                }
            }
        }
        self.push_word_ngrams(&mut rows, &word_hashes);
        rows
    }

    /// An in-vocabulary word: its own row, then its character n-grams.
    fn push_word(&self, rows: &mut Vec<i32>, token: &[u8], id: i32) {
        rows.push(id);
        if self.args.maxn > 0 && token != EOS {
            self.push_char_ngrams(rows, token);
        }
    }

    /// Whether `word` is a word (not a label) of the dictionary.
    pub(crate) fn is_word(&self, word: &[u8]) -> bool {
        self.ids
            .get(word)
            .is_some_and(|&id| !self.words[id as usize].is_label)
    }

    /// The rows of a word's vector (`Dictionary::getSubwords`): its own row
    /// if it is a word of the dictionary, and its character n-grams (none
    /// for `</s>`, none without buckets).
    pub(crate) fn word_rows(&self, word: &[u8]) -> Vec<i32> {
        let mut rows = Vec::new();
        if let Some(&id) = self.ids.get(word).filter(|_| self.is_word(word)) {
            rows.push(id);
        }
        if word != EOS && self.args.bucket > 0 {
            self.push_char_ngrams(&mut rows, word);
        }
        rows
    }

    /// The character n-grams of `token`, bracketed, as rows.
    fn push_char_ngrams(&self, rows: &mut Vec<i32>, token: &[u8]) {
        let (minn, maxn) = (self.args.minn.max(0), self.args.maxn.max(0));
        for_each_ngram_bucket(
            token,
            minn as usize,
            maxn as usize,
            self.args.bucket as u32,
            |b| self.push_bucket(rows, b as i32),
        );
    }

    /// `Dictionary::addWordNgrams`.
    fn push_word_ngrams(&self, rows: &mut Vec<i32>, hashes: &[i32]) {
        let n = self.args.word_ngrams.max(0) as usize;
        for i in 0..hashes.len() {
            let mut h = hashes[i] as i64 as u64;
            for &next in hashes.iter().take(i + n).skip(i + 1) {
                h = h.wrapping_mul(116_049_371).wrapping_add(next as i64 as u64);
                self.push_bucket(rows, (h % self.args.bucket as u64) as i32);
            }
        }
    }

    /// `Dictionary::pushHash`.
    fn push_bucket(&self, rows: &mut Vec<i32>, bucket: i32) {
        let bucket = match &self.pruned {
            None => bucket,
            Some(map) => match map.get(&bucket) {
                Some(&row) => row,
                None => return,
            },
        };
        if bucket >= 0 {
            rows.push(self.nwords.saturating_add(bucket));
        }
    }
}

/// `Dictionary::computeSubwords` on `<token>` (fastText's BOW/EOW markers):
/// the bucket of every n-gram of `minn..=maxn` UTF-8 characters, except the
/// lone `<` and `>`; nothing without buckets.
pub fn ngram_buckets(token: &[u8], minn: usize, maxn: usize, bucket: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for_each_ngram_bucket(token, minn, maxn, bucket, |b| out.push(b));
    out
}

/// [`ngram_buckets`], each handed to `f` as it is found.
fn for_each_ngram_bucket(
    token: &[u8],
    minn: usize,
    maxn: usize,
    bucket: u32,
    mut f: impl FnMut(u32),
) {
    if bucket == 0 {
        return;
    }
    let mut word = Vec::with_capacity(token.len() + 2);
    word.push(b'<');
    word.extend_from_slice(token);
    word.push(b'>');
    let is_continuation = |b: u8| b & 0xC0 == 0x80;
    for i in 0..word.len() {
        if is_continuation(word[i]) {
            continue;
        }
        let mut j = i;
        let mut n = 1;
        while j < word.len() && n <= maxn {
            j += 1;
            while j < word.len() && is_continuation(word[j]) {
                j += 1;
            }
            if n >= minn && !(n == 1 && (i == 0 || j == word.len())) {
                f(fnv1a(&word[i..j]) % bucket);
            }
            n += 1;
        }
    }
}

/// fastText's FNV-1a variant: bytes are sign-extended before the XOR (it
/// was written for `char`, which is signed on x86).
fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in bytes {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_sign_extends_bytes_like_fasttext() {
        // Values computed by fastText's C++ `Dictionary::hash`.
        assert_eq!(fnv1a(b""), 2_166_136_261);
        assert_eq!(fnv1a(b"a"), 0xe40c292c);
        // A byte >= 0x80 differs from plain FNV-1a.
        let plain = (2_166_136_261u32 ^ 0xc3).wrapping_mul(16_777_619);
        assert_ne!(fnv1a(&[0xc3]), plain);
        assert_eq!(
            fnv1a(&[0xc3]),
            (2_166_136_261u32 ^ 0xffff_ffc3).wrapping_mul(16_777_619)
        );
    }
}
