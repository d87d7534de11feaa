//! `retarget vocab expand --replace`: the model's vocabulary replaced by a
//! target-language tokenizer (given, a helper model's, or trained like the
//! old one on the corpus), as WECHSEL, FOCUS and CLP-Transfer do. Tokens
//! both vocabularies have keep their old rows (copied byte for byte); the
//! others are initialised with FVT (the mean of the old rows of the old
//! tokenizer's pieces of the token's text, across Ġ/▁/## conventions),
//! random rows, trans-tokenization, FOCUS, WECHSEL or CLP ([`crate::init`]).

use std::path::{Path, PathBuf};

use retarget_model::output::OutputDir;

use crate::error::{Result, VocabError};
use crate::init::rows::old_pieces;
use crate::init::{Context, Init, Replacement};
use crate::model::{Row, VocabModel};
use crate::tokenizer::files::{config_token_ids, write_tokenizer_files};
use crate::tokenizer::json::TokenizerFile;
use crate::tokenizer::new_tokens::train_replacement;
use crate::tokenizer::token_text::Convention;
use crate::tokenizer::usage::count_all;

/// Options of a vocabulary replacement.
#[derive(Debug, Clone)]
pub struct ReplaceOptions {
    /// The new vocabulary and the initialisations' inputs.
    pub replacement: Replacement,
    /// Initialisation of the rows of tokens the old vocabulary lacks.
    pub init: Init,
    /// A parallel corpus for `Init::TransTok` (source text, its translation).
    pub parallel: Option<(PathBuf, PathBuf)>,
    /// Target-language text (non-blank lines, as [`read_corpus`](crate::trim::read_corpus) reads them;
    /// may be empty): trains the new tokenizer when none is given, and
    /// FOCUS's vectors; token counts before and after.
    pub corpus: Vec<String>,
    /// Largest output shard in bytes.
    pub max_shard_bytes: u64,
}

/// What a replacement did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplaceReport {
    /// The output folder.
    pub output: PathBuf,
    /// Tokens before.
    pub tokens_before: usize,
    /// Tokens after (the new tokenizer's).
    pub tokens_after: usize,
    /// Embedding rows before.
    pub rows_before: usize,
    /// Embedding rows after.
    pub rows_after: usize,
    /// New tokens the old vocabulary has too (their rows are copied).
    pub shared_tokens: usize,
    /// With `transtok`: new tokens initialised from alignments.
    pub aligned_tokens: Option<usize>,
    /// New tokens given random rows (all with `random`; with `focus`, those
    /// without an auxiliary vector).
    pub random_rows: usize,
    /// Tokens of the corpus with the old and the new tokenizer.
    pub corpus_tokens: Option<(usize, usize)>,
    /// Files of the input not carried over.
    pub dropped_files: Vec<String>,
}

