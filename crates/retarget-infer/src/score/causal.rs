//! Scoring with a decoder-only model: each token's negative log-likelihood
//! given the ones before it, as `transformers` computes it with
//! `labels=input_ids`.

use candle_core::{DType, IndexOp, Tensor};

use super::LineScore;
use crate::decoder::{log_softmax, KvCache, Positions};
use crate::error::{InferError, Result};
use crate::model::LanguageModel;

impl LanguageModel {
    /// Token ids of one line and the logits after each of them,
    /// `(tokens, vocab)`.
    pub fn line_logits(&self, text: &str) -> Result<(Vec<u32>, Tensor)> {
        let ids = self.encode(text)?;
        let context = self.decoder.config().max_positions;
        if ids.len() > context {
            return Err(InferError::Request(format!(
                "{} tokens, longer than the model's context of {context}",
                ids.len()
            )));
        }
        if ids.is_empty() {
            let empty = Tensor::zeros(
                (0, self.decoder.config().vocab_size),
                DType::F32,
                self.decoder.device(),
            )?;
            return Ok((ids, empty));
        }
        let input = Tensor::new(ids.as_slice(), self.decoder.device())?.unsqueeze(0)?;
        let mut cache = KvCache::new(self.decoder.config().num_layers);
        let logits = self.decoder.forward(&input, &mut cache, Positions::All)?;
        Ok((ids, logits.squeeze(0)?))
    }

    /// Scores one line of text; also returns its logits when `keep_logits`.
    pub fn score_line(&self, text: &str, keep_logits: bool) -> Result<(LineScore, Option<Tensor>)> {
        let (ids, logits) = self.line_logits(text)?;
        let n = ids.len();
        let score = if n < 2 {
            LineScore {
                tokens: 0,
                nll: 0.0,
            }
        } else {
            let log_probs = log_softmax(&logits.i(..n - 1)?)?;
            let targets = Tensor::new(&ids[1..], self.decoder.device())?.unsqueeze(1)?;
            let picked: Vec<f32> = log_probs.gather(&targets, 1)?.flatten_all()?.to_vec1()?;
            LineScore {
                tokens: n - 1,
                nll: -picked.iter().map(|&v| v as f64).sum::<f64>(),
            }
        };
        Ok((score, keep_logits.then_some(logits)))
    }
}
