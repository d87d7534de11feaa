//! `retarget vocab expand`: train a tokenizer of the base's kind (BPE,
//! Unigram or WordPiece) on target-language text, take the `--add` most
//! useful tokens the base lacks ([`crate::tokenizer::new_tokens`]) and append them to
//! the base tokenizer as real vocabulary — old ids, merges, pieces and rows
//! unchanged. New embedding and head rows are initialised with FVT (the mean
//! of the old rows of the old tokenizer's pieces of the new token), from a
//! parallel corpus's alignments, or randomly from the old rows' mean and
//! spread.

use std::path::{Path, PathBuf};

use retarget_model::output::OutputDir;

use crate::error::{Result, VocabError};
use crate::init::rows::old_pieces;
use crate::init::{Context, Init};
use crate::model::{Row, VocabModel};
use crate::tokenizer::files::write_tokenizer_files;
use crate::tokenizer::json::NewTokens;
use crate::tokenizer::new_tokens::learn;
use crate::tokenizer::usage::count_all;
use crate::trim::non_empty;

/// Options of `retarget vocab expand`.
#[derive(Debug, Clone)]
pub struct ExpandOptions {
    /// The target-language corpus: its non-blank lines, as [`read_corpus`](crate::trim::read_corpus) reads them.
    pub corpus: Vec<String>,
    /// Number of tokens to add.
    pub add: usize,
    /// The new tokens, when they were already learnt from this corpus for
    /// this model ([`learn`]; `adapt` compares several initialisations on one
    /// vocabulary); else they are learnt here.
    pub tokens: Option<NewTokens>,
    /// Initialisation of the new rows.
    pub init: Init,
    /// A parallel corpus for `Init::TransTok`: source-language text (read
    /// with the old tokenizer) and its target-language translation (read
    /// with the expanded one), line by line.
    pub parallel: Option<(PathBuf, PathBuf)>,
    /// Largest output shard in bytes.
    pub max_shard_bytes: u64,
}

/// What `expand` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExpandReport {
    /// The output folder.
    pub output: PathBuf,
    /// Tokens before.
    pub tokens_before: usize,
    /// Tokens after.
    pub tokens_after: usize,
    /// Embedding rows before.
    pub rows_before: usize,
    /// Embedding rows after.
    pub rows_after: usize,
    /// The first new tokens (up to 20), as stored in the vocabulary.
    pub first_new_tokens: Vec<String>,
    /// Tokens of the corpus with the old and the new tokenizer.
    pub corpus_tokens: (usize, usize),
    /// With `transtok`: new tokens initialised from alignments (the others
    /// fell back to FVT).
    pub aligned_tokens: Option<usize>,
}

/// Expands the model folder `model` into the new folder `output`.
pub fn expand(model: &Path, output: &Path, options: &ExpandOptions) -> Result<ExpandReport> {
    let source = VocabModel::open(model, "expansion")?;
    let (file, tokenizer) = (&source.file, source.tokenizer());
    if options.add == 0 {
        return Err(VocabError::Usage("--add must be at least 1".into()));
    }
    let method = options.init.method();
    if method.replaces_only() {
        return Err(VocabError::Usage(format!(
            "--init {} initialises a replaced vocabulary: use --replace",
            options.init.name()
        )));
    }
    // The output is checked before any work.
    let out = OutputDir::create(output, &[model])?;
    let rows_before = source.rows;
    let first_new = file.len();
    let lines = non_empty(&options.corpus)?;
    let added = match &options.tokens {
        Some(tokens) => tokens.clone(),
        None => learn(file, tokenizer, lines, options.add)?,
    };
    let expanded = file.with_appended(&added)?;
    let new_tokenizer = expanded.load()?;
    let tokens_after = expanded.len();
    let rows_after = rows_before.max(tokens_after);

    // The old tokenizer's pieces of each new token (FVT).
    let pieces: Vec<Vec<usize>> = added
        .tokens()
        .into_iter()
        .map(|token| old_pieces(tokenizer.get_model(), file.continuing_prefix(), token))
        .collect::<Result<_>>()?;
    let fvt: Vec<Vec<(usize, f64)>> = pieces
        .iter()
        .map(|ids| ids.iter().map(|&id| (id, 1.0 / ids.len() as f64)).collect())
        .collect();
    // Old tokens keep their rows; the appended ones need rows.
    let shared: Vec<Option<usize>> = (0..tokens_after)
        .map(|i| (i < first_new).then_some(i))
        .collect();
    let missing: Vec<usize> = (first_new..tokens_after).collect();
    let plan = method.plan(Context {
        old: (file, tokenizer),
        new: (&expanded, &new_tokenizer),
        missing: &missing,
        shared: &shared,
        fvt,
        parallel: options.parallel.as_ref(),
        lines,
        replacement: None,
    })?;
    let fresh = plan.rows_of(&source, &shared, options.init.seed())?;
    let row = |i: usize, r: usize| {
        let new = r
            .checked_sub(first_new)
            .and_then(|k| fresh[i].as_ref()?.get(k));
        new.map_or(Row::Old(r), |bytes| Row::New(bytes))
    };
    source.write_weights(&out, rows_after, options.max_shard_bytes, "expanding", &row)?;

    let identity: Vec<Option<usize>> = (0..file.len()).map(Some).collect();
    write_tokenizer_files(&out, &source, &expanded, &identity, rows_after)?;
    let output = out.commit()?;
    Ok(ExpandReport {
        output,
        tokens_before: file.len(),
        tokens_after,
        rows_before,
        rows_after,
        first_new_tokens: added
            .tokens()
            .into_iter()
            .take(20)
            .map(str::to_string)
            .collect(),
        corpus_tokens: (
            count_all(tokenizer, lines)?,
            count_all(&new_tokenizer, lines)?,
        ),
        aligned_tokens: plan.aligned(),
    })
}
