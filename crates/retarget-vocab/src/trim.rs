//! `retarget vocab trim`: keep the tokens a target-language corpus uses (plus
//! what the tokenizer cannot do without), and slice the embedding, the head
//! (tied or not) and its bias to match, renumbering every token id in the
//! tokenizer and config files. On any text made only of kept tokens the
//! trimmed tokenizer produces the same token strings, and the trimmed model
//! the same logits restricted to the kept ids.

use std::path::{Path, PathBuf};

use retarget_model::dtype::{from_f32, to_f32, FloatType};
use retarget_model::output::OutputDir;
use retarget_model::weights::TensorRef;

use crate::error::{Result, VocabError};
use crate::model::{Row, VocabModel};
use crate::tokenizer::files::{config_token_ids, write_tokenizer_files};
use crate::tokenizer::json::TokenizerFile;
use crate::tokenizer::unigram_count::UnigramCounter;
use crate::tokenizer::usage::{count_tokens, select, Selection};

/// Options of `retarget vocab trim`.
#[derive(Debug, Clone)]
pub struct TrimOptions {
    /// The target-language corpus: its non-blank lines, as [`read_corpus`] reads them.
    pub corpus: Vec<String>,
    /// Which used tokens to keep.
    pub selection: Selection,
    /// A file of tokens (one per line) to keep whatever the corpus says.
    pub keep_tokens: Option<PathBuf>,
    /// Pad the vocabulary to a multiple of this (new rows: the mean row).
    pub pad_to_multiple: Option<usize>,
    /// Largest output shard in bytes.
    pub max_shard_bytes: u64,
}

/// How many tokens were kept, and why.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct KeptTokens {
    /// Added and special tokens, the unknown token, the base alphabet.
    pub structural: usize,
    /// Ids named in config files.
    pub config: usize,
    /// Listed in `--keep-tokens`.
    pub requested: usize,
    /// Used in the corpus.
    pub used: usize,
    /// Needed to build kept tokens with the BPE merges.
    pub merge_closure: usize,
}

/// What `trim` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrimReport {
    /// The output folder.
    pub output: PathBuf,
    /// Tokenizer algorithm.
    pub tokenizer: String,
    /// Corpus lines read.
    pub corpus_lines: usize,
    /// Tokens in the corpus.
    pub corpus_tokens: u64,
    /// Tokens before.
    pub tokens_before: usize,
    /// Tokens after.
    pub tokens_after: usize,
    /// Why tokens were kept.
    pub kept: KeptTokens,
    /// Embedding rows before.
    pub rows_before: usize,
    /// Embedding rows after (padded).
    pub rows_after: usize,
    /// Bytes of the weight files before.
    pub weight_bytes_before: u64,
    /// Bytes of the weight files after.
    pub weight_bytes_after: u64,
    /// Slow-tokenizer files that could not be trimmed and were left out.
    pub dropped_files: Vec<String>,
}

/// Largest `--pad-to-multiple`: padding is for GPU-friendly row counts.
const MAX_PAD_MULTIPLE: usize = 1 << 16;

/// `corpus`, refused when it has no line.
pub(crate) fn non_empty(corpus: &[String]) -> Result<&[String]> {
    if corpus.is_empty() {
        return Err(VocabError::Usage("the corpus has no text".into()));
    }
    Ok(corpus)
}

/// Reads target-language text: every file, blank lines dropped; no text at all is an error.
pub fn read_corpus(paths: &[PathBuf]) -> Result<Vec<String>> {
    let first = paths
        .first()
        .ok_or_else(|| VocabError::Usage("give at least one --corpus file".into()))?;
    let mut lines = Vec::new();
    for path in paths {
        lines.extend(retarget_model::text::read_lines(path)?);
    }
    lines.retain(|l| !l.trim().is_empty());
    if lines.is_empty() {
        return Err(VocabError::invalid(first, "the corpus has no text"));
    }
    Ok(lines)
}

fn keep_listed(path: &Path, tokenizer: &TokenizerFile, keep: &mut [bool]) -> Result<usize> {
    let mut added = 0;
    for (n, line) in retarget_model::text::read_lines(path)?.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        let id = tokenizer.id(line).ok_or_else(|| {
            VocabError::invalid(
                path,
                format!("line {}: {line:?} is not a token of the vocabulary", n + 1),
            )
        })?;
        added += !keep[id] as usize;
        keep[id] = true;
    }
    Ok(added)
}

