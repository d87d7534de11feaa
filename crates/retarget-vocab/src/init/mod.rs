//! The initialisations of new embedding and head rows, each one small type
//! behind one trait ([`Initialisation`]): which new tokens keep an old
//! token's row, and how the rows of the others come from old rows — per
//! token a mixture of old rows (FVT, trans-tokenization, FOCUS, WECHSEL;
//! an empty mixture is a random row), or CLP's weights over the shared
//! tokens. Expansion and replacement both use them.
//!
//! The algorithms: [`transtok`] with its IBM Model 1 aligner ([`align`]),
//! [`clp`], [`focus`] with its token vectors trained in-process
//! ([`token_vectors`]), [`wechsel`] over fastText models ([`fasttext_model`]),
//! and [`rows`]: new rows made from old ones.

pub mod align;
pub mod clp;
pub mod fasttext_model;
pub mod focus;
pub mod rows;
pub mod token_vectors;
pub mod transtok;
pub mod wechsel;

use std::path::PathBuf;

use candle_core::Tensor;
use retarget_model::weights::TensorRef;
use tokenizers::Tokenizer;

use crate::error::{Result, VocabError};
use crate::model::VocabModel;
use crate::tokenizer::json::TokenizerFile;
use fasttext_model::read_vec;
use rows::new_rows;
use wechsel::WechselInputs;

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
    /// counts ([`crate::init::align`]); FVT for new tokens the corpus never aligns.
    TransTok,
    /// CLP-Transfer (vocabulary replacement only): a helper model that uses
    /// the new tokenizer weighs the shared tokens' old rows by cosine
    /// similarity in its own embedding space ([`crate::replace`]).
    Clp,
    /// FOCUS (vocabulary replacement only): sparsemax-weighted shared rows
    /// by similarity of auxiliary token vectors ([`crate::init::focus`]).
    Focus,
    /// WECHSEL (vocabulary replacement only): the nearest old tokens in
    /// aligned fastText spaces ([`crate::init::wechsel`]).
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

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Init::Mean => "mean",
            Init::Random { .. } => "random",
            Init::TransTok => "transtok",
            Init::Clp => "clp",
            Init::Focus => "focus",
            Init::Wechsel => "wechsel",
            Init::Ofa => "ofa",
        }
    }

    /// The method that does it.
    pub fn method(self) -> Box<dyn Initialisation> {
        match self {
            Init::Mean => Box::new(Fvt),
            Init::Random { .. } => Box::new(RandomRows),
            Init::TransTok => Box::new(TransTok),
            Init::Clp => Box::new(Clp),
            Init::Focus => Box::new(Focus),
            Init::Wechsel => Box::new(Wechsel { ofa: false }),
            Init::Ofa => Box::new(Wechsel { ofa: true }),
        }
    }
}

/// What an initialisation sees.
pub struct Context<'a> {
    /// The old tokenizer (file and loaded).
    pub old: (&'a TokenizerFile, &'a Tokenizer),
    /// The new one.
    pub new: (&'a TokenizerFile, &'a Tokenizer),
    /// New ids that need rows.
    pub missing: &'a [usize],
    /// New id → the old id whose row it keeps.
    pub shared: &'a [Option<usize>],
    /// The FVT mixture of each missing token: the old tokenizer's pieces of
    /// its text, equally weighted (the fallback of other methods).
    pub fvt: Vec<Vec<(usize, f64)>>,
    /// A parallel corpus (source text, its translation).
    pub parallel: Option<&'a (PathBuf, PathBuf)>,
    /// Target-language text, one segment per entry (empty: none given).
    pub lines: &'a [String],
    /// A replacement's inputs (helper, vectors), if the vocabulary is replaced.
    pub replacement: Option<&'a Replacement>,
}

/// How the rows of the missing tokens come about.
pub enum Plan {
    /// Per missing token, old ids and weights (empty: a random row); and,
    /// for trans-tokenization, how many came from alignments.
    Mixtures(Vec<Vec<(usize, f64)>>, Option<usize>),
    /// Missing × shared weights applied to the shared tokens' old rows (CLP).
    Weights(Tensor),
}

impl Plan {
    /// The new rows of one token-indexed tensor (`rows` rows), encoded like it.
    pub fn rows(
        &self,
        t: &TensorRef,
        rows: usize,
        shared: &[Option<usize>],
        seed: u64,
    ) -> Result<Vec<Vec<u8>>> {
        match self {
            Plan::Mixtures(mixtures, _) => new_rows(t, rows, mixtures, seed),
            Plan::Weights(weights) => {
                let shared_old: Vec<usize> = shared.iter().flatten().copied().collect();
                clp::clp_rows(t, rows, &shared_old, weights)
            }
        }
    }

    /// The new rows of every token-indexed tensor of `model` (`None` for
    /// the other tensors), in tensor order.
    pub fn rows_of(
        &self,
        model: &VocabModel,
        shared: &[Option<usize>],
        seed: u64,
    ) -> Result<Vec<Option<Vec<Vec<u8>>>>> {
        model
            .tensors()
            .iter()
            .map(|t| {
                model
                    .is_token_indexed(t)
                    .then(|| self.rows(t, model.rows, shared, seed))
                    .transpose()
            })
            .collect()
    }

    /// Missing tokens given random rows.
    pub fn random_rows(&self) -> usize {
        match self {
            Plan::Mixtures(mixtures, _) => mixtures.iter().filter(|m| m.is_empty()).count(),
            Plan::Weights(_) => 0,
        }
    }

    /// With trans-tokenization: missing tokens initialised from alignments.
    pub fn aligned(&self) -> Option<usize> {
        match self {
            Plan::Mixtures(_, aligned) => *aligned,
            Plan::Weights(_) => None,
        }
    }
}

