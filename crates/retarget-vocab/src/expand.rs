//! `retarget vocab expand`: learn `--add` target-language tokens the base
//! lacks (BPE, Unigram or WordPiece; [`crate::tokenizer::new_tokens`]) and append them to
//! the base tokenizer as real vocabulary — old ids, merges, pieces and rows
//! unchanged. New embedding and head rows are initialised with FVT (the mean
//! of the old rows of the old tokenizer's pieces of the new token), from a
//! parallel corpus's alignments, or randomly from the old rows' mean and
//! spread ([`crate::apply`]).

use std::path::{Path, PathBuf};

use retarget_model::output::OutputDir;

use crate::apply::{apply, NewVocabulary};
use crate::error::{Result, VocabError};
use crate::init::Init;
use crate::model::VocabModel;
use crate::tokenizer::json::NewTokens;
use crate::tokenizer::new_tokens::learn;
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
    /// Initialisation of the new rows, with its inputs.
    pub init: Init,
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

/// Expands the opened model `source` into the new folder `output`.
pub fn expand(source: &VocabModel, output: &Path, options: &ExpandOptions) -> Result<ExpandReport> {
    if options.add == 0 {
        return Err(VocabError::Usage("--add must be at least 1".into()));
    }
    options.init.kind().check_vocabulary(false)?;
    // The output is checked before any work.
    let out = OutputDir::create(output, &[&source.dir])?;
    let lines = non_empty(&options.corpus)?;
    let added = match &options.tokens {
        Some(tokens) => tokens.clone(),
        None => learn(&source.file, source.tokenizer()?, lines, options.add)?,
    };
    let applied = apply(
        source,
        out,
        NewVocabulary::Appended(&added),
        &options.init,
        lines,
        options.max_shard_bytes,
        "expanding",
    )?;
    Ok(ExpandReport {
        output: applied.output,
        tokens_before: applied.tokens_before,
        tokens_after: applied.tokens_after,
        rows_before: applied.rows_before,
        rows_after: applied.rows_after,
        first_new_tokens: added
            .tokens()
            .into_iter()
            .take(20)
            .map(str::to_string)
            .collect(),
        corpus_tokens: applied.corpus_tokens.expect("the corpus is not empty"),
        aligned_tokens: applied.aligned_tokens,
    })
}
