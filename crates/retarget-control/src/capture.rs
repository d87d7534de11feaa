//! Capturing states: each line of a text run through the decoder (with any
//! installed steers), the states at chosen [`Site`]s kept per token or
//! pooled per line. `retarget capture` writes them; INCLINE and ITLC fit
//! their steers on the pooled ones.

use std::collections::HashMap;
use std::path::Path;

use candle_core::Tensor;
use retarget_infer::decoder::KvCache;
use retarget_infer::model::LanguageModel;
use retarget_infer::probe::{Probe, Site};
use retarget_model::dtype::{from_f32, FloatType};
use retarget_model::ModelError;
use safetensors::Dtype;

use crate::error::Result;
use crate::steer_file::{serialize, Entry};

/// What `format` in a captured-states file's metadata says.
pub const FORMAT: &str = "retarget-captured-states";

/// How a line's positions are reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Every token's state kept.
    None,
    /// The mean over the line's tokens (summed in f64).
    Mean,
    /// The last token's state.
    Last,
}

impl Pool {
    /// Parses `none`, `mean` or `last`.
    pub fn parse(name: &str) -> Option<Pool> {
        match name {
            "none" => Some(Pool::None),
            "mean" => Some(Pool::Mean),
            "last" => Some(Pool::Last),
            _ => None,
        }
    }

    /// The name [`Pool::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            Pool::None => "none",
            Pool::Mean => "mean",
            Pool::Last => "last",
        }
    }
}

/// The states captured at one site: `rows × width`, row-major; a row per
/// token (every line's in turn) or per line.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Where.
    pub site: Site,
    /// The states' width (hidden size, or MLP neurons).
    pub width: usize,
    /// The rows.
    pub rows: Vec<f32>,
}

/// States of a whole text.
#[derive(Debug, Clone)]
pub struct Capture {
    /// One per requested site, in the order requested.
    pub sites: Vec<Captured>,
    /// Tokens of each line.
    pub tokens: Vec<usize>,
    /// How lines were reduced.
    pub pool: Pool,
}

/// Runs every line of `lines` (from `path`, tokenized with the model's
/// special tokens, as `transformers`' `tokenizer(line)`) through `model`
/// and keeps the states at `sites`, pooled by `pool`; a line without tokens
/// or longer than the context is refused, naming it. `on_line` is called
/// after each line.
pub fn capture(
    model: &LanguageModel,
    path: &Path,
    lines: &[String],
    sites: &[Site],
    pool: Pool,
    mut on_line: impl FnMut(),
) -> Result<Capture> {
    let config = model.decoder.config();
    let mut keep = Keep {
        sites: sites
            .iter()
            .map(|&site| Captured {
                site,
                width: 0,
                rows: Vec::new(),
            })
            .collect(),
        pool,
    };
    let mut tokens = Vec::with_capacity(lines.len());
    for (index, line) in lines.iter().enumerate() {
        let ids = model.encode(line)?;
        if ids.is_empty() {
            return Err(ModelError::invalid(
                path,
                format!("line {}: no tokens to capture", index + 1),
            )
            .into());
        }
        if ids.len() > config.max_positions {
            return Err(ModelError::invalid(
                path,
                format!(
                    "line {}: {} tokens, longer than the model's context of {}",
                    index + 1,
                    ids.len(),
                    config.max_positions
                ),
            )
            .into());
        }
        let input = Tensor::new(ids.as_slice(), model.decoder.device())?.unsqueeze(0)?;
        model
            .decoder
            .residual_stream(&input, &mut KvCache::new(config.num_layers), &mut keep)?;
        tokens.push(ids.len());
        on_line();
    }
    Ok(Capture {
        sites: keep.sites,
        tokens,
        pool,
    })
}

/// The probe that appends each wanted site's (pooled) states.
struct Keep {
    sites: Vec<Captured>,
    pool: Pool,
}

impl Probe for Keep {
    fn wants(&self, site: Site) -> bool {
        self.sites.iter().any(|c| c.site == site)
    }

    fn visit(&mut self, site: Site, states: Tensor, _: usize) -> candle_core::Result<Tensor> {
        // (1, seq, width) of one line.
        let rows: Vec<Vec<f32>> = states.squeeze(0)?.to_vec2()?;
        let width = rows.first().map_or(0, Vec::len);
        for captured in self.sites.iter_mut().filter(|c| c.site == site) {
            captured.width = width;
            match self.pool {
                Pool::None => rows.iter().for_each(|r| captured.rows.extend(r)),
                Pool::Last => captured.rows.extend(rows.last().into_iter().flatten()),
                Pool::Mean => {
                    let mut sum = vec![0f64; width];
                    for row in &rows {
                        for (s, &v) in sum.iter_mut().zip(row) {
                            *s += f64::from(v);
                        }
                    }
                    let n = rows.len().max(1) as f64;
                    captured
                        .rows
                        .extend(sum.into_iter().map(|s| (s / n) as f32));
                }
            }
        }
        Ok(states)
    }
}

/// The bytes of a captured-states file: one f32 tensor per site, named as
/// the site (`residual:6`, …), `rows × width`; `tokens` (i64, tokens per
/// line); `pool` and `metadata` in the metadata.
pub fn to_bytes(capture: &Capture, mut metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let mut tensors: Vec<Entry> = capture
        .sites
        .iter()
        .map(|c| {
            let rows = c.rows.len().checked_div(c.width).unwrap_or(0);
            (
                c.site.name(),
                Dtype::F32,
                vec![rows, c.width],
                from_f32(FloatType::F32, &c.rows),
            )
        })
        .collect();
    let tokens: Vec<u8> = capture
        .tokens
        .iter()
        .flat_map(|&t| (t as i64).to_le_bytes())
        .collect();
    tensors.push((
        "tokens".into(),
        Dtype::I64,
        vec![capture.tokens.len()],
        tokens,
    ));
    metadata.insert("pool".into(), capture.pool.name().into());
    serialize(&tensors, FORMAT, metadata)
}
