//! fastText's dictionary: words and labels, and how a line of text becomes
//! input rows (word ids, character n-gram buckets, word n-gram buckets).
//!
//! Mirrors `Dictionary::getLine` for supervised models, including its
//! quirks: the FNV-1a hash XORs *sign-extended* bytes, word n-gram hashes are
//! sign-extended to 64 bits, and pruned (`.ftz`) models map buckets through
//! `pruneidx` and drop the ones they did not keep.

use std::collections::HashMap;

use super::reader::Reader;
use crate::error::Result;

/// End of sentence: fastText appends it to every line.
const EOS: &[u8] = b"</s>";
/// Prefix of label entries.
const LABEL_PREFIX: &[u8] = b"__label__";

/// The hyper-parameters that tokenization needs.
pub(super) struct NgramArgs {
    pub(super) bucket: i32,
    pub(super) minn: i32,
    pub(super) maxn: i32,
    pub(super) word_ngrams: i32,
}

/// Words and labels with their counts.
pub(super) struct Dictionary {
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
    pub(super) fn read(reader: &mut Reader<'_>, args: NgramArgs) -> Result<Dictionary> {
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

    pub(super) fn nwords(&self) -> i32 {
        self.nwords
    }

    pub(super) fn nlabels(&self) -> i32 {
        self.nlabels
    }

    pub(super) fn is_pruned(&self) -> bool {
        self.pruned.is_some()
    }

    /// Label `i`'s text (`__label__en`).
    pub(super) fn label(&self, i: usize) -> &[u8] {
        &self.words[self.nwords as usize + i].word
    }

    /// Label counts in label order (they drive the hierarchical softmax tree).
    pub(super) fn label_counts(&self) -> Vec<i64> {
        self.words[self.nwords as usize..]
            .iter()
            .map(|e| e.count)
            .collect()
    }

    /// The input rows of one line of text (without its newline), as fastText
    /// computes them for `predict`.
    pub(super) fn line_rows(&self, text: &[u8]) -> Vec<i32> {
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
                        self.push_char_ngrams(&mut rows, &with_boundaries(token));
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
            self.push_char_ngrams(rows, &with_boundaries(token));
        }
    }

    /// `Dictionary::computeSubwords`: n-grams of `minn..=maxn` UTF-8
    /// characters, except the lone `<` and `>`.
    fn push_char_ngrams(&self, rows: &mut Vec<i32>, word: &[u8]) {
        let is_continuation = |b: u8| b & 0xC0 == 0x80;
        for i in 0..word.len() {
            if is_continuation(word[i]) {
                continue;
            }
            let mut j = i;
            let mut n = 1;
            while j < word.len() && n <= self.args.maxn {
                j += 1;
                while j < word.len() && is_continuation(word[j]) {
                    j += 1;
                }
                if n >= self.args.minn && !(n == 1 && (i == 0 || j == word.len())) {
                    let bucket = fnv1a(&word[i..j]) % self.args.bucket as u32;
                    self.push_bucket(rows, bucket as i32);
                }
                n += 1;
            }
        }
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

/// `<word>`, fastText's BOW/EOW markers.
fn with_boundaries(token: &[u8]) -> Vec<u8> {
    let mut word = Vec::with_capacity(token.len() + 2);
    word.push(b'<');
    word.extend_from_slice(token);
    word.push(b'>');
    word
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
