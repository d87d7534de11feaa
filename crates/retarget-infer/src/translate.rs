//! Translation with a decoder-only model: it is asked for each translation
//! in a prompt (encoder-decoders search, in `seq2seq::translate`).

use retarget_eval::language::Language;

use crate::error::{InferError, Result};
use crate::generate::GenerationOptions;
use crate::model::LanguageModel;
use crate::sampling::Sampling;
use crate::seq2seq::translate::{TranslateOptions, Translation};

/// Most tokens a decoder-only model generates per line unless told.
const PROMPTED_MAX_NEW_TOKENS: usize = 128;

impl LanguageModel {
    /// Translates `lines` by asking for each translation in a prompt (through
    /// the chat template when the model has one), greedily, `options.batch`
    /// at a time; the answer is the first line of what follows the prompt.
    pub(crate) fn translate_prompted(
        &self,
        lines: &[String],
        options: &TranslateOptions,
        on_progress: &dyn Fn(usize),
    ) -> Result<Vec<Translation>> {
        if options.beams.is_some_and(|b| b > 1) {
            return Err(InferError::Request(
                "beam search is implemented for encoder-decoder models; use --beam 1".into(),
            ));
        }
        let generation = GenerationOptions {
            max_new_tokens: options.max_new_tokens.unwrap_or(PROMPTED_MAX_NEW_TOKENS),
            sampling: Sampling::greedy(),
            ignore_eos: false,
            // Instruction-tuned models get the prompt as a chat message.
            chat: self.chat_template.is_some(),
        };
        let mut out = Vec::with_capacity(lines.len());
        for chunk in lines.chunks(options.batch) {
            let prompts: Vec<String> = chunk
                .iter()
                .map(|l| prompt(l, options.src.as_ref(), &options.tgt))
                .collect();
            for g in self.generate_batch(&prompts, generation)? {
                let text = g
                    .text
                    .trim_start()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                out.push(Translation {
                    source_ids: g.prompt_ids,
                    ids: g.ids,
                    text,
                    score: 0.0,
                });
            }
            on_progress(out.len());
        }
        Ok(out)
    }
}

/// The prompt a decoder-only model translates with.
fn prompt(text: &str, src: Option<&Language>, tgt: &Language) -> String {
    let from = src
        .map(|l| format!(" from {}", l.name()))
        .unwrap_or_default();
    format!(
        "Translate the following text{from} to {}.\nText: {text}\nTranslation:",
        tgt.name()
    )
}
