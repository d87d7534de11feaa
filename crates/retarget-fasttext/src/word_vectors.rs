//! Word vectors: `get_word_vector` exactly as fastText computes it (the
//! word's own row, if it has one, and the rows of its character n-grams,
//! averaged; the end-of-sentence word `</s>` has no n-grams), from a `.bin`
//! model or a `.vec` text file (the word2vec text format fastText writes:
//! whole words, no n-grams).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use retarget_model::ModelError;

use crate::dictionary::Dictionary;
use crate::matrix::Matrix;
use crate::{FastTextModel, Result, MAGIC};

impl FastTextModel {
    /// Reads word vectors: a fastText `.bin`/`.ftz` model of either kind, or
    /// a `.vec` text file.
    pub fn open_word_vectors(path: &Path) -> Result<FastTextModel> {
        let mut start = [0u8; 4];
        let read = std::fs::File::open(path)
            .and_then(|f| f.take(4).read(&mut start))
            .map_err(|e| ModelError::io(path, e))?;
        if read == 4 && start == MAGIC.to_le_bytes() {
            return Self::read(path, false);
        }
        match read_vec(path) {
            Ok(vectors) => Ok(Self::from_words(path, vectors)),
            Err(_) => Err(ModelError::invalid(
                path,
                "not a fastText model: neither a .bin file (wrong magic number) nor a .vec text file",
            )),
        }
    }

    /// A model of whole words only (ids in byte order of the words).
    fn from_words(path: &Path, vectors: HashMap<String, Vec<f32>>) -> Self {
        let dim = vectors.values().next().map_or(0, Vec::len);
        let mut sorted: Vec<(String, Vec<f32>)> = vectors.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let values: Vec<f32> = sorted.iter().flat_map(|(_, row)| row.clone()).collect();
        FastTextModel {
            path: path.to_path_buf(),
            dictionary: Dictionary::from_words(
                sorted.into_iter().map(|(w, _)| w.into_bytes()).collect(),
            ),
            input: Matrix::dense(&values, dim),
            dim,
            classifier: None,
        }
    }

    /// Whether `word` is a word of the dictionary.
    pub fn knows(&self, word: &str) -> bool {
        self.dictionary.is_word(word.as_bytes())
    }

    /// fastText's `get_word_vector`: the mean (in `f64`) of the word's row
    /// (if it is in the dictionary) and its n-gram rows; zeros if it has none.
    pub fn word_vector(&self, word: &str) -> Vec<f64> {
        let rows = self.dictionary.word_rows(word.as_bytes());
        let mut v = vec![0f64; self.dim];
        for &row in &rows {
            // A lying pruned index must not panic (rows past the matrix).
            if (row as usize) < self.input.rows() {
                self.input.add_row_to_f64(&mut v, row as usize);
            }
        }
        if !rows.is_empty() {
            v.iter_mut().for_each(|x| *x /= rows.len() as f64);
        }
        v
    }
}