/// One way of initialising new rows.
pub trait Initialisation {
    /// Whether it needs a replaced vocabulary (a helper, vectors of the
    /// whole new vocabulary) rather than appended tokens.
    fn replaces_only(&self) -> bool {
        false
    }

    /// For each new token, the old token whose row it keeps: by default the
    /// one with the same string.
    fn shared(
        &self,
        old: (&TokenizerFile, &Tokenizer),
        new: (&TokenizerFile, &Tokenizer),
    ) -> Result<Vec<Option<usize>>> {
        Ok((0..new.0.len()).map(|i| old.0.id(new.0.token(i))).collect())
    }

    /// The rows of the missing tokens.
    fn plan(&self, ctx: Context) -> Result<Plan>;
}

/// FVT: the mean of the old rows of the old tokenizer's pieces.
pub struct Fvt;

impl Initialisation for Fvt {
    fn plan(&self, ctx: Context) -> Result<Plan> {
        Ok(Plan::Mixtures(ctx.fvt, None))
    }
}

/// Random rows, per dimension N(mean, std) of the old rows.
pub struct RandomRows;

impl Initialisation for RandomRows {
    fn plan(&self, ctx: Context) -> Result<Plan> {
        Ok(Plan::Mixtures(vec![Vec::new(); ctx.missing.len()], None))
    }
}

/// Trans-tokenization ([`crate::init::transtok`]); FVT where nothing aligns.
pub struct TransTok;

impl Initialisation for TransTok {
    fn plan(&self, ctx: Context) -> Result<Plan> {
        let weights =
            transtok::alignment_mixtures(ctx.old.1, ctx.new.1, ctx.parallel, 0, ctx.new.0.len())?;
        let mut mixtures = ctx.fvt;
        let mut aligned = 0;
        for (mixture, &i) in mixtures.iter_mut().zip(ctx.missing) {
            if !weights[i].is_empty() {
                *mixture = weights[i].clone();
                aligned += 1;
            }
        }
        Ok(Plan::Mixtures(mixtures, Some(aligned)))
    }
}

/// CLP-Transfer ([`crate::init::clp`]).
pub struct Clp;

impl Initialisation for Clp {
    fn replaces_only(&self) -> bool {
        true
    }

    fn plan(&self, ctx: Context) -> Result<Plan> {
        let dir = ctx
            .replacement
            .and_then(|r| r.helper.as_ref())
            .ok_or_else(|| {
                VocabError::Usage("--init clp needs the helper model: --helper DIR".into())
            })?;
        clp::helper_similarities(dir, ctx.new.0, ctx.shared, ctx.missing).map(Plan::Weights)
    }
}

/// FOCUS ([`crate::init::focus`]): shared tokens by canonical form, auxiliary
/// vectors given or trained on the corpus.
pub struct Focus;

impl Initialisation for Focus {
    fn replaces_only(&self) -> bool {
        true
    }

    fn shared(
        &self,
        old: (&TokenizerFile, &Tokenizer),
        new: (&TokenizerFile, &Tokenizer),
    ) -> Result<Vec<Option<usize>>> {
        Ok(focus::overlap(
            &focus::canonical_forms(old.0, old.1)?,
            &focus::canonical_forms(new.0, new.1)?,
        ))
    }

    fn plan(&self, ctx: Context) -> Result<Plan> {
        let vectors = match ctx.replacement.and_then(|r| r.aux_vectors.as_ref()) {
            Some(path) => read_vec(path)?,
            None if !ctx.lines.is_empty() => {
                // Trained on the corpus tokenized with the new tokenizer.
                let tokens = ctx
                    .lines
                    .iter()
                    .map(|l| {
                        ctx.new
                            .1
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
        Ok(Plan::Mixtures(
            focus::mixtures(ctx.new.0, ctx.shared, ctx.missing, &vectors),
            None,
        ))
    }
}

/// WECHSEL ([`crate::init::wechsel`]), or OFA-style: its rule in one
/// multilingual space. Only the old special tokens keep their rows.
pub struct Wechsel {
    /// One multilingual space, no dictionary.
    pub ofa: bool,
}

impl Initialisation for Wechsel {
    fn replaces_only(&self) -> bool {
        true
    }

    fn shared(
        &self,
        old: (&TokenizerFile, &Tokenizer),
        new: (&TokenizerFile, &Tokenizer),
    ) -> Result<Vec<Option<usize>>> {
        let specials = old.0.special_tokens();
        Ok((0..new.0.len())
            .map(|i| {
                let token = new.0.token(i);
                specials
                    .iter()
                    .any(|s| s == token)
                    .then(|| old.0.id(token))
                    .flatten()
            })
            .collect())
    }

    fn plan(&self, ctx: Context) -> Result<Plan> {
        let inputs = ctx.replacement.and_then(|r| r.wechsel.as_ref()).ok_or_else(|| {
            VocabError::Usage(if self.ofa {
                "--init ofa needs a multilingual fastText model: --vectors FILE.bin".into()
            } else {
                "--init wechsel needs fastText models: --source-vectors FILE.bin --target-vectors FILE.bin [--dictionary FILE]".into()
            })
        })?;
        if self.ofa
            && (inputs.source_vectors != inputs.target_vectors || inputs.dictionary.is_some())
        {
            return Err(VocabError::Usage(
                "--init ofa uses one multilingual fastText model (--vectors FILE.bin), no dictionary".into(),
            ));
        }
        let mixtures = wechsel::mixtures(ctx.old, ctx.new, ctx.missing, inputs)?;
        Ok(Plan::Mixtures(mixtures, None))
    }
}

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
