//! fastText models — `.bin` (words and character n-grams) or `.vec` (words
//! only, the text format fastText and word2vec write) — and
//! `get_word_vector` exactly as fastText computes it (the word's own row,
//! if it has one, and the rows of its character n-grams — FNV-1a hashes of
//! the UTF-8 bytes, sign-extended as fastText's `char` is — averaged; the
//! end-of-sentence word `</s>` has no n-grams). Written here because the
//! Rust reader that exists (finalfusion) normalises vectors on reading and
//! gives `</s>` n-grams, which changes WECHSEL's neighbours.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Result, VocabError};

const MAGIC: i32 = 793_712_314;
const EOS: &[u8] = b"</s>";

/// A fastText model's word vectors.
pub struct FastTextModel {
    path: PathBuf,
    dim: usize,
    minn: usize,
    maxn: usize,
    bucket: u32,
    words: HashMap<Vec<u8>, usize>,
    /// `None`: unpruned; otherwise n-gram hash → row among the kept ones.
    pruned: Option<HashMap<u32, usize>>,
    nwords: usize,
    rows: Vec<f32>,
}

struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
    path: &'a Path,
}

impl Bytes<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| {
            VocabError::invalid(
                self.path,
                format!(
                    "truncated fastText model: {n} more bytes needed at byte {}",
                    self.at
                ),
            )
        })?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
}

/// fastText's n-gram hash: FNV-1a over bytes taken as signed chars.
fn hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, &b| {
        (h ^ (b as i8 as i32 as u32)).wrapping_mul(16_777_619)
    })
}

/// Reads word vectors in the word2vec text format fastText writes (`.vec`:
/// a `count dim` header, then a token and `dim` numbers per line).
pub fn read_vec(path: &Path) -> Result<HashMap<String, Vec<f32>>> {
    let bytes = std::fs::read(path)
        .map_err(|e| VocabError::Model(retarget_model::ModelError::io(path, e)))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| VocabError::invalid(path, format!("not UTF-8 text: {e}")))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let dim = header
        .split_whitespace()
        .nth(1)
        .and_then(|d| d.parse::<usize>().ok())
        .filter(|&d| d > 0)
        .ok_or_else(|| {
            VocabError::invalid(
                path,
                format!("line 1 is {header:?}, not a `count dim` header of a .vec file"),
            )
        })?;
    let mut vectors = HashMap::new();
    for (n, line) in lines.enumerate() {
        let mut fields = line.trim_end().rsplitn(dim + 1, ' ');
        let numbers: Vec<&str> = fields.by_ref().take(dim).collect();
        let token = fields.next();
        let parsed: Option<Vec<f32>> = numbers.iter().rev().map(|x| x.parse().ok()).collect();
        match (token, parsed) {
            (Some(token), Some(values)) if values.len() == dim => {
                vectors.insert(token.to_string(), values);
            }
            _ => {
                return Err(VocabError::invalid(
                    path,
                    format!("line {}: not a token followed by {dim} numbers", n + 2),
                ))
            }
        }
    }
    if vectors.is_empty() {
        return Err(VocabError::invalid(path, "has no vectors"));
    }
    Ok(vectors)
}

/// fastText's `computeSubwords`: the bucket of every n-gram of `minn..=maxn`
/// characters of `<word>` (single characters at the brackets excluded).
pub fn ngram_hashes(word: &[u8], minn: usize, maxn: usize, bucket: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if bucket == 0 {
        return out;
    }
    let bracketed = [b"<".as_slice(), word, b">"].concat();
    let len = bracketed.len();
    for i in 0..len {
        if bracketed[i] & 0xC0 == 0x80 {
            continue;
        }
        let (mut j, mut n) = (i, 1);
        while j < len && n <= maxn {
            j += 1;
            while j < len && bracketed[j] & 0xC0 == 0x80 {
                j += 1;
            }
            if n >= minn && !(n == 1 && (i == 0 || j == len)) {
                out.push(hash(&bracketed[i..j]) % bucket);
            }
            n += 1;
        }
    }
    out
}

