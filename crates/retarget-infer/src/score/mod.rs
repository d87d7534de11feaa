//! Scoring text: negative log-likelihood per line as `transformers` computes
//! it with `labels=input_ids` (every token after the first, predicted from the
//! ones before it), perplexity and bits per byte.

mod causal;

use std::path::Path;

use candle_core::Tensor;
use serde::Serialize;

use crate::error::{InferError, Result};
use crate::finite;

/// The score of one line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LineScore {
    /// Tokens scored: the line's token count minus one (zero for a line of
    /// fewer than two tokens).
    pub tokens: usize,
    /// Sum of the negative log-likelihood of the scored tokens, in nats.
    pub nll: f64,
}

/// Totals over all lines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreSummary {
    /// Sum of every line's `nll`.
    pub total_nll: f64,
    /// Sum of every line's `tokens`.
    pub total_tokens: usize,
    /// UTF-8 bytes of all lines (without line ends).
    pub total_bytes: usize,
    /// `exp(total_nll / total_tokens)`.
    pub perplexity: f64,
    /// `total_nll / ln 2 / total_bytes`: model cost of the text per byte,
    /// comparable across tokenizers (the first token of each line is not
    /// scored, as in `transformers`).
    pub bits_per_byte: f64,
}

impl ScoreSummary {
    /// Totals of `lines` scored as `scores`.
    pub fn of(lines: &[String], scores: &[LineScore]) -> Self {
        let total_nll: f64 = scores.iter().map(|s| s.nll).sum();
        let total_tokens: usize = scores.iter().map(|s| s.tokens).sum();
        let total_bytes: usize = lines.iter().map(String::len).sum();
        ScoreSummary {
            total_nll,
            total_tokens,
            total_bytes,
            perplexity: (total_nll / total_tokens as f64).exp(),
            bits_per_byte: total_nll / std::f64::consts::LN_2 / total_bytes as f64,
        }
    }
}

/// Reads the lines of a text file to score: UTF-8, at least one non-blank
/// line (blank lines are kept and score zero tokens).
pub fn read_text(path: &Path) -> Result<Vec<String>> {
    let lines = retarget_model::text::read_lines(path)?;
    if lines.iter().all(|l| l.trim().is_empty()) {
        return Err(InferError::input(
            path,
            "no text to score (only blank lines)",
        ));
    }
    Ok(lines)
}

/// Scores each item with `score` (which may return its logits), calling
/// `on_line` after each; errors name `path` and the line. The logits are
/// kept only with `keep_logits`. A non-finite score is an error about
/// `model`.
pub(crate) fn score_each<T>(
    model: &Path,
    path: &Path,
    items: &[T],
    keep_logits: bool,
    on_line: &dyn Fn(),
    score: impl Fn(&T) -> Result<(LineScore, Option<Tensor>)>,
) -> Result<(Vec<LineScore>, Vec<Tensor>)> {
    let mut scores = Vec::with_capacity(items.len());
    let mut logits = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let (line_score, line_logits) = score(item).map_err(|e| e.at_line(path, index))?;
        if !line_score.nll.is_finite() {
            return Err(finite::nonfinite(model, "log-likelihoods"));
        }
        scores.push(line_score);
        if keep_logits {
            logits.extend(line_logits);
        }
        on_line();
    }
    Ok((scores, logits))
}

/// A safetensors file holding each line's logits as `line.{index}`
/// (`tokens × vocab`, f32), for analysis and cross-checks.
pub fn logits_safetensors(logits: &[Tensor]) -> Result<Vec<u8>> {
    let mut data = Vec::with_capacity(logits.len());
    for (index, tensor) in logits.iter().enumerate() {
        let values: Vec<f32> = tensor.flatten_all()?.to_vec1()?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        data.push((format!("line.{index}"), tensor.dims().to_vec(), bytes));
    }
    let views = data
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| InferError::Request(format!("cannot lay out logits: {e}")))?;
    safetensors::serialize(views, None)
        .map_err(|e| InferError::Request(format!("cannot serialize logits: {e}")))
}
