//! `retarget vocab expand`: train a tokenizer of the base's kind (BPE,
//! Unigram or WordPiece) on target-language text, take the `--add` most
//! useful tokens the base lacks ([`crate::new_tokens`]) and append them to
//! the base tokenizer as real vocabulary — old ids, merges, pieces and rows
//! unchanged. New embedding and head rows are initialised with FVT (the mean
//! of the old rows of the old tokenizer's pieces of the new token), from a
//! parallel corpus's alignments, or randomly from the old rows' mean and
//! spread.

use std::path::{Path, PathBuf};

use retarget_model::writer::OutputDir;

use crate::error::{Result, VocabError};
use crate::new_tokens::learn;
use crate::resize::{Row, VocabModel};
use crate::rows::{new_rows, old_pieces};
use crate::tokenizer_files::write_tokenizer_files;
use crate::trim::read_corpus;
use crate::usage::count_all;

/// How new rows are initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// FVT: the mean of the old rows of the old tokenizer's pieces.
    Mean,
    /// Per dimension N(mean, std) of the old rows (seeded).
    Random {
        /// Seed.
        seed: u64,
    },
    /// Trans-tokenization: the old rows of the source tokens a parallel
    /// corpus aligns with the new token, weighted by their expected alignment
    /// counts ([`crate::align`]); FVT for new tokens the corpus never aligns.
    TransTok,
    /// CLP-Transfer (vocabulary replacement only): a helper model that uses
    /// the new tokenizer weighs the shared tokens' old rows by cosine
    /// similarity in its own embedding space ([`crate::replace`]).
    Clp,
    /// FOCUS (vocabulary replacement only): sparsemax-weighted shared rows
    /// by similarity of auxiliary token vectors ([`crate::focus`]).
    Focus,
    /// WECHSEL (vocabulary replacement only): the nearest old tokens in
    /// aligned fastText spaces ([`crate::wechsel`]).
    Wechsel,
    /// OFA-style (vocabulary replacement only): WECHSEL's rule in one
    /// multilingual fastText space.
    Ofa,
}

impl Init {
    /// The seed of random rows: every row with `random`, the rows no
    /// mixture covers otherwise.
    pub(crate) fn seed(self) -> u64 {
        match self {
            Init::Random { seed } => seed,
            _ => 0,
        }
    }
}

/// Options of `retarget vocab expand`.
#[derive(Debug, Clone)]
pub struct ExpandOptions {
    /// Target-language text, one segment per line.
    pub corpus: Vec<PathBuf>,
    /// Number of tokens to add.
    pub add: usize,
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
    match options.init {
        Init::Clp => return Err(VocabError::Usage(
            "--init clp takes the helper model's tokenizer as the whole new vocabulary: use --replace --helper DIR".into(),
        )),
        Init::Focus | Init::Wechsel | Init::Ofa => return Err(VocabError::Usage(
            "--init focus, wechsel and ofa initialise a replaced vocabulary: use --replace".into(),
        )),
        _ => {}
    }
    let rows_before = source.rows;
    let first_new = file.len();
    let lines = read_corpus(&options.corpus)?;
    let added = learn(file, tokenizer, &lines, options.add)?;
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
    let mut mixtures: Vec<Vec<(usize, f64)>> = pieces
        .iter()
        .map(|ids| ids.iter().map(|&id| (id, 1.0 / ids.len() as f64)).collect())
        .collect();
    let aligned_tokens = match options.init {
        Init::TransTok => {
            let weights = alignment_mixtures(
                tokenizer,
                &new_tokenizer,
                options.parallel.as_ref(),
                first_new,
                added.len(),
            )?;
            let aligned = weights.iter().filter(|w| !w.is_empty()).count();
            for (mixture, weights) in mixtures.iter_mut().zip(weights) {
                if !weights.is_empty() {
                    *mixture = weights;
                }
            }
            Some(aligned)
        }
        Init::Random { .. } => {
            mixtures.iter_mut().for_each(Vec::clear);
            None
        }
        _ => None,
    };
    let fresh: Vec<Option<Vec<Vec<u8>>>> = source
        .tensors()
        .iter()
        .map(|t| {
            source
                .is_token_indexed(t)
                .then(|| new_rows(t, rows_before, &mixtures, options.init.seed()))
                .transpose()
        })
        .collect::<Result<_>>()?;
    let out = OutputDir::create(output, &[model])?;
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
            count_all(tokenizer, &lines)?,
            count_all(&new_tokenizer, &lines)?,
        ),
        aligned_tokens,
    })
}

