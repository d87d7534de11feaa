//! Tokenizers for vocabulary surgery.
//!
//! - [`json`]: `tokenizer.json` surgery on the JSON itself (BPE, Unigram,
//!   WordPiece): structural tokens, merge closure, trimming and appending with
//!   every id renumbered; the new tokens an expansion appends.
//! - [`new_tokens`]: a target-language tokenizer trained like the base and
//!   the new tokens it brings (BPE merges, Unigram pieces, WordPiece entries).
//! - [`token_text`]: a token's text across Ġ/▁/## conventions.
//! - [`usage`]: token counts over a corpus and the selection of kept tokens.
//! - [`unigram_count`]: those counts for a Unigram tokenizer without building
//!   the `tokenizers` crate's model.
//! - [`files`]: the tokenizer and config files rewritten for a new vocabulary.
//! - [`config_ids`]: token ids in config files.

pub mod config_ids;
pub mod files;
pub mod json;
pub mod new_tokens;
pub mod token_text;
pub mod unigram_count;
pub mod usage;