/// The mean of the kept rows, encoded like the tensor (for padding rows).
fn mean_row(t: &TensorRef, rows: &[usize], width: usize) -> Result<Vec<u8>> {
    let dtype = FloatType::of(t.entry.dtype).ok_or_else(|| {
        VocabError::invalid(
            t.file.path(),
            format!(
                "tensor `{}` is {:?}; padding needs float rows",
                t.entry.name, t.entry.dtype
            ),
        )
    })?;
    let row_bytes = width * dtype.size();
    let mut sum = vec![0f64; width];
    for &r in rows {
        let values = to_f32(dtype, &t.data()[r * row_bytes..(r + 1) * row_bytes]);
        sum.iter_mut().zip(values).for_each(|(s, v)| *s += v as f64);
    }
    let mean: Vec<f32> = sum
        .iter()
        .map(|s| (s / rows.len().max(1) as f64) as f32)
        .collect();
    Ok(from_f32(dtype, &mean))
}

/// Trims the model folder `model` into the new folder `output`.
pub fn trim(model: &Path, output: &Path, options: &TrimOptions) -> Result<TrimReport> {
    let source = VocabModel::open_lazy(model, "trimming")?;
    if options
        .pad_to_multiple
        .is_some_and(|m| m > MAX_PAD_MULTIPLE)
    {
        return Err(VocabError::Usage(format!(
            "--pad-to-multiple is at most {MAX_PAD_MULTIPLE} (64 or 128 suit GPUs)"
        )));
    }
    // The output is checked before any work.
    let out = OutputDir::create(output, &[model])?;
    let file = &source.file;
    let rows_before = source.rows;
    let lines = non_empty(&options.corpus)?;
    // A Unigram tokenizer's pieces are counted without building the
    // `tokenizers` crate's model; the others with it.
    let counts = match UnigramCounter::new(file)? {
        Some(counter) => counter.count(lines, file.len())?,
        None => count_tokens(source.tokenizer()?, lines, file.len())?,
    };
    let mut keep = file.structural();
    let mut kept = KeptTokens {
        structural: keep.iter().filter(|k| **k).count(),
        ..KeptTokens::default()
    };
    for (_, id) in config_token_ids(model)? {
        if id < file.len() {
            kept.config += !keep[id] as usize;
            keep[id] = true;
        }
    }
    if let Some(path) = &options.keep_tokens {
        kept.requested = keep_listed(path, file, &mut keep)?;
    }
    kept.used = select(&counts, options.selection, &mut keep);
    let before_closure = keep.iter().filter(|k| **k).count();
    file.close_over_merges(&mut keep);
    kept.merge_closure = keep.iter().filter(|k| **k).count() - before_closure;

    let (trimmed, remap) = file.trimmed(&keep)?;
    let kept_rows: Vec<usize> = (0..file.len()).filter(|&i| keep[i]).collect();
    let tokens_after = kept_rows.len();
    let rows_after = match options.pad_to_multiple {
        Some(m) if m > 0 => tokens_after.div_ceil(m) * m,
        _ => tokens_after,
    };
    // Padding rows: the mean of the kept rows of each token-indexed tensor.
    let pads: Vec<Option<Vec<u8>>> = source
        .tensors()
        .iter()
        .map(|t| {
            let width: usize = t.entry.shape[1..].iter().product();
            (source.is_token_indexed(t) && rows_after > tokens_after)
                .then(|| mean_row(t, &kept_rows, width))
                .transpose()
        })
        .collect::<Result<_>>()?;
    let row = |i: usize, r: usize| match kept_rows.get(r) {
        Some(&old) => Row::Old(old),
        None => Row::New(pads[i].as_deref().unwrap_or_default()),
    };
    // The trimmed tokenizer must load; checked while the weights are written.
    let (loads, written) = rayon::join(
        || trimmed.load().map(drop),
        || source.write_weights(&out, rows_after, options.max_shard_bytes, "trimming", &row),
    );
    loads?;
    let written = written?;

    let dropped_files = write_tokenizer_files(&out, &source, &trimmed, &remap, rows_after)?;
    let output = out.commit()?;
    let weight_bytes_after = written
        .files
        .iter()
        .map(|f| {
            std::fs::metadata(output.join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    let report = TrimReport {
        output,
        tokenizer: format!("{:?}", file.kind()),
        corpus_lines: lines.len(),
        corpus_tokens: counts.iter().sum(),
        tokens_before: file.len(),
        tokens_after,
        kept,
        rows_before,
        rows_after,
        weight_bytes_before: source.folder.weights().file_bytes(),
        weight_bytes_after,
        dropped_files,
    };
    source.release();
    Ok(report)
}
