//! Text generation with a key/value cache: one prompt streamed as it is
//! decoded, or a batch of prompts padded on the left and decoded together.

use std::time::Instant;

use candle_core::Tensor;
use serde::Serialize;

use crate::decoder::{KvCache, Positions};
use crate::error::{InferError, Result};
use crate::finite;
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

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationOptions {
    /// Most tokens to generate per prompt.
    pub max_new_tokens: usize,
    /// How to pick tokens.
    pub sampling: Sampling,
    /// Keep going past end-of-sequence tokens (for benchmarks).
    pub ignore_eos: bool,
    /// Wrap each prompt as a user message in the model's chat template.
    pub chat: bool,
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
    /// Seconds spent on the prompt (prefill), for the whole batch.
    pub prompt_seconds: f64,
    /// Seconds spent generating after the prompt, for the whole batch.
    pub generation_seconds: f64,
}

/// Token ids generated for each row of a batch, and the timings.
struct RawGeneration {
    ids: Vec<Vec<u32>>,
    stops: Vec<StopReason>,
    prompt_seconds: f64,
    generation_seconds: f64,
}

impl LanguageModel {
    /// Generates after `prompt`, passing each piece of decoded text to
    /// `on_text` as soon as it is complete.
    pub fn generate(
        &self,
        prompt: &str,
        options: GenerationOptions,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let prompt_ids = self.prompt_ids(prompt, options.chat)?;
        let mut stream = self.tokenizer.decode_stream(true);
        let mut text = String::new();
        let mut failure = None;
        let raw = self.generate_ids(
            vec![prompt_ids.clone()],
            options,
            &mut |_, id| match stream.step(id) {
                Ok(Some(piece)) => {
                    on_text(&piece);
                    text.push_str(&piece);
                }
                Ok(None) => {}
                Err(e) => {
                    failure.get_or_insert(InferError::Request(format!(
                        "cannot decode token {id}: {e}"
                    )));
                }
            },
        )?;
        if let Some(err) = failure {
            return Err(err);
        }
        let RawGeneration {
            mut ids,
            stops,
            prompt_seconds,
            generation_seconds,
        } = raw;
        let ids = ids.remove(0);
        // The stream holds back an incomplete character at the end; the
        // full decode settles it.
        let full = self.decode(&ids)?;
        if let Some(rest) = full.strip_prefix(text.as_str()) {
            if !rest.is_empty() {
                on_text(rest);
            }
        }
        Ok(Generation {
            prompt_ids,
            ids,
            text: full,
            stop: stops[0],
            prompt_seconds,
            generation_seconds,
        })
    }

    /// Generates after each of `prompts` in one batch (prompts padded on the
    /// left); the results are in the prompts' order.
    pub fn generate_batch(
        &self,
        prompts: &[String],
        options: GenerationOptions,
    ) -> Result<Vec<Generation>> {
        let prompt_ids = prompts
            .iter()
            .map(|p| self.prompt_ids(p, options.chat))
            .collect::<Result<Vec<_>>>()?;
        let raw = self.generate_ids(prompt_ids.clone(), options, &mut |_, _| {})?;
        prompt_ids
            .into_iter()
            .zip(raw.ids)
            .zip(raw.stops)
            .map(|((prompt_ids, ids), stop)| {
                let text = self.decode(&ids)?;
                Ok(Generation {
                    prompt_ids,
                    ids,
                    text,
                    stop,
                    prompt_seconds: raw.prompt_seconds,
                    generation_seconds: raw.generation_seconds,
                })
            })
            .collect()
    }

