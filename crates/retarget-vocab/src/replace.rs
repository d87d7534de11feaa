//! `retarget vocab expand --replace`: the model's vocabulary replaced by a
//! target-language tokenizer (given, a helper model's, or trained like the
//! old one on the corpus), as WECHSEL, FOCUS and CLP-Transfer do. Tokens
//! both vocabularies have keep their old rows (copied byte for byte); the
//! others are initialised with FVT (the mean of the old rows of the old
//! tokenizer's pieces of the token's text, across Ġ/▁/## conventions),
//! random rows, trans-tokenization, FOCUS ([`crate::focus`]), WECHSEL
//! ([`crate::wechsel`]) or CLP.
//!
//! CLP-Transfer (Ostendorff & Rehm, 2023): a helper model that already uses
//! the new tokenizer gives every new token its cosine similarity to each
//! shared token in the helper's embedding space; the new row is the sum of
//! the shared tokens' old rows weighted by those similarities divided by
//! their sum (as the authors' `clp.py` does, over all shared tokens).

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use rayon::prelude::*;
use retarget_model::dtype::{from_f32, to_f32};
use retarget_model::weights::TensorRef;
use retarget_model::writer::OutputDir;

use crate::config_ids::referenced_ids;
use crate::error::{Result, VocabError};
use crate::expand::{alignment_mixtures, Init};
use crate::fasttext_model::read_vec;
use crate::focus;
use crate::new_tokens::train_replacement;
use crate::resize::{Row, VocabModel};
use crate::rows::{float_type, new_rows, old_pieces};
use crate::token_text::Convention;
use crate::token_vectors;
use crate::tokenizer_files::{read_json, write_tokenizer_files};
use crate::tokenizer_json::TokenizerFile;
use crate::trim::read_corpus;
use crate::usage::count_all;
use crate::wechsel::{self, WechselInputs};

/// Where a replacement's new vocabulary comes from and what its
/// initialisations need.
#[derive(Debug, Clone, Default)]
pub struct Replacement {
    /// The new `tokenizer.json` (default: the helper's, or one trained like
    /// the old on the corpus).
    pub tokenizer: Option<PathBuf>,
    /// Size of a trained new tokenizer (default: the old one's).
    pub vocab_size: Option<usize>,
    /// CLP's helper model: an HF folder whose tokenizer is the new one.
    pub helper: Option<PathBuf>,
    /// FOCUS's auxiliary token vectors (`.vec`, keyed by new tokens;
    /// default: trained on the corpus).
    pub aux_vectors: Option<PathBuf>,
    /// WECHSEL's word vectors and dictionary.
    pub wechsel: Option<WechselInputs>,
}

