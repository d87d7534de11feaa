//! Vocabulary surgery for retarget.
//!
//! - [`trim`]: `retarget vocab trim`, a vocabulary cut down to what a
//!   target-language corpus uses, with tokenizer, embeddings, head and
//!   config files kept consistent.
//! - [`expand`]: `retarget vocab expand`, new target-language tokens
//!   appended as real vocabulary with FVT (mean), aligned or random rows.
//! - [`new_tokens`]: the target-language tokenizer trained like the base and
//!   the new tokens it brings (BPE merges, Unigram pieces, WordPiece entries).
//! - [`replace`]: `retarget vocab expand --replace`, the vocabulary replaced
//!   by a target-language tokenizer; shared tokens keep their rows, the
//!   others get FVT, random, aligned or CLP rows.
//! - [`init`]: the initialisations of new rows, one small type each behind
//!   one trait; [`transtok`], [`clp`], [`focus`] and [`wechsel`] hold the
//!   algorithms they call.
//! - [`focus`]: FOCUS's canonical token forms, sparsemax and mixtures.
//! - [`fasttext_model`]: fastText `.bin` models and `get_word_vector`.
//! - [`wechsel`]: WECHSEL from fastText models and a bilingual dictionary.
//! - [`rows`]: new rows made from old ones.
//! - [`token_text`]: a token's text across Ġ/▁/## conventions.
//! - [`resize`]: what both share: the opened model and the streamed rewrite
//!   of its token-indexed tensors.
//! - [`tokenizer_files`]: the tokenizer and config files rewritten for a new
//!   vocabulary.
//! - [`tokenizer_json`]: `tokenizer.json` surgery (BPE, Unigram, WordPiece).
//! - [`usage`]: token counts over a corpus and the selection of kept tokens.
//! - [`config_ids`]: token ids in config files.

pub mod align;
pub mod clp;
pub mod config_ids;
pub mod error;
pub mod expand;
pub mod fasttext_model;
pub mod focus;
pub mod init;
pub mod new_tokens;
pub mod replace;
pub mod resize;
pub mod rows;
pub mod token_text;
pub mod token_vectors;
pub mod tokenizer_files;
pub mod tokenizer_json;
pub mod transtok;
pub mod trim;
pub mod usage;
pub mod wechsel;

pub use error::{Result, VocabError};
pub use expand::{expand, ExpandOptions, ExpandReport};
pub use init::{Init, Initialisation, Replacement};
pub use replace::{replace, ReplaceOptions, ReplaceReport};
pub use trim::{trim, TrimOptions, TrimReport};
pub use wechsel::WechselInputs;
