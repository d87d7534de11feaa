//! The encoder-decoder networks behind one type: the BART family (m2m_100 /
//! NLLB, marian) and t5.

use candle_core::{Device, Tensor};
use candle_nn::VarBuilder;

use super::config::{Family, Seq2SeqConfig};
use super::model::{BartModel, DecoderState, Encoded};
use super::t5::T5Model;

/// A loaded encoder-decoder.
pub enum Seq2SeqModel {
    /// m2m_100 / NLLB or marian.
    Bart(BartModel),
    /// t5 / mt5.
    T5(T5Model),
}

impl Seq2SeqModel {
    pub(crate) fn load(config: Seq2SeqConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        match config.family {
            Family::T5 => T5Model::load(config, vb).map(Seq2SeqModel::T5),
            Family::M2m100 | Family::Marian => BartModel::load(config, vb).map(Seq2SeqModel::Bart),
        }
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &Seq2SeqConfig {
        match self {
            Seq2SeqModel::Bart(m) => m.config(),
            Seq2SeqModel::T5(m) => m.config(),
        }
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        match self {
            Seq2SeqModel::Bart(m) => m.device(),
            Seq2SeqModel::T5(m) => m.device(),
        }
    }

    /// Encodes right-padded source ids `(batch, len)` whose real lengths are
    /// `lengths`.
    pub fn encode(&self, ids: &Tensor, lengths: &[usize]) -> candle_core::Result<Encoded> {
        match self {
            Seq2SeqModel::Bart(m) => m.encode(ids, lengths),
            Seq2SeqModel::T5(m) => m.encode(ids, lengths),
        }
    }

    /// Empty decoder caches over `encoded`.
    pub fn start_decoding(&self, encoded: &Encoded) -> candle_core::Result<DecoderState> {
        match self {
            Seq2SeqModel::Bart(m) => m.start_decoding(encoded),
            Seq2SeqModel::T5(m) => m.start_decoding(encoded),
        }
    }

    /// Logits `(batch, len, vocab)` of decoder ids after the positions in `state`.
    pub fn decode(&self, ids: &Tensor, state: &mut DecoderState) -> candle_core::Result<Tensor> {
        match self {
            Seq2SeqModel::Bart(m) => m.decode(ids, state),
            Seq2SeqModel::T5(m) => m.decode(ids, state),
        }
    }
}
