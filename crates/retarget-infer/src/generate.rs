//! Text generation with a key/value cache, streaming text as it is decoded.

use std::time::Instant;

use candle_core::{Device, IndexOp, Tensor};
use serde::Serialize;

use crate::decoder::{KvCache, Positions};
use crate::error::{InferError, Result};
use crate::model::LanguageModel;
use crate::sampling::{Sampler, Sampling};

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// An end-of-sequence token was generated (not included in the output).
    EndOfSequence,
    /// `max_new_tokens` were generated.
    MaxTokens,
    /// The model's context is full.
    Context,
}

/// The result of one generation.
#[derive(Debug, Clone, Serialize)]
pub struct Generation {
    /// Token ids of the prompt.
    pub prompt_ids: Vec<u32>,
    /// Generated token ids.
    pub ids: Vec<u32>,
    /// Generated text.
    pub text: String,
    /// Why it stopped.
    pub stop: StopReason,
    /// Seconds spent on the prompt (prefill).
    pub prompt_seconds: f64,
    /// Seconds spent generating after the prompt.
    pub generation_seconds: f64,
}

impl LanguageModel {
    /// Generates up to `max_new_tokens` after `prompt`, passing each piece of
    /// decoded text to `on_text` as soon as it is complete.
    pub fn generate(
        &self,
        prompt: &str,
        max_new_tokens: usize,
        sampling: Sampling,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let mut sampler = Sampler::new(sampling)?;
        let prompt_ids = self.encode(prompt)?;
        if prompt_ids.is_empty() {
            return Err(InferError::Request("the prompt is empty".into()));
        }
        let context = self.decoder.config().max_positions;
        if prompt_ids.len() >= context {
            return Err(InferError::Request(format!(
                "the prompt has {} tokens; the model's context is {context}, leaving no room to generate",
                prompt_ids.len()
            )));
        }
        let mut cache = KvCache::new(self.decoder.config().num_layers);
        let mut stream = self.tokenizer.decode_stream(true);
        let mut ids = Vec::new();
        let mut text = String::new();
        let started = Instant::now();
        let mut input = Tensor::new(prompt_ids.as_slice(), &Device::Cpu)?.unsqueeze(0)?;
        let mut prompt_seconds = None;
        let stop = loop {
            if ids.len() == max_new_tokens {
                break StopReason::MaxTokens;
            }
            if cache.len() + input.dim(1)? > context {
                break StopReason::Context;
            }
            let logits = self.decoder.forward(&input, &mut cache, Positions::Last)?;
            let logits: Vec<f32> = logits.i((0, 0))?.to_vec1()?;
            prompt_seconds.get_or_insert_with(|| started.elapsed().as_secs_f64());
            let next = sampler.pick(&logits);
            if self.eos_token_ids.contains(&next) {
                break StopReason::EndOfSequence;
            }
            ids.push(next);
            let piece = stream
                .step(next)
                .map_err(|e| InferError::Request(format!("cannot decode token {next}: {e}")))?;
            if let Some(piece) = piece {
                on_text(&piece);
                text.push_str(&piece);
            }
            input = Tensor::new(&[next], &Device::Cpu)?.unsqueeze(0)?;
        };
        let prompt_seconds = prompt_seconds.unwrap_or(0.0);
        Ok(Generation {
            prompt_ids,
            ids,
            text,
            stop,
            prompt_seconds,
            generation_seconds: started.elapsed().as_secs_f64() - prompt_seconds,
        })
    }
}
