//! Vocabulary surgery for retarget.
//!
//! The commands:
//! - [`trim`]: `retarget vocab trim`, a vocabulary cut down to what a
//!   target-language corpus uses, with tokenizer, embeddings, head and
//!   config files kept consistent.
//! - [`expand`]: `retarget vocab expand`, new target-language tokens
//!   appended as real vocabulary with FVT (mean), aligned or random rows.
//! - [`replace`]: `retarget vocab expand --replace`, the vocabulary replaced
//!   by a target-language tokenizer; shared tokens keep their rows, the
//!   others get FVT, random, aligned, CLP, FOCUS or WECHSEL rows.
//! - [`model`]: what they share: the opened model and the streamed rewrite
//!   of its token-indexed tensors; `apply`: the one skeleton of expansion
//!   and replacement (new vocabulary, kept and missing tokens, the
//!   initialisation's rows, weights and tokenizer files).
//!
//! What they are made of:
//! - [`tokenizer`]: `tokenizer.json` surgery, new tokens learnt like the base
//!   tokenizer, token text across conventions, token counts, the tokenizer
//!   and config files rewritten for a new vocabulary.
//! - [`init`]: the initialisations of new rows, one small type each behind
//!   one trait, with the algorithms they call (trans-tokenization's aligner,
//!   CLP, FOCUS and its token vectors, WECHSEL and fastText models, rows
//!   made from old ones).

mod apply;
pub mod error;
pub mod expand;
pub mod init;
pub mod model;
pub mod replace;
pub mod tokenizer;
pub mod trim;

pub use error::{Result, VocabError};
pub use expand::{expand, ExpandOptions, ExpandReport};
pub use init::wechsel::WechselInputs;
pub use init::{Init, InitInputs, InitKind, Initialisation, Replacement};
pub use model::VocabModel;
pub use replace::{replace, ReplaceOptions, ReplaceReport};
pub use trim::{trim, TrimOptions, TrimReport};