/// Reads word vectors in the word2vec text format fastText writes (`.vec`:
/// a `count dim` header, then a token and `dim` numbers per line).
pub fn read_vec(path: &Path) -> Result<HashMap<String, Vec<f32>>> {
    let bytes = std::fs::read(path).map_err(|e| ModelError::io(path, e))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| ModelError::invalid(path, format!("not UTF-8 text: {e}")))?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let dim = header
        .split_whitespace()
        .nth(1)
        .and_then(|d| d.parse::<usize>().ok())
        .filter(|&d| d > 0)
        .ok_or_else(|| {
            ModelError::invalid(
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
                return Err(ModelError::invalid(
                    path,
                    format!("line {}: not a token followed by {dim} numbers", n + 2),
                ))
            }
        }
    }
    if vectors.is_empty() {
        return Err(ModelError::invalid(path, "has no vectors"));
    }
    Ok(vectors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ngram_buckets;

    #[test]
    fn truncated_and_foreign_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, b"not a model at all").unwrap();
        let err = FastTextModel::open_word_vectors(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("model.bin") && err.contains("magic"), "{err}");
        std::fs::write(&path, MAGIC.to_le_bytes()).unwrap();
        let err = FastTextModel::open_word_vectors(&path)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("file ends"), "{err}");
    }

    /// A skip-gram `.bin` with words `</s>` and `paka`, 8 buckets, n-grams
    /// of 3–4 characters, 2 dimensions; row `r` is `[r, -r]`.
    fn skipgram_bin() -> Vec<u8> {
        let (words, bucket) = (["</s>", "paka"], 8i32);
        let mut b = Vec::new();
        b.extend(MAGIC.to_le_bytes());
        b.extend(12i32.to_le_bytes());
        // dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate
        for a in [2, 5, 1, 1, 5, 1, 2, 2, bucket, 3, 4, 100] {
            b.extend(a.to_le_bytes());
        }
        b.extend(1e-4f64.to_le_bytes());
        b.extend(2i32.to_le_bytes()); // size
        b.extend(2i32.to_le_bytes()); // words
        b.extend(0i32.to_le_bytes()); // labels
        b.extend(10i64.to_le_bytes());
        b.extend((-1i64).to_le_bytes());
        for w in words {
            b.extend(w.as_bytes());
            b.push(0);
            b.extend(5i64.to_le_bytes());
            b.push(0);
        }
        b.push(0);
        let rows = 2 + bucket as i64;
        b.extend(rows.to_le_bytes());
        b.extend(2i64.to_le_bytes());
        for r in 0..rows {
            b.extend((r as f32).to_le_bytes());
            b.extend((-r as f32).to_le_bytes());
        }
        b
    }

    #[test]
    fn word_vectors_average_the_word_row_and_its_ngram_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sg.bin");
        let bytes = skipgram_bin();
        std::fs::write(&path, &bytes).unwrap();
        let model = FastTextModel::open_word_vectors(&path).unwrap();
        assert_eq!(model.dims(), 2);
        assert!(model.knows("paka") && !model.knows("pakaa"));
        // Not a classifier: nothing predicted, and `open` refuses it.
        assert!(model.predict("paka", 1, 0.0).is_empty());
        assert!(FastTextModel::open(&path).is_err());
        let mean_of = |rows: &[usize]| {
            let m = rows.iter().sum::<usize>() as f64 / rows.len() as f64;
            vec![m, -m]
        };
        // In the dictionary: its row (1) and its n-grams' (2 + bucket).
        let ngrams = |w: &str| -> Vec<usize> {
            ngram_buckets(w.as_bytes(), 3, 4, 8)
                .into_iter()
                .map(|b| 2 + b as usize)
                .collect()
        };
        let mut rows = vec![1];
        rows.extend(ngrams("paka"));
        assert_eq!(rows.len(), 1 + 4 + 3, "<pa pak aka ka> <pak paka aka>");
        assert_eq!(model.word_vector("paka"), mean_of(&rows));
        // Unknown: its n-grams only; `</s>`: its row only.
        assert_eq!(model.word_vector("kaka"), mean_of(&ngrams("kaka")));
        assert_eq!(model.word_vector("</s>"), vec![0.0, 0.0]);
        // No cut or flipped byte makes it panic.
        for cut in 0..bytes.len() {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            assert!(
                FastTextModel::open_word_vectors(&path).is_err(),
                "cut {cut}"
            );
        }
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0xA5;
            std::fs::write(&path, &flipped).unwrap();
            if let Ok(m) = FastTextModel::open_word_vectors(&path) {
                m.word_vector("paka");
                m.word_vector("kaka");
            }
        }
    }

    #[test]
    fn vec_files_are_read_and_malformed_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aux.vec");
        std::fs::write(&path, "2 3\n▁paka 0.1 0.2 0.3\nka -1 0 1e-3 \n").unwrap();
        let v = read_vec(&path).unwrap();
        assert_eq!(v["▁paka"], vec![0.1, 0.2, 0.3]);
        assert_eq!(v["ka"], vec![-1.0, 0.0, 0.001]);
        let model = FastTextModel::open_word_vectors(&path).unwrap();
        assert!(model.knows("ka") && !model.knows("paka"));
        assert_eq!(model.word_vector("ka"), vec![-1.0, 0.0, 0.001f32 as f64]);
        assert_eq!(model.word_vector("paka"), vec![0.0; 3]);
        std::fs::write(&path, "2 3\n▁paka 0.1 0.2\n").unwrap();
        let err = read_vec(&path).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("aux.vec"), "{err}");
        std::fs::write(&path, "▁paka 0.1 0.2\n").unwrap();
        assert!(read_vec(&path).unwrap_err().to_string().contains("header"));
    }
}
