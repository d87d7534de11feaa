//! The logit lens: every layer's residual stream decoded through the final
//! norm and the output head, per position — the top tokens and the
//! probability mass of each language ("which language does the model think
//! in").

use candle_core::Tensor;
use serde::Serialize;

use crate::decoder::KvCache;
use crate::error::{InferError, Result};
use crate::finite;
use crate::model::LanguageModel;
use crate::probe::ResidualObserver;
use crate::token_languages::TokenLanguages;

/// One likely token.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenProbability {
    /// Token id.
    pub id: u32,
    /// Its text as the tokenizer decodes it alone.
    pub text: String,
    /// Probability under the lens.
    pub probability: f64,
}

/// What one layer's state at one position decodes to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    /// 0 = the embeddings, `n` = after layer `n` (the last one is the
    /// model's own prediction).
    pub layer: usize,
    /// Position in the prompt.
    pub position: usize,
    /// The most likely tokens, most likely first.
    pub top: Vec<TokenProbability>,
    /// Probability mass of the tokens of each language, in the order of
    /// [`LensReport::languages`]; the rest belongs to tokens of no language.
    pub language_mass: Vec<f64>,
}

/// The lens over a whole prompt.
#[derive(Debug, Clone, Serialize)]
pub struct LensReport {
    /// Token ids of the prompt.
    pub prompt_ids: Vec<u32>,
    /// Each prompt token's text.
    pub prompt_tokens: Vec<String>,
    /// The languages masses are given for.
    pub languages: Vec<String>,
    /// Readings, layer by layer, position by position within a layer.
    pub readings: Vec<Reading>,
}

impl LanguageModel {
    /// Runs the logit lens over `prompt`, keeping the `top` most likely tokens
    /// of each reading.
    pub fn lens(&self, prompt: &str, top: usize, languages: &TokenLanguages) -> Result<LensReport> {
        let ids = self.encode(prompt)?;
        if ids.is_empty() {
            return Err(InferError::Request("the prompt is empty".into()));
        }
        let context = self.decoder.config().max_positions;
        if ids.len() > context {
            return Err(InferError::Request(format!(
                "the prompt has {} tokens, longer than the model's context of {context}",
                ids.len()
            )));
        }
        let input = Tensor::new(ids.as_slice(), self.decoder.device())?.unsqueeze(0)?;
        let mut cache = KvCache::new(self.decoder.config().num_layers);
        let mut readings = Vec::new();
        let mut nonfinite = false;
        self.decoder.residual_stream(
            &input,
            &mut cache,
            &mut ResidualObserver(|layer, states: &Tensor| {
                let logits = self.decoder.logits(states)?.squeeze(0)?;
                let probabilities = candle_nn::ops::softmax_last_dim(&logits)?;
                for (position, row) in probabilities.to_vec2::<f32>()?.iter().enumerate() {
                    if row.iter().any(|p| p.is_nan()) {
                        nonfinite = true;
                        return Ok(());
                    }
                    readings.push(self.reading(layer, position, row, top, languages));
                }
                Ok(())
            }),
        )?;
        if nonfinite {
            return Err(finite::nonfinite(&self.path, "probabilities"));
        }
        Ok(LensReport {
            prompt_tokens: ids.iter().map(|&id| self.token_text(id)).collect(),
            prompt_ids: ids,
            languages: languages.languages.clone(),
            readings,
        })
    }

    fn reading(
        &self,
        layer: usize,
        position: usize,
        row: &[f32],
        top: usize,
        languages: &TokenLanguages,
    ) -> Reading {
        let mut order: Vec<u32> = (0..row.len() as u32).collect();
        let top = top.min(row.len());
        let by_probability =
            |a: &u32, b: &u32| row[*b as usize].total_cmp(&row[*a as usize]).then(a.cmp(b));
        if top > 0 {
            order.select_nth_unstable_by(top - 1, by_probability);
        }
        order.truncate(top);
        order.sort_by(by_probability);
        let mut language_mass = vec![0.0f64; languages.languages.len()];
        for (&p, assigned) in row.iter().zip(&languages.assignment) {
            if let Some(l) = assigned {
                language_mass[*l as usize] += p as f64;
            }
        }
        Reading {
            layer,
            position,
            top: order
                .into_iter()
                .map(|id| TokenProbability {
                    id,
                    text: self.token_text(id),
                    probability: row[id as usize] as f64,
                })
                .collect(),
            language_mass,
        }
    }

    fn token_text(&self, id: u32) -> String {
        self.tokenizer.decode(&[id], false).unwrap_or_default()
    }
}
