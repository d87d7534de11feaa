//! The initialisations of new embedding and head rows, each one small type
//! behind one trait ([`Initialisation`]): which new tokens keep an old
//! token's row, and how the rows of the others come from old rows — per
//! token a mixture of old rows (FVT, trans-tokenization, FOCUS, WECHSEL;
//! an empty mixture is a random row), or CLP's weights over the shared
//! tokens. Expansion and replacement both use them.
//!
//! The algorithms: [`transtok`] with its IBM Model 1 aligner ([`align`]),
//! [`clp`], [`focus`] with its token vectors trained in-process
//! ([`token_vectors`]), [`wechsel`] over fastText models (`retarget_fasttext`),
//! and [`rows`]: new rows made from old ones.

pub mod align;
pub mod clp;
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
use retarget_fasttext::read_vec;
use rows::new_rows;
use wechsel::WechselInputs;

/// The initialisations by name, as the command line gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitKind {
    /// FVT: the mean of the old rows of the old tokenizer's pieces.
    Mean,
    /// Per dimension N(mean, std) of the old rows (seeded).
    Random,
    /// Trans-tokenization from a parallel corpus.
    TransTok,
    /// CLP-Transfer (vocabulary replacement only).
    Clp,
    /// FOCUS (vocabulary replacement only).
    Focus,
    /// WECHSEL (vocabulary replacement only).
    Wechsel,
    /// OFA-style (vocabulary replacement only): WECHSEL's rule in one
    /// multilingual fastText space.
    Ofa,
}

impl InitKind {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            InitKind::Mean => "mean",
            InitKind::Random => "random",
            InitKind::TransTok => "transtok",
            InitKind::Clp => "clp",
            InitKind::Focus => "focus",
            InitKind::Wechsel => "wechsel",
            InitKind::Ofa => "ofa",
        }
    }

    /// Refuses an initialisation that needs a replaced vocabulary (a
    /// helper, vectors of the whole new vocabulary) for appended tokens.
    pub fn check_vocabulary(self, replacing: bool) -> Result<()> {
        let replaces_only = matches!(
            self,
            InitKind::Clp | InitKind::Focus | InitKind::Wechsel | InitKind::Ofa
        );
        if replaces_only && !replacing {
            return Err(VocabError::Usage(format!(
                "--init {} initialises a replaced vocabulary: add --replace",
                self.name()
            )));
        }
        Ok(())
    }
}

/// Every input some initialisation takes, as a user gives them; [`Init::new`]
/// picks what the chosen one needs.
#[derive(Debug, Clone, Default)]
pub struct InitInputs {
    /// Whether the vocabulary is replaced (else new tokens are appended).
    pub replacing: bool,
    /// Seed of random rows.
    pub seed: u64,
    /// A parallel corpus (source-language text, its target-language
    /// translation) for trans-tokenization.
    pub parallel: Option<(PathBuf, PathBuf)>,
    /// CLP's helper model: an HF folder whose tokenizer is the new one.
    pub helper: Option<PathBuf>,
    /// FOCUS's auxiliary token vectors (`.vec`, keyed by new tokens).
    pub aux_vectors: Option<PathBuf>,
    /// WECHSEL's (or OFA's) word vectors and dictionary.
    pub wechsel: Option<WechselInputs>,
}

/// How new rows are initialised, holding what that way needs: a missing
/// input is refused when it is built ([`Init::new`]), before any work.
#[derive(Debug, Clone)]
pub enum Init {
    /// FVT: the mean of the old rows of the old tokenizer's pieces.
    Mean,
    /// Per dimension N(mean, std) of the old rows (seeded).
    Random {
        /// Seed.
        seed: u64,
    },
    /// Trans-tokenization ([`crate::init::transtok`]).
    TransTok(TransTok),
    /// CLP-Transfer ([`crate::init::clp`]).
    Clp(Clp),
    /// FOCUS ([`crate::init::focus`]).
    Focus(Focus),
    /// WECHSEL, or OFA-style ([`crate::init::wechsel`]).
    Wechsel(Wechsel),
}

