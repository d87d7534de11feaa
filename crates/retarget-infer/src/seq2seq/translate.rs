//! Translating lines: the source formatted and the target language forced
//! the way the model's family expects, batched, beam-searched; and scoring a
//! given translation (teacher forcing) with the same formatting.

use candle_core::{IndexOp, Tensor};
use retarget_eval::language::Language;
use serde::Serialize;

use super::beam::SearchOptions;
use super::config::Family;
use super::model::log_probs;
use super::TranslationModel;
use crate::error::{InferError, Result};
use crate::finite;
use crate::score::{score_each, LineScore};

/// What to translate into, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslateOptions {
    /// The source language (m2m_100 / NLLB mark the source with it).
    pub src: Option<Language>,
    /// The target language.
    pub tgt: Language,
    /// Beams (the model's `num_beams` when `None`).
    pub beams: Option<usize>,
    /// Most generated tokens (the model's `max_length` − 1 when `None`).
    pub max_new_tokens: Option<usize>,
    /// Sentences encoded and searched together.
    pub batch: usize,
}

/// Most beams a search may keep (far beyond the 4–12 translation uses):
/// every beam holds a copy of the decoder's cache.
pub const MAX_BEAMS: usize = 256;

impl TranslateOptions {
    /// Options from what a user gives: language codes (ISO 639 or BCP-47),
    /// beams, a token limit and a batch size, checked.
    pub fn new(
        src: Option<&str>,
        tgt: Option<&str>,
        beams: Option<usize>,
        max_new_tokens: Option<usize>,
        batch: usize,
    ) -> Result<Self> {
        let tgt =
            tgt.ok_or_else(|| InferError::Request("give the target language with --tgt".into()))?;
        if batch == 0 || beams == Some(0) {
            return Err(InferError::Request(
                "--batch and --beam must be at least 1".into(),
            ));
        }
        if let Some(b) = beams.filter(|&b| b > MAX_BEAMS) {
            return Err(InferError::Request(format!(
                "--beam {b} is more than {MAX_BEAMS}: every beam holds a copy of the decoder's cache"
            )));
        }
        Ok(TranslateOptions {
            src: src.map(Language::parse).transpose()?,
            tgt: Language::parse(tgt)?,
            beams,
            max_new_tokens,
            batch,
        })
    }
}

/// One translated line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Translation {
    /// Encoder input ids.
    pub source_ids: Vec<u32>,
    /// Generated ids (forced language token and end of sequence included).
    pub ids: Vec<u32>,
    /// The translation.
    pub text: String,
    /// Beam score (length-normalised log-probability), or the greedy sum.
    pub score: f32,
}

impl TranslationModel {
    /// The encoder input of `text`: m2m_100 / NLLB: source-language token,
    /// text, `</s>`; multi-target marian / multilingual t5: `>>tgt<<` /
    /// `<2tgt>`, text, `</s>`; otherwise text, `</s>`.
    pub fn source_ids(&self, text: &str, options: &TranslateOptions) -> Result<Vec<u32>> {
        let config = self.model.config();
        let mut ids = Vec::new();
        match config.family {
            Family::M2m100 => {
                let src = options.src.as_ref().ok_or_else(|| {
                    InferError::Request(
                        "m2m_100 / NLLB models mark the source language: give --src".into(),
                    )
                })?;
                ids.push(self.languages.token_for(src)?.1);
            }
            Family::Marian | Family::T5 if !self.languages.is_empty() => {
                ids.push(self.languages.token_for(&options.tgt)?.1)
            }
            Family::Marian | Family::T5 => {}
        }
        ids.extend(self.encode_plain(text)?);
        ids.push(config.eos_token_id);
        if ids.len() > config.max_positions {
            return Err(InferError::Request(format!(
                "{} source tokens, longer than the model's {} positions",
                ids.len(),
                config.max_positions
            )));
        }
        Ok(ids)
    }

    /// The token forced first in the output (m2m_100 / NLLB: the target
    /// language).
    fn forced_first(&self, tgt: &Language) -> Result<Option<u32>> {
        match self.model.config().family {
            Family::M2m100 => Ok(Some(self.languages.token_for(tgt)?.1)),
            Family::Marian | Family::T5 => Ok(None),
        }
    }

    /// The search settings for `options` over the model's defaults.
    pub fn search_options(&self, options: &TranslateOptions) -> Result<SearchOptions> {
        let d = &self.defaults;
        Ok(SearchOptions {
            beams: options.beams.unwrap_or(d.num_beams),
            // The decoder has positions for `max_positions` tokens, the start
            // token included: a longer request stops there.
            max_new_tokens: options
                .max_new_tokens
                .unwrap_or(d.max_length.saturating_sub(1).max(1))
                .min(self.model.config().max_positions.saturating_sub(1).max(1)),
            length_penalty: d.length_penalty,
            early_stopping: d.early_stopping,
            banned: d.banned_tokens.clone(),
            forced_first: self.forced_first(&options.tgt)?,
            forced_last: d.forced_eos_token_id,
        })
    }

