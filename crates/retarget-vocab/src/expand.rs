//! `retarget vocab expand`: train a tokenizer of the base's kind (BPE,
//! Unigram or WordPiece) on target-language text, take the `--add` most
//! useful tokens the base lacks ([`crate::new_tokens`]) and append them to
//! the base tokenizer as real vocabulary — old ids, merges, pieces and rows
//! unchanged. New embedding and head rows are initialised with FVT (the mean
//! of the old rows of the old tokenizer's pieces of the new token), from a
//! parallel corpus's alignments, or randomly from the old rows' mean and
//! spread.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use retarget_model::dtype::{from_f32, to_f32, FloatType};
use retarget_model::weights::TensorRef;
use retarget_model::writer::OutputDir;
use tokenizers::models::ModelWrapper;
use tokenizers::Model;

use crate::error::{Result, VocabError};
use crate::new_tokens::learn;
use crate::resize::{Row, VocabModel};
use crate::tokenizer_files::write_tokenizer_files;
use crate::trim::read_corpus;

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

fn float_type(t: &TensorRef) -> Result<FloatType> {
    FloatType::of(t.entry.dtype).ok_or_else(|| {
        VocabError::invalid(
            t.file.path(),
            format!(
                "tensor `{}` is {:?}; new rows need float rows",
                t.entry.name, t.entry.dtype
            ),
        )
    })
}

/// The new rows of one token-indexed tensor, encoded like it: weighted sums
/// of old rows (`mixtures`, one per new token: FVT's equal weights over the
/// pieces, or alignment weights), or random rows.
fn new_rows(
    t: &TensorRef,
    rows: usize,
    mixtures: &[Vec<(usize, f64)>],
    init: Init,
) -> Result<Vec<Vec<u8>>> {
    let dtype = float_type(t)?;
    let width = t.entry.numel() / rows;
    let row = |r: usize| {
        to_f32(
            dtype,
            &t.data()[r * width * dtype.size()..(r + 1) * width * dtype.size()],
        )
    };
    let values: Vec<Vec<f32>> = match init {
        Init::Mean | Init::TransTok => mixtures
            .iter()
            .map(|mixture| {
                let mut sum = vec![0f64; width];
                for &(id, weight) in mixture {
                    sum.iter_mut()
                        .zip(row(id))
                        .for_each(|(s, v)| *s += weight * v as f64);
                }
                sum.iter().map(|&s| s as f32).collect()
            })
            .collect(),
        Init::Random { seed } => {
            let (mut sum, mut squares) = (vec![0f64; width], vec![0f64; width]);
            for r in 0..rows {
                for (j, v) in row(r).into_iter().enumerate() {
                    sum[j] += v as f64;
                    squares[j] += (v as f64) * (v as f64);
                }
            }
            let n = rows.max(1) as f64;
            let normals: Vec<Normal<f64>> = sum
                .iter()
                .zip(&squares)
                .map(|(s, q)| {
                    let mean = s / n;
                    Normal::new(mean, (q / n - mean * mean).max(0.0).sqrt())
                        .expect("finite parameters")
                })
                .collect();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            mixtures
                .iter()
                .map(|_| normals.iter().map(|d| d.sample(&mut rng) as f32).collect())
                .collect()
        }
    };
    Ok(values.iter().map(|v| from_f32(dtype, v)).collect())
}

/// Expands the model folder `model` into the new folder `output`.
pub fn expand(model: &Path, output: &Path, options: &ExpandOptions) -> Result<ExpandReport> {
    let source = VocabModel::open(model, "expansion")?;
    let (file, tokenizer) = (&source.file, source.tokenizer());
    if options.add == 0 {
        return Err(VocabError::Usage("--add must be at least 1".into()));
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
            let (src, tgt) = options.parallel.as_ref().ok_or_else(|| {
                VocabError::Usage(
                    "--init transtok needs a parallel corpus (--parallel SOURCE TARGET)".into(),
                )
            })?;
            let weights =
                alignment_mixtures(tokenizer, &new_tokenizer, src, tgt, first_new, added.len())?;
            let aligned = weights.iter().filter(|w| !w.is_empty()).count();
            for (mixture, weights) in mixtures.iter_mut().zip(weights) {
                if !weights.is_empty() {
                    *mixture = weights;
                }
            }
            Some(aligned)
        }
        _ => None,
    };
    let fresh: Vec<Option<Vec<Vec<u8>>>> = source
        .tensors()
        .iter()
        .map(|t| {
            source
                .is_token_indexed(t)
                .then(|| new_rows(t, rows_before, &mixtures, options.init))
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
    let count = |t: &tokenizers::Tokenizer| -> Result<usize> {
        lines.iter().try_fold(0, |n, l| {
            t.encode(l.as_str(), false)
                .map(|e| n + e.len())
                .map_err(|e| VocabError::Internal(e.to_string()))
        })
    };
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
        corpus_tokens: (count(tokenizer)?, count(&new_tokenizer)?),
        aligned_tokens,
    })
}

/// The old model's pieces of `token`. A WordPiece continuation (`##ka`) is
/// split greedily, longest match first, into continuations, as WordPiece
/// splits the inside of a word; everything else is tokenized as a word.
fn old_pieces(model: &ModelWrapper, prefix: Option<&str>, token: &str) -> Result<Vec<usize>> {
    if let (ModelWrapper::WordPiece(wp), Some(prefix)) = (model, prefix) {
        if let Some(rest) = token.strip_prefix(prefix).filter(|r| !r.is_empty()) {
            let chars: Vec<(usize, char)> = rest.char_indices().collect();
            let mut ids = Vec::new();
            let mut start = 0;
            while start < chars.len() {
                let from = chars[start].0;
                let found = (start + 1..=chars.len()).rev().find_map(|end| {
                    let to = chars.get(end).map_or(rest.len(), |c| c.0);
                    let id = wp.token_to_id(&format!("{prefix}{}", &rest[from..to]))?;
                    Some((end, id as usize))
                });
                let Some((end, id)) = found else {
                    // No continuation covers this character: the unknown token.
                    return Ok(wp
                        .token_to_id(&wp.unk_token)
                        .map(|i| i as usize)
                        .into_iter()
                        .collect());
                };
                ids.push(id);
                start = end;
            }
            return Ok(ids);
        }
    }
    model
        .tokenize(token)
        .map(|t| t.iter().map(|t| t.id as usize).collect())
        .map_err(|e| VocabError::Internal(format!("splitting {token:?}: {e}")))
}

/// For each new token (ids `first_new..first_new + added`): the old source
/// tokens a parallel corpus aligns it with, weighted by their share of its
/// expected alignment counts; empty for tokens never aligned.
fn alignment_mixtures(
    old: &tokenizers::Tokenizer,
    new: &tokenizers::Tokenizer,
    source_file: &Path,
    target_file: &Path,
    first_new: usize,
    added: usize,
) -> Result<Vec<Vec<(usize, f64)>>> {
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
        let mixtures = alignment_mixtures(&old, &new, &src, &tgt, 5, 3).unwrap();
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
        let err = alignment_mixtures(&old, &new, &src, &tgt, 5, 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("aligned line by line"), "{err}");
    }
}