impl FastTextModel {
    /// Reads a fastText `.bin` model (not quantized).
    pub fn read(path: &Path) -> Result<Self> {
        let mut data = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(|e| VocabError::Model(retarget_model::ModelError::io(path, e)))?;
        let invalid = |p: String| VocabError::invalid(path, p);
        let mut r = Bytes {
            data: &data,
            at: 0,
            path,
        };
        if r.i32()? != MAGIC {
            // A `.vec` text file: word vectors without subword information.
            if let Ok(vectors) = read_vec(path) {
                return Ok(Self::from_words(path, vectors));
            }
            return Err(invalid(
                "not a fastText .bin model (wrong magic number)".into(),
            ));
        }
        let _version = r.i32()?;
        let mut args = [0i32; 12];
        for a in &mut args {
            *a = r.i32()?;
        }
        r.take(8)?; // sampling threshold t (f64)
        let [dim, _ws, _epoch, _min_count, _neg, _word_ngrams, _loss, _model, bucket, minn, maxn, _lr_update] =
            args;
        let (size, nwords) = (r.i32()?, r.i32()?);
        let _nlabels = r.i32()?;
        let _ntokens = r.i64()?;
        let prune_size = r.i64()?;
        if dim <= 0 || size < 0 || nwords < 0 || bucket < 0 || minn < 0 || maxn < 0 {
            return Err(invalid("impossible fastText header values".into()));
        }
        let mut words = HashMap::new();
        for id in 0..size as usize {
            let end = data[r.at..]
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| invalid("truncated fastText dictionary".into()))?;
            let word = r.take(end)?.to_vec();
            r.take(1 + 8 + 1)?; // NUL, count (i64), entry type (i8)
            if id < nwords as usize {
                words.insert(word, id);
            }
        }
        let pruned = if prune_size >= 0 {
            let mut map = HashMap::new();
            for _ in 0..prune_size {
                let (from, to) = (r.i32()?, r.i32()?);
                map.insert(from as u32, to as usize);
            }
            Some(map)
        } else {
            None
        };
        if r.take(1)?[0] != 0 {
            return Err(invalid(
                "quantized fastText models (.ftz) are not supported".into(),
            ));
        }
        let (m, n) = (r.i64()?, r.i64()?);
        if n != dim as i64 || m < nwords as i64 {
            return Err(invalid(format!(
                "input matrix is {m} × {n}, not fit for {nwords} words of dimension {dim}"
            )));
        }
        let raw = r.take(m as usize * n as usize * 4)?;
        let rows = raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        Ok(FastTextModel {
            path: path.to_path_buf(),
            dim: dim as usize,
            minn: minn as usize,
            maxn: maxn as usize,
            bucket: bucket as u32,
            words,
            pruned,
            nwords: nwords as usize,
            rows,
        })
    }

    /// A model of whole words only (no n-grams): what a `.vec` file holds.
    fn from_words(path: &Path, vectors: HashMap<String, Vec<f32>>) -> Self {
        let dim = vectors.values().next().map_or(0, Vec::len);
        let mut words = HashMap::new();
        let mut rows = Vec::with_capacity(vectors.len() * dim);
        let mut sorted: Vec<(String, Vec<f32>)> = vectors.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, (word, row)) in sorted.into_iter().enumerate() {
            words.insert(word.into_bytes(), id);
            rows.extend(row);
        }
        FastTextModel {
            path: path.to_path_buf(),
            dim,
            minn: 0,
            maxn: 0,
            bucket: 0,
            nwords: words.len(),
            words,
            pruned: None,
            rows,
        }
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Vector dimension.
    pub fn dims(&self) -> usize {
        self.dim
    }

    /// Whether `word` is in the dictionary.
    pub fn knows(&self, word: &str) -> bool {
        self.words.contains_key(word.as_bytes())
    }

    /// Rows of the character n-grams of `word`.
    fn ngram_rows(&self, word: &[u8], out: &mut Vec<usize>) {
        if word == EOS {
            return;
        }
        for h in ngram_hashes(word, self.minn, self.maxn, self.bucket) {
            let row = match &self.pruned {
                None => Some(h as usize),
                Some(map) => map.get(&h).copied(),
            };
            if let Some(row) = row {
                out.push(self.nwords + row);
            }
        }
    }

    /// fastText's `get_word_vector`: the mean of the word's row (if it is
    /// in the dictionary) and its n-gram rows; zeros if it has none.
    pub fn word_vector(&self, word: &str) -> Vec<f64> {
        let mut ids = Vec::new();
        if let Some(&id) = self.words.get(word.as_bytes()) {
            ids.push(id);
        }
        self.ngram_rows(word.as_bytes(), &mut ids);
        let mut v = vec![0f64; self.dim];
        for &id in &ids {
            for (x, r) in v
                .iter_mut()
                .zip(&self.rows[id * self.dim..(id + 1) * self.dim])
            {
                *x += *r as f64;
            }
        }
        if !ids.is_empty() {
            v.iter_mut().for_each(|x| *x /= ids.len() as f64);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_sign_extend_bytes_as_fasttext_does() {
        // FNV-1a of ASCII is the textbook value; a byte ≥ 0x80 is XORed in
        // as a sign-extended char, which changes the result.
        assert_eq!(hash(b"a"), 0xe40c292c);
        let textbook = (2_166_136_261u32 ^ 0xC3).wrapping_mul(16_777_619);
        assert_ne!(hash(&[0xC3]), textbook);
        assert_eq!(
            hash(&[0xC3]),
            (2_166_136_261u32 ^ 0xFFFF_FFC3).wrapping_mul(16_777_619)
        );
    }

    #[test]
    fn truncated_and_foreign_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, b"not a model at all").unwrap();
        let err = FastTextModel::read(&path).err().unwrap().to_string();
        assert!(err.contains("model.bin") && err.contains("magic"), "{err}");
        std::fs::write(&path, MAGIC.to_le_bytes()).unwrap();
        let err = FastTextModel::read(&path).err().unwrap().to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn vec_files_are_read_and_malformed_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aux.vec");
        std::fs::write(&path, "2 3\n▁paka 0.1 0.2 0.3\nka -1 0 1e-3 \n").unwrap();
        let v = read_vec(&path).unwrap();
        assert_eq!(v["▁paka"], vec![0.1, 0.2, 0.3]);
        assert_eq!(v["ka"], vec![-1.0, 0.0, 0.001]);
        std::fs::write(&path, "2 3\n▁paka 0.1 0.2\n").unwrap();
        let err = read_vec(&path).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("aux.vec"), "{err}");
        std::fs::write(&path, "▁paka 0.1 0.2\n").unwrap();
        assert!(read_vec(&path).unwrap_err().to_string().contains("header"));
    }
}