/// Options of a vocabulary replacement.
#[derive(Debug, Clone)]
pub struct ReplaceOptions {
    /// The new vocabulary and the initialisations' inputs.
    pub replacement: Replacement,
    /// Initialisation of the rows of tokens the old vocabulary lacks.
    pub init: Init,
    /// A parallel corpus for `Init::TransTok` (source text, its translation).
    pub parallel: Option<(PathBuf, PathBuf)>,
    /// Target-language text: trains the new tokenizer when none is given,
    /// and FOCUS's vectors; token counts before and after.
    pub corpus: Vec<PathBuf>,
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
    let old = &source.file;
    let new = new_tokenizer_file(&source, options)?;
    let new_tokenizer = new.load()?;
    // New id → old id: the same token string, or for FOCUS the same
    // canonical form (Ġ/▁/## conventions and decoding aside).
    let shared: Vec<Option<usize>> = match options.init {
        Init::Focus => focus::overlap(
            &focus::canonical_forms(old, source.tokenizer())?,
            &focus::canonical_forms(&new, &new_tokenizer)?,
        ),
        // WECHSEL builds every token from its neighbours; only the old
        // special tokens keep their rows.
        Init::Wechsel | Init::Ofa => {
            let specials = old.special_tokens();
            (0..new.len())
                .map(|i| {
                    let token = new.token(i);
                    specials
                        .iter()
                        .any(|s| s == token)
                        .then(|| old.id(token))
                        .flatten()
                })
                .collect()
        }
        _ => (0..new.len()).map(|i| old.id(new.token(i))).collect(),
    };
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
    let mut mixtures: Vec<Vec<(usize, f64)>> = missing
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
    let aligned_tokens = match options.init {
        Init::TransTok => {
            let weights = alignment_mixtures(
                source.tokenizer(),
                &new_tokenizer,
                options.parallel.as_ref(),
                0,
                new.len(),
            )?;
            let mut aligned = 0;
            for (mixture, &i) in mixtures.iter_mut().zip(&missing) {
                if !weights[i].is_empty() {
                    *mixture = weights[i].clone();
                    aligned += 1;
                }
            }
            Some(aligned)
        }
        Init::Random { .. } => {
            mixtures.iter_mut().for_each(Vec::clear);
            None
        }
        Init::Focus => {
            let vectors = match &options.replacement.aux_vectors {
                Some(path) => read_vec(path)?,
                None if !options.corpus.is_empty() => {
                    // Train them on the corpus tokenized with the new tokenizer.
                    let lines = read_corpus(&options.corpus)?;
                    let tokens = lines
                        .iter()
                        .map(|l| {
                            new_tokenizer
                                .encode(l.as_str(), false)
                                .map(|e| e.get_tokens().to_vec())
                                .map_err(|e| VocabError::Internal(format!("tokenizing the corpus: {e}")))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    token_vectors::train(&tokens, &token_vectors::TrainSettings::default())
                }
                None => {
                    return Err(VocabError::Usage(
                        "--init focus needs auxiliary token vectors: --aux-vectors FILE.vec, or --corpus to train them on".into(),
                    ))
                }
            };
            mixtures = focus::mixtures(&new, &shared, &missing, &vectors);
            None
        }
        Init::Wechsel | Init::Ofa => {
            let inputs = options.replacement.wechsel.as_ref().ok_or_else(|| {
                VocabError::Usage(if options.init == Init::Ofa {
                    "--init ofa needs a multilingual fastText model: --vectors FILE.bin".into()
                } else {
                    "--init wechsel needs fastText models: --source-vectors FILE.bin --target-vectors FILE.bin [--dictionary FILE]".into()
                })
            })?;
            if options.init == Init::Ofa
                && (inputs.source_vectors != inputs.target_vectors || inputs.dictionary.is_some())
            {
                return Err(VocabError::Usage(
                    "--init ofa uses one multilingual fastText model (--vectors FILE.bin), no dictionary".into(),
                ));
            }
            mixtures = wechsel::mixtures(
                (old, source.tokenizer()),
                (&new, &new_tokenizer),
                &missing,
                inputs,
            )?;
            None
        }
        _ => None,
    };
    let random_rows = match options.init {
        Init::Clp => 0,
        _ => mixtures.iter().filter(|m| m.is_empty()).count(),
    };
    let helper = match options.init {
        Init::Clp => Some(helper_similarities(options, &new, &shared, &missing)?),
        _ => None,
    };
    let shared_pairs: Vec<usize> = shared.iter().flatten().copied().collect();
    let fresh: Vec<Option<Vec<Vec<u8>>>> = source
        .tensors()
        .iter()
        .map(|t| {
            if !source.is_token_indexed(t) {
                return Ok(None);
            }
            match &helper {
                Some(weights) => clp_rows(t, source.rows, &shared_pairs, weights).map(Some),
                None => new_rows(t, source.rows, &mixtures, options.init.seed()).map(Some),
            }
        })
        .collect::<Result<_>>()?;

    let rows_after = new.len();
    let mut position = vec![usize::MAX; new.len()];
    for (k, &i) in missing.iter().enumerate() {
        position[i] = k;
    }
    let out = OutputDir::create(output, &[model])?;
    let row = |i: usize, r: usize| match shared[r] {
        Some(old_id) => Row::Old(old_id),
        None => Row::New(&fresh[i].as_ref().expect("token-indexed")[position[r]]),
    };
    source.write_weights(&out, rows_after, options.max_shard_bytes, "replacing", &row)?;
    let dropped_files = write_tokenizer_files(&out, &source, &new, &remap, rows_after)?;
    let corpus_tokens = if options.corpus.is_empty() {
        None
    } else {
        let lines = read_corpus(&options.corpus)?;
        Some((
            count_all(source.tokenizer(), &lines)?,
            count_all(&new_tokenizer, &lines)?,
        ))
    };
    Ok(ReplaceReport {
        output: out.commit()?,
        tokens_before: old.len(),
        tokens_after: new.len(),
        rows_before: source.rows,
        rows_after,
        shared_tokens,
        aligned_tokens,
        random_rows,
        corpus_tokens,
        dropped_files,
    })
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
            let lines = read_corpus(&options.corpus)?;
            let size = options.replacement.vocab_size.unwrap_or(source.file.len());
            train_replacement(&source.file, source.tokenizer(), &lines, size)
        }
    }
}

