//! Real tokenizers trained on the fixture corpus with the `tokenizers` crate:
//! byte-level BPE (GPT-2/Llama style), WordPiece (BERT style) and Unigram
//! (T5/SentencePiece style).
//!
//! The crate's WordPiece and Unigram trainers iterate randomly seeded hash
//! maps, so equally ranked tokens come out in a different order on each run.
//! Fixtures must be byte-identical, so the trained files are generated once by
//! the `train-fixture-tokenizers` binary, committed under `data/`, and
//! embedded (see [`embedded`]).

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::metaspace::Metaspace as MetaspaceDecoder;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::unigram::{Unigram, UnigramTrainer};
use tokenizers::models::wordpiece::{WordPiece, WordPieceTrainer};
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::corpus;

fn specials(names: &[&str]) -> Vec<AddedToken> {
    names.iter().map(|n| AddedToken::from(*n, true)).collect()
}

fn train(tokenizer: &mut Tokenizer, trainer: impl Into<TrainerWrapper>) {
    let mut trainer = trainer.into();
    tokenizer
        .train(&mut trainer, corpus::lines().into_iter())
        .expect("training on the built-in corpus succeeds");
}

/// A word-level tokenizer over `words` (id = position), split on whitespace;
/// `unk` must be one of the words.
pub fn word_level(words: &[&str], unk: &str) -> Tokenizer {
    let vocab = words
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), i as u32))
        .collect();
    let model = tokenizers::models::wordlevel::WordLevel::builder()
        .vocab(vocab)
        .unk_token(unk.into())
        .build()
        .expect("a valid word-level vocabulary");
    let mut tokenizer = Tokenizer::new(model);
    tokenizer.with_pre_tokenizer(Some(
        tokenizers::pre_tokenizers::whitespace::WhitespaceSplit,
    ));
    tokenizer
}

/// Byte-level BPE with `<|endoftext|>` (id 0), `<s>` (1) and `</s>` (2).
pub fn byte_level_bpe(vocab_size: usize) -> Tokenizer {
    let mut tk = Tokenizer::new(BPE::default());
    tk.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tk.with_decoder(Some(ByteLevelDecoder::default()));
    let trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(1)
        .show_progress(false)
        .special_tokens(specials(&["<|endoftext|>", "<s>", "</s>"]))
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    train(&mut tk, trainer);
    tk
}

/// BERT-style WordPiece with `[PAD] [UNK] [CLS] [SEP] [MASK]` as ids 0–4.
pub fn wordpiece(vocab_size: usize) -> Tokenizer {
    let mut tk = Tokenizer::new(WordPiece::default());
    tk.with_normalizer(Some(BertNormalizer::new(true, true, None, true)))
        .expect("normalizer accepted");
    tk.with_pre_tokenizer(Some(BertPreTokenizer));
    tk.with_decoder(Some(WordPieceDecoder::default()));
    let trainer = WordPieceTrainer::builder()
        .vocab_size(vocab_size)
        .min_frequency(1)
        .show_progress(false)
        .special_tokens(specials(&["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
        .build();
    train(&mut tk, trainer);
    let id = |t: &str| tk.token_to_id(t).expect("special token present");
    let post = TemplateProcessing::builder()
        .try_single("[CLS] $A [SEP]")
        .and_then(|b| b.try_pair("[CLS] $A [SEP] $B:1 [SEP]:1"))
        .expect("valid template")
        .special_tokens(vec![("[CLS]", id("[CLS]")), ("[SEP]", id("[SEP]"))])
        .build()
        .expect("valid template");
    tk.with_post_processor(Some(post));
    tk
}

/// SentencePiece-style Unigram with `<pad>` (0), `</s>` (1), `<unk>` (2).
pub fn unigram(vocab_size: u32) -> Tokenizer {
    let mut tk = Tokenizer::new(Unigram::default());
    tk.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
    tk.with_decoder(Some(MetaspaceDecoder::new(
        '▁',
        PrependScheme::Always,
        true,
    )));
    let trainer: UnigramTrainer = UnigramTrainer::builder()
        .vocab_size(vocab_size)
        .show_progress(false)
        .special_tokens(specials(&["<pad>", "</s>", "<unk>"]))
        .unk_token(Some("<unk>".into()))
        .build()
        .expect("valid trainer");
    train(&mut tk, trainer);
    let eos = tk.token_to_id("</s>").expect("special token present");
    let post = TemplateProcessing::builder()
        .try_single("$A </s>")
        .and_then(|b| b.try_pair("$A </s> $B:1 </s>:1"))
        .expect("valid template")
        .special_tokens(vec![("</s>", eos)])
        .build()
        .expect("valid template");
    tk.with_post_processor(Some(post));
    tk
}

/// Vocabulary sizes the committed tokenizers were trained with.
pub const BPE_VOCAB: usize = 400;
/// See [`BPE_VOCAB`].
pub const WORDPIECE_VOCAB: usize = 500;
/// See [`BPE_VOCAB`].
pub const UNIGRAM_VOCAB: u32 = 300;

/// The committed, trained tokenizers, embedded in the crate.
pub mod embedded {
    use std::str::FromStr;

    use tokenizers::Tokenizer;

    fn load(json: &str) -> Tokenizer {
        Tokenizer::from_str(json).expect("committed tokenizer loads")
    }

    /// [`super::byte_level_bpe`] output.
    pub fn byte_level_bpe() -> Tokenizer {
        load(include_str!("../data/byte_level_bpe.json"))
    }

    /// [`super::wordpiece`] output.
    pub fn wordpiece() -> Tokenizer {
        load(include_str!("../data/wordpiece.json"))
    }

    /// [`super::unigram`] output.
    pub fn unigram() -> Tokenizer {
        load(include_str!("../data/unigram.json"))
    }
}