/// For each new token (ids `first_new..first_new + added`): the old source
/// tokens a parallel corpus aligns it with, weighted by their share of its
/// expected alignment counts; empty for tokens never aligned.
pub(crate) fn alignment_mixtures(
    old: &tokenizers::Tokenizer,
    new: &tokenizers::Tokenizer,
    parallel: Option<&(PathBuf, PathBuf)>,
    first_new: usize,
    added: usize,
) -> Result<Vec<Vec<(usize, f64)>>> {
    let (source_file, target_file) = parallel.ok_or_else(|| {
        VocabError::Usage(
            "--init transtok needs a parallel corpus (--parallel SOURCE TARGET)".into(),
        )
    })?;
    let sources = retarget_eval::corpus::read_lines(source_file)?;
    let targets = retarget_eval::corpus::read_lines(target_file)?;
    if sources.len() != targets.len() {
        return Err(VocabError::invalid(
            target_file,
            format!(
                "{} lines, but {} has {}: the parallel corpus must be aligned line by line",
                targets.len(),
                source_file.display(),
                sources.len()
            ),
        ));
    }
    let ids = |t: &tokenizers::Tokenizer, line: &str, file: &Path| -> Result<Vec<u32>> {
        t.encode(line, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| VocabError::invalid(file, format!("cannot tokenize: {e}")))
    };
    let mut pairs = Vec::with_capacity(sources.len());
    for (s, t) in sources.iter().zip(&targets) {
        let (s, t) = (ids(old, s, source_file)?, ids(new, t, target_file)?);
        if !s.is_empty() && !t.is_empty() {
            pairs.push((s, t));
        }
    }
    if pairs.is_empty() {
        return Err(VocabError::invalid(
            target_file,
            "the parallel corpus has no pair of non-empty lines",
        ));
    }
    let counts = crate::align::alignment_counts(&pairs, crate::align::AlignOptions::default());
    let mut mixtures = vec![Vec::new(); added];
    for (&(s, t), &c) in &counts {
        if let Some(k) = (t as usize).checked_sub(first_new).filter(|&k| k < added) {
            mixtures[k].push((s as usize, c));
        }
    }
    for mixture in &mut mixtures {
        let total: f64 = mixture.iter().map(|(_, c)| c).sum();
        mixture.sort_unstable_by_key(|&(s, _)| s);
        mixture.iter_mut().for_each(|(_, c)| *c /= total);
    }
    Ok(mixtures)
}

#[cfg(test)]
mod tests {
    use super::*;
    use retarget_fixtures::tokenizers_train::word_level;

    #[test]
    fn new_tokens_take_the_rows_of_the_source_tokens_they_align_with() {
        let old = word_level(&["<unk>", "cat", "dog", "the", "runs"], "<unk>");
        let new = word_level(
            &[
                "<unk>", "cat", "dog", "the", "runs", "paka", "mbwa", "unseen",
            ],
            "<unk>",
        );
        let dir = tempfile::tempdir().unwrap();
        let (src, tgt) = (dir.path().join("en.txt"), dir.path().join("sw.txt"));
        let (mut en, mut sw) = (String::new(), String::new());
        for k in 0..30 {
            let (animal, word) = if k % 2 == 0 {
                ("cat", "paka")
            } else {
                ("dog", "mbwa")
            };
            en += &format!("the {animal} runs\n");
            sw += &format!("{word} runs\n");
        }
        std::fs::write(&src, en).unwrap();
        std::fs::write(&tgt, sw).unwrap();
        let mixtures =
            alignment_mixtures(&old, &new, Some(&(src.clone(), tgt.clone())), 5, 3).unwrap();
        let weight = |k: usize, id: usize| {
            mixtures[k]
                .iter()
                .find(|(s, _)| *s == id)
                .map_or(0.0, |(_, w)| *w)
        };
        // "the" comes with both animals, so it keeps a share; the animal that
        // never co-occurs gets none.
        let top = |k: usize| {
            mixtures[k]
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap()
                .0
        };
        assert_eq!(top(0), 1, "paka → cat: {:?}", mixtures[0]);
        assert_eq!(top(1), 2, "mbwa → dog: {:?}", mixtures[1]);
        assert!(
            weight(0, 1) > 0.6 && weight(0, 2) < 0.01,
            "{:?}",
            mixtures[0]
        );
        assert!((mixtures[0].iter().map(|(_, w)| w).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(mixtures[2].is_empty(), "never aligned: falls back to FVT");
        std::fs::write(&tgt, "paka runs\n").unwrap();
        let err = alignment_mixtures(&old, &new, Some(&(src.clone(), tgt.clone())), 5, 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("aligned line by line"), "{err}");
    }
}