impl Init {
    /// The initialisation `kind` with its inputs taken from `inputs`; the
    /// error names what is missing.
    pub fn new(kind: InitKind, inputs: &InitInputs) -> Result<Init> {
        let usage = |message: &str| VocabError::Usage(message.into());
        kind.check_vocabulary(inputs.replacing)?;
        Ok(match kind {
            InitKind::Mean => Init::Mean,
            InitKind::Random => Init::Random { seed: inputs.seed },
            InitKind::TransTok => Init::TransTok(TransTok {
                parallel: inputs.parallel.clone().ok_or_else(|| {
                    usage("--init transtok needs a parallel corpus (--parallel SOURCE TARGET)")
                })?,
            }),
            InitKind::Clp => Init::Clp(Clp {
                helper: inputs
                    .helper
                    .clone()
                    .ok_or_else(|| usage("--init clp needs the helper model: --helper DIR"))?,
            }),
            InitKind::Focus => Init::Focus(Focus {
                aux_vectors: inputs.aux_vectors.clone(),
            }),
            InitKind::Wechsel => Init::Wechsel(Wechsel {
                inputs: inputs.wechsel.clone().ok_or_else(|| {
                    usage("--init wechsel needs fastText models: --source-vectors FILE.bin --target-vectors FILE.bin [--dictionary FILE]")
                })?,
                ofa: false,
            }),
            InitKind::Ofa => {
                let vectors = inputs.wechsel.clone().ok_or_else(|| {
                    usage("--init ofa needs a multilingual fastText model: --vectors FILE.bin")
                })?;
                if vectors.source_vectors != vectors.target_vectors || vectors.dictionary.is_some()
                {
                    return Err(usage(
                        "--init ofa uses one multilingual fastText model (--vectors FILE.bin), no dictionary",
                    ));
                }
                Init::Wechsel(Wechsel {
                    inputs: vectors,
                    ofa: true,
                })
            }
        })
    }

    /// Which initialisation it is.
    pub fn kind(&self) -> InitKind {
        match self {
            Init::Mean => InitKind::Mean,
            Init::Random { .. } => InitKind::Random,
            Init::TransTok(_) => InitKind::TransTok,
            Init::Clp(_) => InitKind::Clp,
            Init::Focus(_) => InitKind::Focus,
            Init::Wechsel(w) if w.ofa => InitKind::Ofa,
            Init::Wechsel(_) => InitKind::Wechsel,
        }
    }

    /// Its name on the command line.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The seed of random rows: every row with `random`, the rows no
    /// mixture covers otherwise.
    pub(crate) fn seed(&self) -> u64 {
        match self {
            Init::Random { seed } => *seed,
            _ => 0,
        }
    }

    /// The method that does it.
    pub fn method(&self) -> &dyn Initialisation {
        match self {
            Init::Mean => &Fvt,
            Init::Random { .. } => &RandomRows,
            Init::TransTok(method) => method,
            Init::Clp(method) => method,
            Init::Focus(method) => method,
            Init::Wechsel(method) => method,
        }
    }
}

/// What an initialisation sees of the vocabulary change.
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
    /// Target-language text, one segment per entry (empty: none given).
    pub lines: &'a [String],
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
#[derive(Debug, Clone)]
pub struct TransTok {
    /// The parallel corpus: source-language text (read with the old
    /// tokenizer) and its target-language translation (read with the new
    /// one), line by line.
    pub parallel: (PathBuf, PathBuf),
}

impl Initialisation for TransTok {
    fn plan(&self, ctx: Context) -> Result<Plan> {
        let weights =
            transtok::alignment_mixtures(ctx.old.1, ctx.new.1, &self.parallel, 0, ctx.new.0.len())?;
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
#[derive(Debug, Clone)]
pub struct Clp {
    /// The helper model: an HF folder whose tokenizer is the new one.
    pub helper: PathBuf,
}

impl Initialisation for Clp {
    fn plan(&self, ctx: Context) -> Result<Plan> {
        clp::helper_similarities(&self.helper, ctx.new.0, ctx.shared, ctx.missing)
            .map(Plan::Weights)
    }
}

/// FOCUS ([`crate::init::focus`]): shared tokens by canonical form, auxiliary
/// vectors given or trained on the corpus.
#[derive(Debug, Clone)]
pub struct Focus {
    /// Auxiliary token vectors (`.vec`, keyed by new tokens); without them
    /// they are trained on the corpus, which must then be given.
    pub aux_vectors: Option<PathBuf>,
}

impl Initialisation for Focus {
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
        let vectors = match &self.aux_vectors {
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
#[derive(Debug, Clone)]
pub struct Wechsel {
    /// The word vectors and dictionary.
    pub inputs: WechselInputs,
    /// One multilingual space, no dictionary.
    pub ofa: bool,
}

impl Initialisation for Wechsel {
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
        let mixtures = wechsel::mixtures(ctx.old, ctx.new, ctx.missing, &self.inputs)?;
        Ok(Plan::Mixtures(mixtures, None))
    }
}

/// Where a replacement's new vocabulary comes from.
#[derive(Debug, Clone, Default)]
pub struct Replacement {
    /// The new `tokenizer.json` (default: the helper's, or one trained like
    /// the old on the corpus).
    pub tokenizer: Option<PathBuf>,
    /// Size of a trained new tokenizer (default: the old one's).
    pub vocab_size: Option<usize>,
    /// A model folder whose tokenizer is the new one (CLP's helper).
    pub helper: Option<PathBuf>,
}