/// Replaces the vocabulary of the model folder `model`, writing `output`.
pub fn replace(model: &Path, output: &Path, options: &ReplaceOptions) -> Result<ReplaceReport> {
    let source = VocabModel::open(model, "vocabulary replacement")?;
    // The output is checked before any work.
    let out = OutputDir::create(output, &[model])?;
    let old = &source.file;
    // The corpus may train the tokenizer and FOCUS's vectors and is counted
    // with both tokenizers.
    let lines = &options.corpus;
    let new = new_tokenizer_file(&source, options, lines)?;
    let new_tokenizer = new.load()?;
    // New id → old id: by default the same token string (FOCUS: the same
    // canonical form; WECHSEL: special tokens only).
    let method = options.init.method();
    let shared = method.shared((old, source.tokenizer()), (&new, &new_tokenizer))?;
    // Old id → new id: the same string, else a new token sharing its row.
    let mut remap: Vec<Option<usize>> = (0..old.len()).map(|i| new.id(old.token(i))).collect();
    for (new_id, old_id) in shared.iter().enumerate() {
        if let Some(o) = *old_id {
            remap[o] = remap[o].or(Some(new_id));
        }
    }
    check_config_ids(&source, &remap, new.path())?;
    let missing: Vec<usize> = (0..new.len()).filter(|&i| shared[i].is_none()).collect();
    let shared_tokens = new.len() - missing.len();

    // FVT mixtures of the missing tokens: their text spelled the old way.
    let (from, to) = (Convention::of(&new), Convention::of(old));
    let fvt: Vec<Vec<(usize, f64)>> = missing
        .iter()
        .map(|&i| {
            let spelled = to.spell(&from.text(new.token(i)));
            let ids = old_pieces(
                source.tokenizer().get_model(),
                old.continuing_prefix(),
                &spelled,
            )?;
            Ok(ids.iter().map(|&id| (id, 1.0 / ids.len() as f64)).collect())
        })
        .collect::<Result<_>>()?;
    let plan = method.plan(Context {
        old: (old, source.tokenizer()),
        new: (&new, &new_tokenizer),
        missing: &missing,
        shared: &shared,
        fvt,
        parallel: options.parallel.as_ref(),
        lines,
        replacement: Some(&options.replacement),
    })?;
    let fresh = plan.rows_of(&source, &shared, options.init.seed())?;

    let rows_after = new.len();
    let mut position = vec![usize::MAX; new.len()];
    for (k, &i) in missing.iter().enumerate() {
        position[i] = k;
    }
    let row = |i: usize, r: usize| match shared[r] {
        Some(old_id) => Row::Old(old_id),
        None => Row::New(&fresh[i].as_ref().expect("token-indexed")[position[r]]),
    };
    source.write_weights(&out, rows_after, options.max_shard_bytes, "replacing", &row)?;
    let dropped_files = write_tokenizer_files(&out, &source, &new, &remap, rows_after)?;
    let corpus_tokens = if lines.is_empty() {
        None
    } else {
        Some((
            count_all(source.tokenizer(), lines)?,
            count_all(&new_tokenizer, lines)?,
        ))
    };
    Ok(ReplaceReport {
        output: out.commit()?,
        tokens_before: old.len(),
        tokens_after: new.len(),
        rows_before: source.rows,
        rows_after,
        shared_tokens,
        aligned_tokens: plan.aligned(),
        random_rows: plan.random_rows(),
        corpus_tokens,
        dropped_files,
    })
}

/// The new tokenizer: `--tokenizer`, the helper's, or one trained like the
/// old on the corpus `lines`.
fn new_tokenizer_file(
    source: &VocabModel,
    options: &ReplaceOptions,
    lines: &[String],
) -> Result<TokenizerFile> {
    match (&options.replacement.tokenizer, &options.replacement.helper) {
        (Some(path), _) => TokenizerFile::read(path),
        (None, Some(helper)) => TokenizerFile::read(&helper.join("tokenizer.json")),
        (None, None) => {
            if lines.is_empty() {
                return Err(VocabError::Usage(
                    "--replace needs the new tokenizer: --tokenizer FILE, --helper DIR (--init clp), or --corpus to train one".into(),
                ));
            }
            let size = options.replacement.vocab_size.unwrap_or(source.file.len());
            train_replacement(&source.file, source.tokenizer(), lines, size)
        }
    }
}

/// Every token id the configs name must have a place in the new vocabulary.
fn check_config_ids(source: &VocabModel, remap: &[Option<usize>], tokenizer: &Path) -> Result<()> {
    let lacking = config_token_ids(&source.dir)?
        .into_iter()
        .find(|&(_, id)| id < remap.len() && remap[id].is_none());
    match lacking {
        Some((path, id)) => Err(VocabError::invalid(
            tokenizer,
            format!(
                "lacks {:?} (id {id}), which {} names; add it to the new tokenizer",
                source.file.token(id),
                path.display()
            ),
        )),
        None => Ok(()),
    }
}