    /// The text of generated ids (special tokens left out).
    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer
            .decode(ids, true)
            .map_err(|e| InferError::Request(format!("cannot decode: {e}")))
    }

    /// The prompt's token ids, refused when empty or when it leaves no room
    /// in the context.
    fn prompt_ids(&self, prompt: &str, chat: bool) -> Result<Vec<u32>> {
        if prompt.trim().is_empty() {
            return Err(InferError::Request("the prompt is empty".into()));
        }
        let ids = if chat {
            // As apply_chat_template: the template places the special tokens.
            let template = self.chat_template.as_ref().ok_or_else(|| {
                InferError::model(
                    &self.path,
                    "no chat template (`chat_template` in tokenizer_config.json)",
                )
            })?;
            self.encode_plain(&template.user_prompt(prompt)?)?
        } else {
            self.encode(prompt)?
        };
        if ids.is_empty() {
            return Err(InferError::Request("the prompt is empty".into()));
        }
        let context = self.decoder.config().max_positions;
        if ids.len() >= context {
            return Err(InferError::Request(format!(
                "the prompt has {} tokens; the model's context is {context}, leaving no room to generate",
                ids.len()
            )));
        }
        Ok(ids)
    }

    /// The decoding loop over a batch: prefill all prompts (left-padded),
    /// then one token per row per step; `on_token(row, id)` sees each kept
    /// token. Rows that stopped keep being fed (their output is ignored)
    /// until every row has stopped.
    fn generate_ids(
        &self,
        prompts: Vec<Vec<u32>>,
        options: GenerationOptions,
        on_token: &mut dyn FnMut(usize, u32),
    ) -> Result<RawGeneration> {
        let mut sampler = Sampler::new(options.sampling)?;
        let rows = prompts.len();
        let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let padding: Vec<usize> = prompts.iter().map(|p| longest - p.len()).collect();
        let pad_id = prompts
            .first()
            .and_then(|p| p.first())
            .copied()
            .unwrap_or(0);
        let flat: Vec<u32> = prompts
            .iter()
            .flat_map(|p| std::iter::repeat_n(pad_id, longest - p.len()).chain(p.iter().copied()))
            .collect();
        let context = self.decoder.config().max_positions;
        let vocab = self.decoder.config().vocab_size;
        let mut cache = KvCache::left_padded(self.decoder.config().num_layers, padding.clone());
        let mut input = Tensor::from_vec(flat, (rows, longest), self.decoder.device())?;
        let mut ids = vec![Vec::new(); rows];
        let mut stops: Vec<Option<StopReason>> = vec![None; rows];
        let started = Instant::now();
        let mut prompt_seconds = None;
        loop {
            for (row, stop) in stops.iter_mut().enumerate() {
                if stop.is_none() && ids[row].len() == options.max_new_tokens {
                    *stop = Some(StopReason::MaxTokens);
                }
                // Row positions exclude padding; the cache holds it.
                if stop.is_none() && cache.len() + 1 > context + padding[row] {
                    *stop = Some(StopReason::Context);
                }
            }
            if stops.iter().all(Option::is_some) {
                break;
            }
            let logits = self.decoder.forward(&input, &mut cache, Positions::Last)?;
            let logits: Vec<f32> = logits.flatten_all()?.to_vec1()?;
            if logits.iter().any(|v| !v.is_finite()) {
                return Err(finite::nonfinite(&self.path, "logits"));
            }
            prompt_seconds.get_or_insert_with(|| started.elapsed().as_secs_f64());
            let mut next = Vec::with_capacity(rows);
            for row in 0..rows {
                let id = sampler.pick(&logits[row * vocab..(row + 1) * vocab]);
                next.push(id);
                if stops[row].is_some() {
                    continue;
                }
                if !options.ignore_eos && self.eos_token_ids.contains(&id) {
                    stops[row] = Some(StopReason::EndOfSequence);
                    continue;
                }
                ids[row].push(id);
                on_token(row, id);
            }
            input = Tensor::from_vec(next, (rows, 1), self.decoder.device())?;
        }
        let prompt_seconds = prompt_seconds.unwrap_or(0.0);
        Ok(RawGeneration {
            ids,
            stops: stops
                .into_iter()
                .map(|s| s.unwrap_or(StopReason::MaxTokens))
                .collect(),
            prompt_seconds,
            generation_seconds: started.elapsed().as_secs_f64() - prompt_seconds,
        })
    }
}
