//! Tiny fastText supervised models written byte by byte in fastText 0.9's
//! format (version 12), so that tests can check the reader and the
//! prediction arithmetic on numbers worked out by hand.

use std::path::Path;

/// fastText's output layer (`loss_name` in the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastTextLoss {
    /// Hierarchical softmax (code 1).
    HierarchicalSoftmax = 1,
    /// Softmax (code 3).
    Softmax = 3,
    /// One-vs-all (code 4).
    OneVsAll = 4,
}

/// A supervised model: words (the first is `</s>`), labels with counts
/// (sorted by decreasing count, as fastText stores them), input rows for
/// each word and output rows for each label. No character or word n-grams
/// (`maxn = 0`, `wordNgrams = 1`).
pub struct FastTextSpec<'a> {
    /// The output layer.
    pub loss: FastTextLoss,
    /// Words with their input rows (all rows have the same length).
    pub words: &'a [(&'a str, &'a [f32])],
    /// Labels (without `__label__`) with their counts.
    pub labels: &'a [(&'a str, i64)],
    /// One output row per label (hierarchical softmax: inner nodes first).
    pub output: &'a [&'a [f32]],
    /// Store the input matrix product-quantized (one sub-vector per row,
    /// each row its own centroid) instead of dense.
    pub quantize_input: bool,
}

impl FastTextSpec<'_> {
    /// The model file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let dim = self.words[0].1.len();
        let mut b = Vec::new();
        let i32le = |b: &mut Vec<u8>, v: i32| b.extend_from_slice(&v.to_le_bytes());
        let i64le = |b: &mut Vec<u8>, v: i64| b.extend_from_slice(&v.to_le_bytes());
        i32le(&mut b, 793_712_314);
        i32le(&mut b, 12);
        // dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate
        for v in [dim as i32, 5, 5, 1, 5, 1, self.loss as i32, 3, 0, 0, 0, 100] {
            i32le(&mut b, v);
        }
        b.extend_from_slice(&1e-4f64.to_le_bytes());
        // Dictionary.
        i32le(&mut b, (self.words.len() + self.labels.len()) as i32);
        i32le(&mut b, self.words.len() as i32);
        i32le(&mut b, self.labels.len() as i32);
        i64le(&mut b, 1000);
        i64le(&mut b, if self.quantize_input { 0 } else { -1 });
        for (word, _) in self.words {
            b.extend_from_slice(word.as_bytes());
            b.push(0);
            i64le(&mut b, 1);
            b.push(0);
        }
        for (label, count) in self.labels {
            b.extend_from_slice(format!("__label__{label}").as_bytes());
            b.push(0);
            i64le(&mut b, *count);
            b.push(1);
        }
        // Input matrix.
        b.push(u8::from(self.quantize_input));
        if self.quantize_input {
            b.push(0); // no quantized norms
            i64le(&mut b, self.words.len() as i64);
            i64le(&mut b, dim as i64);
            i32le(&mut b, self.words.len() as i32); // one code per row
            b.extend((0..self.words.len()).map(|i| i as u8));
            for v in [dim as i32, 1, dim as i32, dim as i32] {
                i32le(&mut b, v); // dim, nsubq, dsub, lastdsub
            }
            for c in 0..256 {
                let row = self.words.get(c).map(|w| w.1);
                for j in 0..dim {
                    let v = row.map_or(0.0, |r| r[j]);
                    b.extend_from_slice(&v.to_le_bytes());
                }
            }
        } else {
            dense(
                &mut b,
                &self.words.iter().map(|w| w.1).collect::<Vec<_>>(),
                dim,
            );
        }
        // Output matrix (dense).
        b.push(0);
        dense(&mut b, self.output, dim);
        b
    }

    /// Writes the model to `path`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_bytes())
    }
}

fn dense(b: &mut Vec<u8>, rows: &[&[f32]], dim: usize) {
    b.extend_from_slice(&(rows.len() as i64).to_le_bytes());
    b.extend_from_slice(&(dim as i64).to_le_bytes());
    for row in rows {
        for v in row.iter() {
            b.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// A two-language model over three words: `hello` points to `en`, `habari`
/// to `sw`, and `</s>` is neutral.
pub fn two_language_model(loss: FastTextLoss, quantize_input: bool) -> Vec<u8> {
    let output: &[&[f32]] = match loss {
        // One inner node; its right child is the more frequent label (en).
        FastTextLoss::HierarchicalSoftmax => &[&[2.0, -2.0], &[0.0, 0.0]],
        _ => &[&[2.0, 0.0], &[0.0, 2.0]],
    };
    FastTextSpec {
        loss,
        words: &[
            ("</s>", &[0.0, 0.0]),
            ("hello", &[1.0, 0.0]),
            ("habari", &[0.0, 1.0]),
        ],
        labels: &[("en", 10), ("sw", 5)],
        output,
        quantize_input,
    }
    .to_bytes()
}
