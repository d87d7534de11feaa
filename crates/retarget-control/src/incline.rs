//! INCLINE ("Bridging the Language Gaps in Large Language Models with
//! Inference-Time Cross-Lingual Intervention"; reference code
//! weixuan-wang123/INCLINE, `intervention_llama.py`): per layer, a linear
//! map from source-language sentence representations to those of their
//! English (or other target) translations, fitted by least squares without
//! a bias, and applied at inference as `h ← h + α·(h·W)`.
//!
//! A sentence's representation at a layer is the mean over its tokens of
//! the layer's MLP output (the released code's `get_out_mean` on
//! `model.layers.i.mlp`) or of the hidden state after the layer (the
//! paper's best variant). The map is `numpy.linalg.lstsq(X, Y)`'s:
//! minimum-norm where there are fewer pairs than dimensions, singular
//! values below `ε · max(n, d)` times the largest treated as zero (numpy's
//! default `rcond`), computed in f64. The released code applies the map at
//! the last prompt token only; here it applies at every position.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use nalgebra::DMatrix;
use retarget_infer::model::LanguageModel;
use retarget_infer::probe::{Site, Steer};
use retarget_model::dtype::{from_f32, FloatType};
use safetensors::Dtype;
use serde::Serialize;

use crate::capture::{capture, Pool};
use crate::error::{ControlError, Result};
use crate::steer_file::{serialize, Entry, SteerFile};

/// What `format` in an INCLINE file's metadata says.
pub const FORMAT: &str = "retarget-incline-maps";

/// Where sentence representations are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepresentationSite {
    /// Each layer's MLP output (the released code).
    Mlp,
    /// The hidden state after each layer (the paper's best variant).
    Residual,
}

impl RepresentationSite {
    /// The probe site of layer `layer` (0-based).
    pub fn site(self, layer: usize) -> Site {
        match self {
            RepresentationSite::Mlp => Site::Mlp(layer),
            RepresentationSite::Residual => Site::Residual(layer + 1),
        }
    }

    /// The layer a site belongs to, if it is one of this kind.
    fn layer_of(self, site: Site) -> Option<usize> {
        match (self, site) {
            (RepresentationSite::Mlp, Site::Mlp(l)) => Some(l),
            (RepresentationSite::Residual, Site::Residual(n)) if n > 0 => Some(n - 1),
            _ => None,
        }
    }

    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            RepresentationSite::Mlp => "mlp",
            RepresentationSite::Residual => "residual",
        }
    }

    /// Parses [`RepresentationSite::name`].
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "mlp" => Some(RepresentationSite::Mlp),
            "residual" => Some(RepresentationSite::Residual),
            _ => None,
        }
    }
}

/// Sentence representations: per layer, `lines × hidden` row-major.
pub struct Representations {
    /// Hidden size.
    pub hidden: usize,
    /// Lines represented.
    pub lines: usize,
    /// Per layer, the lines' mean states.
    pub per_layer: Vec<Vec<f32>>,
}

/// The mean over tokens of each layer's states at `site` for every line
/// of `path` (tokenized with the model's special tokens, as the reference's
/// `tokenizer(sentence)`); a line without tokens is refused.
pub fn representations(
    model: &LanguageModel,
    path: &Path,
    lines: &[String],
    site: RepresentationSite,
    on_line: impl FnMut(),
) -> Result<Representations> {
    let config = model.decoder.config();
    let sites: Vec<Site> = (0..config.num_layers).map(|l| site.site(l)).collect();
    let captured = capture(model, path, lines, &sites, Pool::Mean, on_line)?;
    Ok(Representations {
        hidden: config.hidden_size,
        lines: lines.len(),
        per_layer: captured.sites.into_iter().map(|c| c.rows).collect(),
    })
}

/// Per layer, the least-squares map `W` (`hidden × hidden`, row-major) with
/// `source · W ≈ target`, as `numpy.linalg.lstsq(source, target)`.
pub fn fit(source: &Representations, target: &Representations) -> Result<Vec<Vec<f32>>> {
    if source.lines != target.lines {
        return Err(ControlError::Usage(format!(
            "parallel texts of different lengths: {} and {} lines",
            source.lines, target.lines
        )));
    }
    let (n, d) = (source.lines, source.hidden);
    source
        .per_layer
        .iter()
        .zip(&target.per_layer)
        .map(|(x, y)| {
            let x = DMatrix::from_row_iterator(n, d, x.iter().map(|&v| f64::from(v)));
            let y = DMatrix::from_row_iterator(n, d, y.iter().map(|&v| f64::from(v)));
            let svd = x.svd(true, true);
            let largest = svd.singular_values.iter().cloned().fold(0.0, f64::max);
            let cutoff = largest * f64::EPSILON * n.max(d) as f64;
            let w = svd
                .solve(&y, cutoff)
                .map_err(|e| ControlError::Usage(format!("least squares failed: {e}")))?;
            // Row-major d × d.
            Ok((0..d)
                .flat_map(|r| (0..d).map(move |c| (r, c)))
                .map(|(r, c)| w[(r, c)] as f32)
                .collect())
        })
        .collect()
}

