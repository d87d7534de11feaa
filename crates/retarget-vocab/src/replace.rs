//! `retarget vocab expand --replace`: the model's vocabulary replaced by a
//! target-language tokenizer (given, a helper model's, or trained like the
//! old one on the corpus), as WECHSEL, FOCUS and CLP-Transfer do. Tokens
//! both vocabularies have keep their old rows (copied byte for byte); the
//! others are initialised with FVT (the mean of the old rows of the old
//! tokenizer's pieces of the token's text, across Ġ/▁/## conventions),
//! random rows, trans-tokenization, FOCUS, WECHSEL or CLP ([`crate::init`],
//! [`crate::apply`]).

use std::path::Path;

use retarget_model::output::OutputDir;

pub use crate::apply::ReplaceReport;

use crate::apply::{apply, NewVocabulary};
use crate::error::{Result, VocabError};
use crate::init::{Init, Replacement};
use crate::model::VocabModel;
use crate::tokenizer::json::TokenizerFile;
use crate::tokenizer::new_tokens::train_replacement;

/// Options of a vocabulary replacement.
#[derive(Debug, Clone)]
pub struct ReplaceOptions {
    /// Where the new vocabulary comes from.
    pub replacement: Replacement,
    /// Initialisation of the rows of tokens the old vocabulary lacks, with
    /// its inputs.
    pub init: Init,
    /// Target-language text (non-blank lines, as [`read_corpus`](crate::trim::read_corpus) reads them;
    /// may be empty): trains the new tokenizer when none is given, and
    /// FOCUS's vectors; token counts before and after.
    pub corpus: Vec<String>,
    /// Largest output shard in bytes.
    pub max_shard_bytes: u64,
}

/// Replaces the vocabulary of the opened model `source`, writing `output`.
pub fn replace(
    source: &VocabModel,
    output: &Path,
    options: &ReplaceOptions,
) -> Result<ReplaceReport> {
    // The output is checked before any work.
    let out = OutputDir::create(output, &[&source.dir])?;
    let new = new_tokenizer_file(source, options)?;
    apply(
        source,
        out,
        NewVocabulary::Replaced(new),
        &options.init,
        &options.corpus,
        options.max_shard_bytes,
        "replacing",
    )
}

/// The new tokenizer: `--tokenizer`, the helper's, or one trained like the
/// old on the corpus.
fn new_tokenizer_file(source: &VocabModel, options: &ReplaceOptions) -> Result<TokenizerFile> {
    match (&options.replacement.tokenizer, &options.replacement.helper) {
        (Some(path), _) => TokenizerFile::read(path),
        (None, Some(helper)) => TokenizerFile::read(&helper.join("tokenizer.json")),
        (None, None) => {
            if options.corpus.is_empty() {
                return Err(VocabError::Usage(
                    "--replace needs the new tokenizer: --tokenizer FILE, --helper DIR (--init clp), or --corpus to train one".into(),
                ));
            }
            let size = options.replacement.vocab_size.unwrap_or(source.file.len());
            train_replacement(&source.file, source.tokenizer()?, &options.corpus, size)
        }
    }
}
