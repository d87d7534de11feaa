//! fastText model files, read in pure Rust: supervised classifiers (`.bin`
//! and quantized `.ftz`, e.g. `lid.176` or GlotLID) for language
//! identification, and word-vector models (`.bin` with character n-grams,
//! or `.vec` text) for WECHSEL — one reader, one hash, one n-gram routine.
//!
//! Written by hand because no maintained crate reads fastText models without
//! binding the C++ library (and finalfusion, the one Rust reader of word
//! vectors, normalises them on reading and gives `</s>` n-grams, which
//! changes WECHSEL's neighbours). It follows fastText 0.9.2's file format,
//! its prediction arithmetic (`FastText::predictLine`) and
//! `getWordVector`, so labels, probabilities and vectors agree with the
//! Python `fasttext` / `fasttext-predict` packages;
//! `scripts/crosscheck/langid_check.py` and `vocab_check.py` compare them.

mod dictionary;
mod loss;
mod matrix;
mod reader;
mod word_vectors;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use retarget_model::ModelError;

use self::dictionary::{Dictionary, NgramArgs};
use self::loss::{Loss, LossKind};
use self::matrix::Matrix;
use self::reader::Reader;

pub use dictionary::ngram_buckets;
pub use word_vectors::read_vec;

/// Result alias: every error names the file.
pub type Result<T> = std::result::Result<T, ModelError>;

/// The first four bytes of every fastText model.
const MAGIC: i32 = 793_712_314;
/// The newest format version (fastText 0.9); 11 is the pre-subword format.
const VERSION: i32 = 12;
/// `model_name::sup` in the header.
const SUPERVISED: i32 = 3;

/// A loaded fastText model: a classifier or word vectors.
pub struct FastTextModel {
    path: PathBuf,
    dictionary: Dictionary,
    input: Matrix,
    dim: usize,
    /// A supervised model's output layer.
    classifier: Option<Classifier>,
}

/// What a supervised model predicts with.
struct Classifier {
    output: Matrix,
    loss: Loss,
}

/// One label with its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelProbability {
    /// The label without `__label__` (`en`, `swh_Latn`).
    pub label: String,
    /// The probability as fastText reports it: `exp(log(p + 1e-5))`.
    pub probability: f32,
}

impl FastTextModel {
    /// Reads a supervised `.bin` or `.ftz` file (memory-mapped; dense
    /// matrices are used in place); a word-vector model is refused.
    pub fn open(path: &Path) -> Result<FastTextModel> {
        Self::read(path, true)
    }

    /// Reads a `.bin` or `.ftz` file of either kind. A word-vector model's
    /// output matrix (used only in training) is not read.
    fn read(path: &Path, classifier: bool) -> Result<FastTextModel> {
        let map = Arc::new(map_file(path)?);
        let mut reader = Reader::new(&map, path);
        let magic = reader.i32("magic number")?;
        let version = reader.i32("version")?;
        if magic != MAGIC {
            return Err(reader.invalid("wrong magic number (is it a fastText .bin/.ftz file?)"));
        }
        if !(11..=VERSION).contains(&version) {
            return Err(reader.invalid(format!("unsupported version {version}")));
        }
        let mut args = [0i32; 12];
        const ARG_NAMES: [&str; 12] = [
            "dim",
            "ws",
            "epoch",
            "minCount",
            "neg",
            "wordNgrams",
            "loss",
            "model",
            "bucket",
            "minn",
            "maxn",
            "lrUpdateRate",
        ];
        for (value, name) in args.iter_mut().zip(ARG_NAMES) {
            *value = reader.i32(name)?;
        }
        let [dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, mut maxn, _lr] =
            args;
        let _sampling = reader.f64("t")?;
        let supervised = model == SUPERVISED;
        if classifier && !supervised {
            return Err(reader.invalid("this is a word-vector model, not a classifier (language identification needs a supervised model)"));
        }
        if version == 11 && supervised {
            maxn = 0; // old supervised models have no character n-grams
        }
        let loss = if supervised {
            Some(
                LossKind::from_code(loss)
                    .ok_or_else(|| reader.invalid(format!("unknown loss {loss}")))?,
            )
        } else {
            None
        };
        // A word-vector model without buckets has no n-grams; a classifier's
        // word n-grams still hash into one.
        if bucket < 0 || (supervised && bucket == 0 && maxn > 0) {
            return Err(reader.invalid(format!("bucket count {bucket} is invalid")));
        }
        let ngram_args = NgramArgs {
            bucket: if supervised { bucket.max(1) } else { bucket },
            minn,
            maxn,
            word_ngrams,
        };
        let dictionary = Dictionary::read(&mut reader, ngram_args)?;
        let quantized_input = reader.bool("quantized-input flag")?;
        let input = Matrix::read(&mut reader, &map, quantized_input)?;
        if !quantized_input && dictionary.is_pruned() {
            return Err(reader.invalid("pruned dictionary with a dense input matrix"));
        }
        let classifier = match loss {
            Some(loss) => {
                let quantized_output = reader.bool("quantized-output flag")?;
                let output = Matrix::read(&mut reader, &map, quantized_input && quantized_output)?;
                let nlabels = dictionary.nlabels() as usize;
                // One output row per label (the hierarchical softmax uses the
                // first `labels - 1` for its inner nodes).
                if output.cols() != input.cols() || output.rows() != nlabels || nlabels == 0 {
                    return Err(reader.invalid(format!(
                        "matrices {}×{} and {}×{} do not fit {nlabels} labels",
                        input.rows(),
                        input.cols(),
                        output.rows(),
                        output.cols()
                    )));
                }
                let loss = Loss::new(loss, &dictionary.label_counts());
                Some(Classifier { output, loss })
            }
            None => None,
        };
        let dim = reader.count(dim.into(), "dim", 1 << 20)?;
        if input.cols() != dim {
            return Err(reader.invalid(format!(
                "input matrix {}×{} does not fit dim {dim}",
                input.rows(),
                input.cols(),
            )));
        }
        let min_input_rows = dictionary.nwords() as usize
            + if dictionary.is_pruned() {
                0
            } else {
                bucket as usize
            };
        if input.rows() < min_input_rows {
            return Err(reader.invalid(format!(
                "input matrix has {} rows, fewer than {min_input_rows} words and buckets",
                input.rows()
            )));
        }
        Ok(FastTextModel {
            path: path.to_path_buf(),
            dictionary,
            input,
            dim,
            classifier,
        })
    }

