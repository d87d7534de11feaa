//! What every kind of model does, dispatched by kind: scoring text (a
//! decoder-only or masked model scores the text itself, an encoder-decoder
//! scores it as the translation of given sources) and translating (an
//! encoder-decoder searches, a decoder-only model is prompted).

use std::path::Path;

use candle_core::Tensor;

use crate::error::{InferError, Result};
use crate::model::AnyModel;
use crate::score::{score_each, LineScore};
use crate::seq2seq::translate::{TranslateOptions, Translation};

/// What `score` is given besides the text: for encoder-decoder models, the
/// source lines the text translates and the languages.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The file the source lines were read from (named in errors).
    pub path: &'a Path,
    /// The source lines, one per line of text.
    pub lines: &'a [String],
    /// The languages.
    pub options: &'a TranslateOptions,
}

impl AnyModel {
    /// Scores `lines` (read from `path`) with whichever model this is:
    /// decoder-only and masked models score the text itself, an
    /// encoder-decoder scores it as the translation of `sources` (teacher
    /// forcing). Calls `on_line` after each line; keeps the logits with
    /// `keep_logits`.
    pub fn score_lines(
        &self,
        path: &Path,
        lines: &[String],
        sources: Option<Sources<'_>>,
        keep_logits: bool,
        on_line: &dyn Fn(),
    ) -> Result<(Vec<LineScore>, Vec<Tensor>)> {
        let refuse_sources = |kind: &str| {
            InferError::Request(format!(
                "--source is for encoder-decoder models; this is a {kind}"
            ))
        };
        match (self, sources) {
            (AnyModel::Decoder(_), Some(_)) => Err(refuse_sources("decoder-only model")),
            (AnyModel::Encoder(_), Some(_)) => Err(refuse_sources("masked language model")),
            (AnyModel::Decoder(model), None) => {
                score_each(&model.path, path, lines, keep_logits, on_line, |line| {
                    model.score_line(line, keep_logits)
                })
            }
            // Pseudo-log-likelihood.
            (AnyModel::Encoder(model), None) => {
                score_each(&model.path, path, lines, keep_logits, on_line, |line| {
                    let (score, logits) = model.score_line(line)?;
                    Ok((score, Some(logits)))
                })
            }
            (AnyModel::Seq2Seq(_), None) => Err(InferError::Request(
                "an encoder-decoder model scores translations: give --source".into(),
            )),
            (AnyModel::Seq2Seq(model), Some(sources)) => {
                if sources.lines.len() != lines.len() {
                    return Err(InferError::input(
                        sources.path,
                        format!(
                            "{} lines, but {} has {}",
                            sources.lines.len(),
                            path.display(),
                            lines.len()
                        ),
                    ));
                }
                model.score_pairs(
                    path,
                    sources.lines,
                    lines,
                    sources.options,
                    keep_logits,
                    on_line,
                )
            }
        }
    }
}

impl AnyModel {
    /// Translates `lines` (read from `path`, named in errors), calling
    /// `on_progress` with the number of lines done after each batch.
    pub fn translate(
        &self,
        path: &Path,
        lines: &[String],
        options: &TranslateOptions,
        on_progress: &dyn Fn(usize),
    ) -> Result<Vec<Translation>> {
        match self {
            AnyModel::Seq2Seq(model) => model.translate(path, lines, options, on_progress),
            AnyModel::Decoder(model) => model.translate_prompted(lines, options, on_progress),
            AnyModel::Encoder(model) => Err(InferError::model(
                &model.path,
                "a masked language model does not generate text; translate with an encoder-decoder or decoder-only model",
            )),
        }
    }
}