/// The bytes of an INCLINE file: `map.{layer}` (`hidden × hidden` f32),
/// with the representations (`source.{layer}`, `target.{layer}`) when
/// given; `metadata` describes the fit.
pub fn to_bytes(
    maps: &[Vec<f32>],
    hidden: usize,
    kept: Option<(&Representations, &Representations)>,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let f32_bytes = |v: &[f32]| from_f32(FloatType::F32, v);
    let mut tensors: Vec<Entry> = maps
        .iter()
        .enumerate()
        .map(|(l, m)| {
            (
                format!("map.{l}"),
                Dtype::F32,
                vec![hidden, hidden],
                f32_bytes(m),
            )
        })
        .collect();
    if let Some((source, target)) = kept {
        for (name, reps) in [("source", source), ("target", target)] {
            for (l, layer) in reps.per_layer.iter().enumerate() {
                tensors.push((
                    format!("{name}.{l}"),
                    Dtype::F32,
                    vec![reps.lines, hidden],
                    f32_bytes(layer),
                ));
            }
        }
    }
    serialize(&tensors, FORMAT, metadata)
}

/// `h ← h + α·(h·W)` at every layer's site, every position.
pub struct InclineSteer {
    site: RepresentationSite,
    maps: Vec<Tensor>,
    alpha: f64,
}

impl InclineSteer {
    /// The steer of the INCLINE file `path` with strength `alpha`, for a
    /// decoder with `layers` layers of width `hidden` on `device`; a file of
    /// another model or format is refused, naming the file.
    pub fn load(
        path: &Path,
        alpha: f64,
        layers: usize,
        hidden: usize,
        device: &Device,
    ) -> Result<Arc<Self>> {
        let file = SteerFile::open(path, FORMAT, "INCLINE maps", "retarget steer fit incline")?;
        let invalid = |problem: String| SteerFile::invalid(path, problem);
        let site = file
            .metadata
            .get("site")
            .and_then(|s| RepresentationSite::parse(s))
            .ok_or_else(|| invalid("the metadata lacks its site (mlp or residual)".into()))?;
        let mut maps = Vec::with_capacity(layers);
        for layer in 0..layers {
            let name = format!("map.{layer}");
            let Some((dtype, shape, _)) = file.tensor(&name) else {
                return Err(invalid(format!(
                    "no map for layer {layer}: the file is for a model of another depth (this one has {layers} layers)"
                )));
            };
            let values = match file.f32_tensor(&name) {
                Some((_, values)) if shape == [hidden, hidden] => values,
                _ => {
                    return Err(invalid(format!(
                        "{name} is {dtype:?} {shape:?}; this model needs {hidden} × {hidden} f32 (a file of another model)"
                    )))
                }
            };
            maps.push(Tensor::from_vec(values, (hidden, hidden), device)?);
        }
        if file.tensor(&format!("map.{layers}")).is_some() {
            return Err(invalid(format!(
                "maps for more than this model's {layers} layers (a file of another model)"
            )));
        }
        Ok(Arc::new(InclineSteer { site, maps, alpha }))
    }
}

impl Steer for InclineSteer {
    fn wants(&self, site: Site) -> bool {
        self.site.layer_of(site).is_some()
    }

    fn apply(&self, site: Site, states: Tensor, _: usize) -> candle_core::Result<Tensor> {
        let Some(layer) = self.site.layer_of(site) else {
            return Ok(states);
        };
        let mapped = states.broadcast_matmul(&self.maps[layer])?;
        states + (mapped * self.alpha)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reps(lines: usize, hidden: usize, values: Vec<f32>) -> Representations {
        Representations {
            hidden,
            lines,
            per_layer: vec![values],
        }
    }

    #[test]
    fn the_map_recovers_a_linear_relation_and_is_minimum_norm_when_underdetermined() {
        // Overdetermined: Y = X·W0 exactly, so the fit is W0.
        let x: Vec<f32> = vec![1.0, 2.0, 0.5, -1.0, 3.0, 1.0, 2.0, 0.0];
        let w0 = [[0.5f32, -1.0], [2.0, 0.25]];
        let y: Vec<f32> = x
            .chunks_exact(2)
            .flat_map(|r| (0..2).map(move |c| r[0] * w0[0][c] + r[1] * w0[1][c]))
            .collect();
        let w = fit(&reps(4, 2, x), &reps(4, 2, y)).unwrap();
        for (got, want) in w[0].iter().zip(w0.iter().flatten()) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
        // One pair in two dimensions: the minimum-norm W = xᵀ y / |x|².
        let w = fit(&reps(1, 2, vec![3.0, 4.0]), &reps(1, 2, vec![1.0, 2.0])).unwrap();
        let want = [3.0 / 25.0, 6.0 / 25.0, 4.0 / 25.0, 8.0 / 25.0];
        for (got, want) in w[0].iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert!(fit(&reps(1, 2, vec![1.0, 2.0]), &reps(2, 2, vec![0.0; 4])).is_err());
    }
}