    /// The file the model came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Vector dimension.
    pub fn dims(&self) -> usize {
        self.dim
    }

    /// Number of labels (languages).
    pub fn label_count(&self) -> usize {
        self.dictionary.nlabels() as usize
    }

    /// The `k` most probable labels of one line with probability ≥
    /// `threshold`, best first — what Python's `model.predict(text, k,
    /// threshold)` returns. Newlines inside `text` separate words, as spaces.
    /// A word-vector model predicts nothing.
    pub fn predict(&self, text: &str, k: usize, threshold: f32) -> Vec<LabelProbability> {
        let Some(classifier) = &self.classifier else {
            return Vec::new();
        };
        let rows = self.dictionary.line_rows(text.as_bytes());
        if rows.is_empty() {
            return Vec::new();
        }
        let mut hidden = vec![0.0f32; self.dim];
        let input_rows = self.input.rows();
        for &row in &rows {
            // Rows past the matrix cannot come from a valid file (checked in
            // `open`), but a lying pruned index must not panic.
            if (row as usize) < input_rows {
                self.input.add_row_to(&mut hidden, row as usize);
            }
        }
        let scale = (1.0 / rows.len() as f64) as f32;
        hidden.iter_mut().for_each(|h| *h *= scale);
        classifier
            .loss
            .predict(&classifier.output, &hidden, k, threshold)
            .into_iter()
            .map(|(score, label)| {
                let text = self.dictionary.label(label);
                let text = text.strip_prefix(b"__label__".as_slice()).unwrap_or(text);
                LabelProbability {
                    label: String::from_utf8_lossy(text).into_owned(),
                    probability: score.exp(),
                }
            })
            .collect()
    }
}

