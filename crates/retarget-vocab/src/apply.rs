//! What expansion and replacement share, once: the new vocabulary (old
//! tokens with new ones appended, or a replacing tokenizer), the new tokens
//! that keep an old row and those that need one, the initialisation's plan
//! for the latter, the rewritten weights and the tokenizer and config files.

use std::path::PathBuf;

use retarget_model::output::OutputDir;

use crate::error::{Result, VocabError};
use crate::init::rows::old_pieces;
use crate::init::{Context, Init};
use crate::model::{Row, VocabModel};
use crate::tokenizer::files::{config_token_ids, write_tokenizer_files};
use crate::tokenizer::json::{NewTokens, TokenizerFile};
use crate::tokenizer::token_text::Convention;
use crate::tokenizer::usage::count_all;

/// How the new vocabulary comes about.
pub(crate) enum NewVocabulary<'a> {
    /// The old one with these tokens appended: old ids keep their rows.
    Appended(&'a NewTokens),
    /// This tokenizer instead: tokens the initialisation finds in the old
    /// vocabulary keep their rows.
    Replaced(TokenizerFile),
}

/// What a replacement (or, inside [`crate::expand`], an expansion) did.
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

/// Writes `source` with the vocabulary `vocabulary` into `out` (committed on
/// success), the rows of new tokens initialised by `init`, and reports what
/// changed; `lines` is the
/// target-language corpus (may be empty), `message` the progress bar's.
pub(crate) fn apply(
    source: &VocabModel,
    out: OutputDir,
    vocabulary: NewVocabulary,
    init: &Init,
    lines: &[String],
    max_shard_bytes: u64,
    message: &str,
) -> Result<ReplaceReport> {
    let old = &source.file;
    let old_tokenizer = source.tokenizer()?;
    let (new, appended) = match vocabulary {
        NewVocabulary::Appended(tokens) => (old.with_appended(tokens)?, true),
        NewVocabulary::Replaced(new) => (new, false),
    };
    let new_tokenizer = new.load()?;
    let (shared, mut remap, rows_after): (_, Vec<Option<usize>>, _) = if appended {
        // Old ids keep their rows; rows past the vocabulary (padding) stay.
        let shared: Vec<Option<usize>> = (0..new.len())
            .map(|i| (i < old.len()).then_some(i))
            .collect();
        let remap = (0..old.len()).map(Some).collect();
        (shared, remap, source.rows.max(new.len()))
    } else {
        let shared = init
            .method()
            .shared((old, old_tokenizer), (&new, &new_tokenizer))?;
        // Old id → new id: the same string, else a new token sharing its row.
        let remap = (0..old.len()).map(|i| new.id(old.token(i))).collect();
        (shared, remap, new.len())
    };
    for (new_id, old_id) in shared.iter().enumerate() {
        if let Some(o) = *old_id {
            remap[o] = remap[o].or(Some(new_id));
        }
    }
    check_config_ids(source, &remap, new.path())?;
    let missing: Vec<usize> = (0..new.len()).filter(|&i| shared[i].is_none()).collect();

    // FVT mixtures of the missing tokens: the old tokenizer's pieces of
    // their text (spelled the old way when the tokenizer was replaced).
    let (from, to) = (Convention::of(&new), Convention::of(old));
    let fvt: Vec<Vec<(usize, f64)>> = missing
        .iter()
        .map(|&i| {
            let text = if appended {
                new.token(i).to_string()
            } else {
                to.spell(&from.text(new.token(i)))
            };
            let ids = old_pieces(old_tokenizer.get_model(), old.continuing_prefix(), &text)?;
            Ok(ids.iter().map(|&id| (id, 1.0 / ids.len() as f64)).collect())
        })
        .collect::<Result<_>>()?;
    let plan = init.method().plan(Context {
        old: (old, old_tokenizer),
        new: (&new, &new_tokenizer),
        missing: &missing,
        shared: &shared,
        fvt,
        lines,
    })?;
    let fresh = plan.rows_of(source, &shared, init.seed())?;

    let mut position = vec![usize::MAX; new.len()];
    for (k, &i) in missing.iter().enumerate() {
        position[i] = k;
    }
    let row = |i: usize, r: usize| match shared.get(r) {
        Some(Some(old_id)) => Row::Old(*old_id),
        Some(None) => Row::New(&fresh[i].as_ref().expect("token-indexed")[position[r]]),
        None => Row::Old(r),
    };
    source.write_weights(&out, rows_after, max_shard_bytes, message, &row)?;
    let dropped_files = write_tokenizer_files(&out, source, &new, &remap, rows_after)?;
    let corpus_tokens = if lines.is_empty() {
        None
    } else {
        Some((
            count_all(old_tokenizer, lines)?,
            count_all(&new_tokenizer, lines)?,
        ))
    };
    Ok(ReplaceReport {
        output: out.commit()?,
        tokens_before: old.len(),
        tokens_after: new.len(),
        rows_before: source.rows,
        rows_after,
        shared_tokens: new.len() - missing.len(),
        aligned_tokens: plan.aligned(),
        random_rows: plan.random_rows(),
        corpus_tokens,
        dropped_files,
    })
}

/// Every token id the configs name must have a place in the new vocabulary.
fn check_config_ids(
    source: &VocabModel,
    remap: &[Option<usize>],
    tokenizer: &std::path::Path,
) -> Result<()> {
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