    /// Translates `lines` (read from `path`), `options.batch` at a time,
    /// calling `on_batch` with the number of lines done after each batch.
    /// Errors name the file and line.
    pub fn translate(
        &self,
        path: &std::path::Path,
        lines: &[String],
        options: &TranslateOptions,
        on_batch: &dyn Fn(usize),
    ) -> Result<Vec<Translation>> {
        let search = self.search_options(options)?;
        let sources = lines
            .iter()
            .enumerate()
            .map(|(n, line)| {
                self.source_ids(line, options)
                    .map_err(|e| e.at_line(path, n))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(lines.len());
        for chunk in sources.chunks(options.batch.max(1)) {
            let lengths: Vec<usize> = chunk.iter().map(Vec::len).collect();
            let longest = lengths.iter().copied().max().unwrap_or(0);
            let pad = self.model.config().pad_token_id;
            let flat: Vec<u32> = chunk
                .iter()
                .flat_map(|ids| {
                    ids.iter()
                        .copied()
                        .chain(std::iter::repeat_n(pad, longest - ids.len()))
                })
                .collect();
            let ids = Tensor::from_vec(flat, (chunk.len(), longest), self.model.device())?;
            let encoded = self.model.encode(&ids, &lengths)?;
            for (source_ids, hypothesis) in chunk.iter().zip(self.model.search(&encoded, &search)?)
            {
                // Banned tokens score −∞; NaN comes only from NaN or infinite values.
                if hypothesis.score.is_nan() {
                    return Err(finite::nonfinite(&self.path, "log-probabilities"));
                }
                let text = self
                    .tokenizer
                    .decode(&hypothesis.ids, true)
                    .map_err(|e| InferError::Request(format!("cannot decode: {e}")))?;
                out.push(Translation {
                    source_ids: source_ids.clone(),
                    ids: hypothesis.ids,
                    text,
                    score: hypothesis.score,
                });
            }
            on_batch(out.len());
        }
        Ok(out)
    }

    /// Scores `target` as the translation of `source` by teacher forcing:
    /// labels are the forced language token (m2m_100 / NLLB), the target's
    /// tokens and `</s>`; the decoder reads the start token and the labels
    /// but the last. Returns the score and the logits `(labels, vocab)`.
    pub fn score_pair(
        &self,
        source: &str,
        target: &str,
        options: &TranslateOptions,
    ) -> Result<(LineScore, Tensor)> {
        let config = self.model.config();
        let source_ids = self.source_ids(source, options)?;
        let mut labels: Vec<u32> = self.forced_first(&options.tgt)?.into_iter().collect();
        labels.extend(self.encode_plain(target)?);
        labels.push(config.eos_token_id);
        if labels.len() > config.max_positions {
            return Err(InferError::Request(format!(
                "{} target tokens, longer than the model's {} positions",
                labels.len(),
                config.max_positions
            )));
        }
        let mut decoder_input = vec![config.decoder_start_token_id];
        decoder_input.extend(&labels[..labels.len() - 1]);
        let source = Tensor::new(source_ids.as_slice(), self.model.device())?.unsqueeze(0)?;
        let encoded = self.model.encode(&source, &[source_ids.len()])?;
        let mut state = self.model.start_decoding(&encoded)?;
        let input = Tensor::new(decoder_input.as_slice(), self.model.device())?.unsqueeze(0)?;
        let logits = self.model.decode(&input, &mut state)?.i(0)?;
        let targets = Tensor::new(labels.as_slice(), self.model.device())?.unsqueeze(1)?;
        let picked: Vec<f32> = log_probs(&logits)?
            .gather(&targets, 1)?
            .flatten_all()?
            .to_vec1()?;
        let score = LineScore {
            tokens: labels.len(),
            nll: -picked.iter().map(|&v| v as f64).sum::<f64>(),
        };
        Ok((score, logits))
    }
}

impl TranslationModel {
    /// Scores each line of `targets` as the translation of the same line of
    /// `sources` ([`TranslationModel::score_pair`]), calling `on_line` after
    /// each; errors name the line of `path`. With `keep_logits`, also returns
    /// each line's logits.
    pub fn score_pairs(
        &self,
        path: &std::path::Path,
        sources: &[String],
        targets: &[String],
        options: &TranslateOptions,
        keep_logits: bool,
        on_line: &dyn Fn(),
    ) -> Result<(Vec<LineScore>, Vec<Tensor>)> {
        let pairs: Vec<(&String, &String)> = sources.iter().zip(targets).collect();
        score_each(
            &self.path,
            path,
            &pairs,
            keep_logits,
            on_line,
            |(source, target)| {
                let (score, logits) = self.score_pair(source, target, options)?;
                Ok((score, Some(logits)))
            },
        )
    }
}