/// The file, memory-mapped.
fn map_file(path: &Path) -> Result<Mmap> {
    let io = |source| ModelError::io(path, source);
    let file = File::open(path).map_err(io)?;
    // SAFETY: the map is read-only; fastText models are not modified
    // while retarget reads them (as for every memory-mapped input).
    unsafe { Mmap::map(&file) }.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use retarget_fixtures::fasttext::{two_language_model, FastTextLoss, FastTextSpec};

    fn model(loss: FastTextLoss, quantized: bool) -> (tempfile::TempDir, FastTextModel) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lid.bin");
        std::fs::write(&path, two_language_model(loss, quantized)).unwrap();
        let model = FastTextModel::open(&path).unwrap();
        (dir, model)
    }

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    fn assert_prediction(got: &[LabelProbability], label: &str, p: f64) {
        assert_eq!(got[0].label, label, "{got:?}");
        // fastText reports exp(log(p + 1e-5)).
        assert!(
            (f64::from(got[0].probability) - (p + 1e-5)).abs() < 1e-6,
            "{got:?} vs {p}"
        );
    }

    #[test]
    fn every_output_layer_gives_the_hand_computed_probability() {
        for loss in [
            FastTextLoss::Softmax,
            FastTextLoss::HierarchicalSoftmax,
            FastTextLoss::OneVsAll,
        ] {
            for quantized in [false, true] {
                let (_dir, model) = model(loss, quantized);
                assert_eq!(model.label_count(), 2);
                // hidden = mean(hello, </s>) = [0.5, 0]: en scores 1, sw 0.
                assert_prediction(&model.predict("hello", 1, 0.0), "en", sigmoid(1.0));
                // A label token in the text is not a word; unknown words add
                // nothing (no n-grams in this model).
                assert_prediction(
                    &model.predict("hello __label__sw xyz", 1, 0.0),
                    "en",
                    sigmoid(1.0),
                );
            }
        }
        // Softmax over two labels with scores 0.5 and 1.0.
        let (_dir, softmax) = model(FastTextLoss::Softmax, false);
        assert_prediction(
            &softmax.predict("habari habari\thello", 1, 0.0),
            "sw",
            sigmoid(0.5),
        );
        let both = softmax.predict("hello", 2, 0.0);
        assert_eq!(both.len(), 2);
        assert!((f64::from(both[1].probability) - (sigmoid(-1.0) + 1e-5)).abs() < 1e-6);
        // The threshold drops labels below it.
        assert_eq!(softmax.predict("hello", 2, 0.5).len(), 1);
        // One-vs-all: sigmoid per label, from fastText's table (exact at 0).
        let (_dir, ova) = model(FastTextLoss::OneVsAll, false);
        let both = ova.predict("hello", 2, 0.0);
        assert!(
            (f64::from(both[1].probability) - (0.5 + 1e-5)).abs() < 1e-6,
            "{both:?}"
        );
    }

    #[test]
    fn absurd_label_counts_do_not_break_the_huffman_tree() {
        // Found by the fastText fuzz target: counts at or above fastText's
        // 1e15 sentinel made the tree builder run off its end.
        let bytes = FastTextSpec {
            loss: FastTextLoss::HierarchicalSoftmax,
            words: &[("</s>", &[0.0, 0.0]), ("hello", &[1.0, 0.0])],
            labels: &[("en", 2_000_000_000_000_000), ("sw", i64::MAX)],
            output: &[&[2.0, -2.0], &[0.0, 0.0]],
            quantize_input: false,
        }
        .to_bytes();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.bin");
        std::fs::write(&path, bytes).unwrap();
        let model = FastTextModel::open(&path).unwrap();
        assert!(model.predict("hello", 2, 0.0).len() <= 2);
    }

    #[test]
    fn truncated_or_foreign_files_are_rejected_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = two_language_model(FastTextLoss::Softmax, true);
        let path = dir.path().join("bad.ftz");
        for cut in [0, 3, 7, 30, 70, 100, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let err = FastTextModel::open(&path).err().unwrap().to_string();
            assert!(
                err.contains("bad.ftz") && err.contains("not a valid fastText model"),
                "cut {cut}: {err}"
            );
        }
        let mut wrong_magic = bytes.clone();
        wrong_magic[0] ^= 1;
        std::fs::write(&path, &wrong_magic).unwrap();
        let err = FastTextModel::open(&path).err().unwrap().to_string();
        assert!(err.contains("magic"), "{err}");
        let mut word_vectors = bytes.clone();
        word_vectors[8 + 7 * 4] = 2; // model = skip-gram
        std::fs::write(&path, &word_vectors).unwrap();
        let err = FastTextModel::open(&path).err().unwrap().to_string();
        assert!(err.contains("not a classifier"), "{err}");
        // A dictionary size the file cannot hold is refused before anything
        // is allocated for it (found by the fastText fuzz target).
        let mut huge = bytes.clone();
        let dict = 8 + 12 * 4 + 8;
        let size: i32 = 0x7fff_fff0;
        huge[dict..dict + 4].copy_from_slice(&size.to_le_bytes());
        huge[dict + 4..dict + 8].copy_from_slice(&(size - 2).to_le_bytes());
        std::fs::write(&path, &huge).unwrap();
        let err = FastTextModel::open(&path).err().unwrap().to_string();
        assert!(err.contains("cannot fit"), "{err}");
        let missing = FastTextModel::open(&dir.path().join("missing.bin"))
            .err()
            .unwrap();
        assert!(missing.is_bad_input() && missing.to_string().contains("missing.bin"));
    }
}