/// Every token id the configs name must have a place in the new vocabulary.
fn check_config_ids(source: &VocabModel, remap: &[Option<usize>], tokenizer: &Path) -> Result<()> {
    for name in ["config.json", "generation_config.json"] {
        let path = source.dir.join(name);
        let mut ids = Vec::new();
        if let Some(config) = read_json(&path)? {
            referenced_ids(&config, &mut ids);
        }
        if let Some(&id) = ids
            .iter()
            .find(|&&id| id < remap.len() && remap[id].is_none())
        {
            return Err(VocabError::invalid(
                tokenizer,
                format!(
                    "lacks {:?} (id {id}), which {} names; add it to the new tokenizer",
                    source.file.token(id),
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// CLP's weights: for each missing token (rows) and shared token (columns),
/// the cosine similarity of their helper embeddings over the row's sum.
fn helper_similarities(
    options: &ReplaceOptions,
    new: &TokenizerFile,
    shared: &[Option<usize>],
    missing: &[usize],
) -> Result<Tensor> {
    let dir = options.replacement.helper.as_ref().ok_or_else(|| {
        VocabError::Usage("--init clp needs the helper model: --helper DIR".into())
    })?;
    let helper = VocabModel::open(dir, "CLP's helper model")?;
    if helper.file.len() != new.len()
        || (0..new.len()).any(|i| helper.file.token(i) != new.token(i))
    {
        return Err(VocabError::invalid(
            dir.join("tokenizer.json"),
            "is not the new tokenizer: CLP's helper model must use the tokenizer that replaces the old one",
        ));
    }
    let tensors = helper.tensors();
    let embedding = tensors
        .iter()
        .find(|t| {
            helper.arch.role(&t.entry.name)
                == retarget_model::tensor_roles::TensorRole::InputEmbedding
        })
        .ok_or_else(|| VocabError::invalid(dir, "no input embedding found"))?;
    let width = embedding.entry.numel() / helper.rows;
    let values = to_f32(float_type(embedding)?, embedding.data());
    let shared_ids: Vec<u32> = (0..new.len())
        .filter(|&i| shared[i].is_some())
        .map(|i| i as u32)
        .collect();
    if shared_ids.is_empty() {
        return Err(VocabError::invalid(
            dir.join("tokenizer.json"),
            "shares no token with the model's vocabulary: CLP has nothing to combine",
        ));
    }
    let internal = |e: candle_core::Error| VocabError::Internal(format!("CLP similarities: {e}"));
    let all = Tensor::from_vec(values, (helper.rows, width), &Device::Cpu).map_err(internal)?;
    let unit = all
        .broadcast_div(
            &all.sqr()
                .and_then(|s| s.sum_keepdim(1))
                .and_then(|s| s.sqrt())
                .map_err(internal)?,
        )
        .map_err(internal)?;
    let pick = |ids: &[u32]| -> Result<Tensor> {
        let index = Tensor::new(ids, &Device::Cpu).map_err(internal)?;
        unit.index_select(&index, 0).map_err(internal)
    };
    let missing_ids: Vec<u32> = missing.iter().map(|&i| i as u32).collect();
    let sims = pick(&missing_ids)?
        .matmul(&pick(&shared_ids)?.t().map_err(internal)?)
        .map_err(internal)?;
    let sums = sims.sum_keepdim(1).map_err(internal)?;
    sims.broadcast_div(&sums).map_err(internal)
}

/// CLP rows of one token-indexed tensor: `weights` (missing × shared) times
/// the old rows of the shared tokens (`shared_old`, in new-id order).
fn clp_rows(
    t: &TensorRef,
    rows: usize,
    shared_old: &[usize],
    weights: &Tensor,
) -> Result<Vec<Vec<u8>>> {
    let dtype = float_type(t)?;
    let width = t.entry.numel() / rows;
    let row_bytes = width * dtype.size();
    let data = t.data();
    let old: Vec<f32> = shared_old
        .par_iter()
        .flat_map_iter(|&r| to_f32(dtype, &data[r * row_bytes..(r + 1) * row_bytes]))
        .collect();
    let internal = |e: candle_core::Error| VocabError::Internal(format!("CLP rows: {e}"));
    let old = Tensor::from_vec(old, (shared_old.len(), width), &Device::Cpu).map_err(internal)?;
    let mixed = weights
        .matmul(&old)
        .and_then(|m| m.to_vec2::<f32>())
        .map_err(internal)?;
    Ok(mixed.iter().map(|v| from_f32(dtype, v)).collect())
}
