//! What trimming and expansion share: the model opened with its tokenizer
//! and the tensors indexed by token, and the rewrite of the weights with a
//! new list of rows for those tensors (each row either an old row, copied
//! straight from the memory map, or new bytes), every other tensor copied
//! file to file.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use retarget_model::hf_folder::{load_tokenizer, HfFolder};
use retarget_model::output::OutputDir;
use retarget_model::progress::bytes_bar;
use retarget_model::tensor_roles::Architecture;
use retarget_model::weights::TensorRef;
use retarget_model::writer::{write_weights, PlannedTensor, TensorBytes, WrittenWeights};
use retarget_model::ModelError;

use crate::error::{Result, VocabError};
use crate::tokenizer::json::TokenizerFile;

/// One row of a rewritten token-indexed tensor.
#[derive(Debug, Clone, Copy)]
pub enum Row<'a> {
    /// Row `n` of the original tensor.
    Old(usize),
    /// These bytes (one row, encoded like the tensor).
    New(&'a [u8]),
}

/// A model folder opened for vocabulary surgery.
#[derive(Debug)]
pub struct VocabModel {
    /// The folder.
    pub dir: PathBuf,
    /// The opened folder.
    pub folder: HfFolder,
    /// Its `tokenizer.json`.
    pub file: TokenizerFile,
    /// Its architecture's tensor roles.
    pub arch: &'static Architecture,
    /// Rows of the input embedding.
    pub rows: usize,
    /// The tokenizer, once built, when opened with [`Self::open_lazy`].
    lazy_tokenizer: OnceLock<tokenizers::Tokenizer>,
}

impl VocabModel {
    /// Opens `dir` for `purpose` (named in error messages), its tokenizer
    /// built by the `tokenizers` crate.
    pub fn open(dir: &Path, purpose: &str) -> Result<Self> {
        Self::open_with(dir, purpose, true)
    }

    /// Opens `dir` like [`Self::open`], leaving the `tokenizers` crate's
    /// tokenizer to the first call of [`Self::tokenizer`]: for work that
    /// may not need it (it takes ~0.5 s to build for a 250k vocabulary).
    pub fn open_lazy(dir: &Path, purpose: &str) -> Result<Self> {
        Self::open_with(dir, purpose, false)
    }

    fn open_with(dir: &Path, purpose: &str, build_tokenizer: bool) -> Result<Self> {
        let tokenizer_path = dir.join("tokenizer.json");
        if dir.is_dir() && !tokenizer_path.is_file() {
            return Err(VocabError::invalid(
                dir,
                format!("has no tokenizer.json; {purpose} needs one"),
            ));
        }
        let (folder, file) = if build_tokenizer {
            // The folder (which builds the tokenizer with the `tokenizers`
            // crate) and the JSON tree of the same file are read side by
            // side: each takes a large share of the time on a 250k vocabulary.
            let (folder, file) = rayon::join(
                || HfFolder::open(dir),
                || TokenizerFile::read(&tokenizer_path),
            );
            (folder?, file?)
        } else {
            let file = TokenizerFile::read(&tokenizer_path);
            let folder =
                HfFolder::open_without_tokenizer(dir, file.as_ref().ok().map(|f| f.len()))?;
            (folder, file?)
        };
        let arch = folder.architecture().ok_or_else(|| {
            VocabError::invalid(
                dir.join("config.json"),
                format!(
                    "unknown model_type; {purpose} needs to know which tensors hold the vocabulary"
                ),
            )
        })?;
        let weights = folder.weights();
        let rows = arch
            .find_embedding(&mut weights.iter().map(|t| t.entry.name.as_str()))
            .and_then(|n| weights.get(n))
            .map(|t| t.entry.shape[0])
            .ok_or_else(|| VocabError::invalid(dir, "no input embedding found"))?;
        if rows < file.len() {
            return Err(VocabError::invalid(
                &tokenizer_path,
                format!(
                    "has {} tokens but the embedding only {rows} rows",
                    file.len()
                ),
            ));
        }
        Ok(VocabModel {
            dir: dir.to_path_buf(),
            folder,
            file,
            arch,
            rows,
            lazy_tokenizer: OnceLock::new(),
        })
    }

    /// Frees the model on a thread of its own, so that the caller need not
    /// wait: a 250k-piece tokenizer held as a JSON tree (and, once built, as
    /// the `tokenizers` crate's) takes up to ~0.3 s to free.
    pub fn release(self) {
        std::thread::spawn(move || drop(self));
    }

    /// The tokenizer, loaded by the `tokenizers` crate (on the first call
    /// when opened with [`Self::open_lazy`]).
    pub fn tokenizer(&self) -> Result<&tokenizers::Tokenizer> {
        if let Some(tokenizer) = self.folder.tokenizer().or(self.lazy_tokenizer.get()) {
            return Ok(tokenizer);
        }
        let built = load_tokenizer(self.file.path())?;
        Ok(self.lazy_tokenizer.get_or_init(|| built))
    }

    /// Every tensor, in file order.
    pub fn tensors(&self) -> Vec<TensorRef<'_>> {
        self.folder.weights().iter().collect()
    }

    /// Whether a tensor's rows are the vocabulary.
    pub fn is_token_indexed(&self, t: &TensorRef) -> bool {
        self.arch.role(&t.entry.name).is_vocabulary() && t.entry.shape.first() == Some(&self.rows)
    }

    /// Writes the weights into `out`: token-indexed tensor `i` (index into
    /// [`Self::tensors`]) gets `rows_after` rows, row `r` being `row(i, r)`.
    pub fn write_weights<'a>(
        &'a self,
        out: &OutputDir,
        rows_after: usize,
        max_shard_bytes: u64,
        message: &str,
        row: &'a (dyn Fn(usize, usize) -> Row<'a> + Sync),
    ) -> Result<WrittenWeights> {
        let tensors = self.tensors();
        let plan: Vec<PlannedTensor> = tensors
            .iter()
            .map(|t| {
                let mut shape = t.entry.shape.clone();
                if self.is_token_indexed(t) {
                    shape[0] = rows_after;
                }
                PlannedTensor {
                    name: t.entry.name.clone(),
                    dtype: t.entry.dtype,
                    shape,
                }
            })
            .collect();
        let producer = |i: usize| -> retarget_model::Result<TensorBytes<'_>> {
            let t = tensors[i];
            if !self.is_token_indexed(&t) {
                return Ok(TensorBytes::FileRange {
                    path: t.file.path(),
                    offset: (t.file.header().data_start() + t.entry.data_offsets.0) as u64,
                    len: t.entry.byte_len() as u64,
                });
            }
            let row_bytes = t.entry.byte_len() / self.rows;
            let data = t.data();
            Ok(TensorBytes::Stream(Box::new(
                move |sink: &mut dyn Write| {
                    let io = |e| ModelError::io(t.file.path(), e);
                    let mut w = BufWriter::with_capacity(1 << 22, sink);
                    for r in 0..rows_after {
                        let bytes = match row(i, r) {
                            Row::Old(n) => &data[n * row_bytes..(n + 1) * row_bytes],
                            Row::New(bytes) => bytes,
                        };
                        w.write_all(bytes).map_err(io)?;
                    }
                    w.flush().map_err(io)
                },
            )))
        };
        let total: u64 = plan.iter().map(|t| t.byte_len() as u64).sum();
        let bar = bytes_bar(total, message);
        let written = write_weights(out, &plan, max_shard_bytes, &producer, &bar);
        bar.finish_and_clear();
        Ok(written?)
    }
}
