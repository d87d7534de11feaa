//! Language vectors: ITLC ("Language Surgery in Multilingual Large Language
//! Models"; reference code SEACrowd/itlc, `extract_embedding.py`,
//! `get_language_vector.py`, `itlc.py`) and plain mean differences.
//!
//! Each line is represented by its mean hidden state after layer `L`
//! (`hidden_states[L]` in transformers, the reference's injection layer,
//! by default `num_layers / 2`). ITLC standardises the features
//! (scikit-learn's `StandardScaler`), fits `LinearDiscriminantAnalysis`
//! (its default `svd` solver, written out below step for step), takes each
//! language's mean in the discriminant space and maps it back to the
//! standardised feature space with the pseudo-inverse of the scalings, as
//! the reference's `itlc.py` does. Differences from the released code,
//! on purpose:
//! - components: `min(languages − 1, hidden)` (scikit-learn's own bound);
//!   the released code hard-codes 100 and fails below 101 languages;
//! - no pruning: the released code zeroes discriminant components whose
//!   weight in a freshly trained linear probe (random start, Adam, 10
//!   epochs) is below 0.01, which keeps nearly all of them and cannot be
//!   reproduced; every component is kept here;
//! - float64 throughout (scikit-learn given the reference's float32
//!   features works in float32);
//! - `Units::Model` multiplies the vectors by the scaler's standard
//!   deviations, giving them the model's units; the reference adds them in
//!   standardised units (`Units::Standardized`, the default).
//!
//! Applied (`--steer FILE:shift=SRC>TGT,alpha=A`), the residual stream after
//! layer `L` gets `α·(v_TGT − v_SRC)` added (`shift=TGT`: `α·v_TGT`, the
//! reference's "monolingual" task), at the positions chosen with `at=`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use candle_core::{Device, Tensor};
use nalgebra::{DMatrix, DVector};
use retarget_infer::probe::{Site, Steer};
use retarget_model::dtype::{from_f32, FloatType};
use safetensors::Dtype;

use crate::error::{ControlError, Result};
use crate::steer_file::{serialize, Entry, SteerFile};

/// What `format` in a language-vectors file's metadata says.
pub const FORMAT: &str = "retarget-language-vectors";

/// scikit-learn's `LinearDiscriminantAnalysis(tol=1e-4)`.
const TOL: f64 = 1e-4;

/// Lines a language needs at the least.
pub const MIN_LINES: usize = 2;

/// How the vectors are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// ITLC: standard scaling, LDA, class means mapped back.
    Lda(Units),
    /// Each language's mean representation.
    Mean,
}

/// The units of ITLC vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// The standardised feature space (the reference).
    Standardized,
    /// Multiplied back by the features' standard deviations.
    Model,
}

impl Method {
    /// The name written in the file's metadata.
    pub fn name(self) -> &'static str {
        match self {
            Method::Lda(Units::Standardized) => "lda",
            Method::Lda(Units::Model) => "lda-model-units",
            Method::Mean => "mean",
        }
    }
}

/// One language's representations: `lines × hidden`, row-major.
pub struct Group {
    /// Language name.
    pub language: String,
    /// The rows.
    pub rows: Vec<f32>,
}

/// Fitted language vectors and, for ITLC, what the fit found.
pub struct LanguageVectors {
    /// Per language (in the order given), `hidden` values.
    pub vectors: Vec<Vec<f64>>,
    /// The LDA fit (ITLC only).
    pub lda: Option<Lda>,
}

/// An ITLC fit: scaler and discriminant directions.
pub struct Lda {
    /// The scaler's means and standard deviations (`StandardScaler.mean_`,
    /// `.scale_`).
    pub mean: Vec<f64>,
    /// See [`Lda::mean`].
    pub scale: Vec<f64>,
    /// `scalings_[:, :components]`, `hidden × components`, row-major.
    pub scalings: Vec<f64>,
    /// Components kept.
    pub components: usize,
}

/// Fits language vectors on `groups` (`hidden` wide) by `method`; fewer
/// than two languages, or a language with fewer than [`MIN_LINES`] lines,
/// is refused.
pub fn fit(groups: &[Group], hidden: usize, method: Method) -> Result<LanguageVectors> {
    if groups.len() < 2 {
        return Err(ControlError::Usage(
            "language vectors contrast languages: give --text LANG=FILE for two or more".into(),
        ));
    }
    for group in groups {
        let lines = group.rows.len() / hidden.max(1);
        if lines < MIN_LINES {
            return Err(ControlError::Usage(format!(
                "the {} text has {lines} line(s); language vectors need at least {MIN_LINES} per language",
                group.language
            )));
        }
    }
    let x = DMatrix::from_row_iterator(
        groups.iter().map(|g| g.rows.len() / hidden).sum(),
        hidden,
        groups
            .iter()
            .flat_map(|g| g.rows.iter().map(|&v| f64::from(v))),
    );
    let counts: Vec<usize> = groups.iter().map(|g| g.rows.len() / hidden).collect();
    match method {
        Method::Mean => Ok(LanguageVectors {
            vectors: class_means(&x, &counts)
                .row_iter()
                .map(|r| r.iter().copied().collect())
                .collect(),
            lda: None,
        }),
        Method::Lda(units) => lda(x, &counts, units),
    }
}

/// Row `k` = the mean of class `k`'s rows (classes are consecutive runs of
/// `counts[k]` rows).
fn class_means(x: &DMatrix<f64>, counts: &[usize]) -> DMatrix<f64> {
    let mut means = DMatrix::zeros(counts.len(), x.ncols());
    let mut start = 0;
    for (k, &n) in counts.iter().enumerate() {
        let mean = x.rows(start, n).row_mean();
        means.set_row(k, &mean);
        start += n;
    }
    means
}

/// Standard scaling, then scikit-learn's `_solve_svd`, then the class
/// means in the discriminant space mapped back through the pseudo-inverse.
fn lda(mut x: DMatrix<f64>, counts: &[usize], units: Units) -> Result<LanguageVectors> {
    let (n, d) = x.shape();
    let classes = counts.len();
    // StandardScaler: population standard deviation; a constant feature
    // keeps scale 1.
    let mean = x.row_mean();
    let scale = deviations(&x);
    for mut row in x.row_iter_mut() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (*v - mean[j]) / scale[j];
        }
    }
    // 1) within-class scaling.
    let means = class_means(&x, counts);
    let priors = DVector::from_iterator(classes, counts.iter().map(|&c| c as f64 / n as f64));
    let xbar = priors.transpose() * &means;
    let mut within = x.clone();
    let mut start = 0;
    for (k, &count) in counts.iter().enumerate() {
        for i in start..start + count {
            let centred = within.row(i) - means.row(k);
            within.set_row(i, &centred);
        }
        start += count;
    }
    let std = deviations(&within);
    // 2) SVD of the scaled within-class data.
    let fac = (1.0 / n as f64).sqrt();
    for (j, mut column) in within.column_iter_mut().enumerate() {
        column.iter_mut().for_each(|v| *v = fac * (*v / std[j]));
    }
    let (singular_values, v_t) = right_singular(within);
    let rank = singular_values.iter().filter(|&&s| s > TOL).count();
    if rank == 0 {
        return Err(ControlError::Usage(
            "the representations do not vary within the languages: nothing to discriminate".into(),
        ));
    }
    // scalings = (Vt[:rank] / std).T / S[:rank]: d × rank.
    let scalings = DMatrix::from_fn(d, rank, |j, r| v_t[(r, j)] / std[j] / singular_values[r]);
    // 3) between-class scaling.
    let fac = if classes == 1 {
        1.0
    } else {
        1.0 / (classes - 1) as f64
    };
    let mut centres = means.clone();
    for k in 0..classes {
        let weight = (n as f64 * priors[k] * fac).sqrt();
        let row = (centres.row(k) - &xbar) * weight;
        centres.set_row(k, &row);
    }
    let between = centres * &scalings;
    let (singular_values, v_t) = right_singular(between);
    let largest = singular_values.iter().copied().fold(0.0, f64::max);
    let rank = singular_values
        .iter()
        .filter(|&&s| s > TOL * largest)
        .count();
    let components = rank.min(classes - 1).min(d);
    if components == 0 {
        return Err(ControlError::Usage(
            "the languages' representations do not differ: no discriminant direction".into(),
        ));
    }
    let scalings = &scalings * v_t.rows(0, components).transpose();
    // Class means in the discriminant space, mapped back with the
    // pseudo-inverse (numpy's rcond 1e-15 relative to the largest value).
    let projected = (&means - DMatrix::from_fn(classes, d, |_, j| xbar[j])) * &scalings;
    let pinv = scalings
        .clone()
        .svd(true, true)
        .pseudo_inverse(1e-15 * largest_singular(&scalings))
        .map_err(|e| ControlError::Usage(format!("pseudo-inverse failed: {e}")))?;
    let back = projected * pinv;
    let vectors = back
        .row_iter()
        .map(|r| {
            r.iter()
                .zip(&scale)
                .map(|(&v, &s)| match units {
                    Units::Standardized => v,
                    Units::Model => v * s,
                })
                .collect()
        })
        .collect();
    Ok(LanguageVectors {
        vectors,
        lda: Some(Lda {
            mean: mean.iter().copied().collect(),
            scale,
            scalings: (0..d)
                .flat_map(|j| (0..components).map(move |c| (j, c)))
                .map(|(j, c)| scalings[(j, c)])
                .collect(),
            components,
        }),
    })
}

/// The singular values of `m` (descending) and its right singular vectors
/// as rows, `min(rows, columns) × columns`. A wide matrix is decomposed
/// through its transpose: on 48 × 576 ITLC features nalgebra's SVD of the
/// wide matrices left the third discriminant direction 1e-5 off LAPACK's
/// (cosine 0.99998), through the transposes it agrees to float32 rounding.
fn right_singular(m: DMatrix<f64>) -> (DVector<f64>, DMatrix<f64>) {
    if m.nrows() < m.ncols() {
        let svd = m.transpose().svd(true, false);
        (svd.singular_values, svd.u.expect("requested").transpose())
    } else {
        let svd = m.svd(false, true);
        (svd.singular_values, svd.v_t.expect("requested"))
    }
}

/// Each column's population standard deviation, 1 where a column is
/// constant (how both `StandardScaler` and the LDA's within-class scaling
/// treat it).
fn deviations(m: &DMatrix<f64>) -> Vec<f64> {
    let n = m.nrows() as f64;
    m.column_iter()
        .map(|c| {
            let mean = c.mean();
            let var = c.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if var == 0.0 {
                1.0
            } else {
                var.sqrt()
            }
        })
        .collect()
}

/// The largest singular value of `m`.
fn largest_singular(m: &DMatrix<f64>) -> f64 {
    m.singular_values().iter().copied().fold(0.0, f64::max)
}

/// The bytes of a language-vectors file: `vector.{LANG}` (`hidden`, f32)
/// per language; for ITLC also `scaler.mean`, `scaler.scale` and
/// `lda.scalings` (`hidden × components`); `features` and `labels` (i64)
/// when given. `metadata` describes the fit; `languages` (JSON) and
/// `layer` must be in it.
pub fn to_bytes(
    languages: &[String],
    fitted: &LanguageVectors,
    features: Option<(&[f32], &[i64], usize)>,
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let f32s = |v: &[f64]| {
        let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        from_f32(FloatType::F32, &v)
    };
    let mut tensors: Vec<Entry> = languages
        .iter()
        .zip(&fitted.vectors)
        .map(|(l, v)| (format!("vector.{l}"), Dtype::F32, vec![v.len()], f32s(v)))
        .collect();
    if let Some(lda) = &fitted.lda {
        let d = lda.mean.len();
        tensors.push(("scaler.mean".into(), Dtype::F32, vec![d], f32s(&lda.mean)));
        tensors.push(("scaler.scale".into(), Dtype::F32, vec![d], f32s(&lda.scale)));
        tensors.push((
            "lda.scalings".into(),
            Dtype::F32,
            vec![d, lda.components],
            f32s(&lda.scalings),
        ));
    }
    if let Some((rows, labels, hidden)) = features {
        tensors.push((
            "features".into(),
            Dtype::F32,
            vec![labels.len(), hidden],
            from_f32(FloatType::F32, rows),
        ));
        tensors.push((
            "labels".into(),
            Dtype::I64,
            vec![labels.len()],
            labels.iter().flat_map(|l| l.to_le_bytes()).collect(),
        ));
    }
    serialize(&tensors, FORMAT, metadata)
}

/// The shift `α·(v_to − v_from)` (or `α·v_to`) added to the residual
/// stream after one layer.
pub struct ShiftSteer {
    site: Site,
    shift: Tensor,
}

impl ShiftSteer {
    /// The steer of the language-vectors file `path`: from `from` (if any)
    /// to `to` with strength `alpha`, for a decoder of `layers` layers of
    /// width `hidden`; a file of another model or format, or without the
    /// languages, is refused, naming the file.
    pub fn load(
        path: &Path,
        from: Option<&str>,
        to: &str,
        alpha: f64,
        (layers, hidden): (usize, usize),
        device: &Device,
    ) -> Result<Arc<Self>> {
        let file = SteerFile::open(path, FORMAT, "language vectors", "retarget steer fit itlc")?;
        let invalid = |problem: String| SteerFile::invalid(path, problem);
        let layer: usize = file
            .metadata
            .get("layer")
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| invalid("the metadata lacks its layer".into()))?;
        if layer == 0 || layer > layers {
            return Err(invalid(format!(
                "vectors of layer {layer}; this model has layers 1..={layers} (a file of another model)"
            )));
        }
        let languages: Vec<String> = file
            .metadata
            .get("languages")
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| invalid("the metadata lacks its language list".into()))?;
        let vector = |language: &str| -> Result<Vec<f32>> {
            if !languages.iter().any(|l| l == language) {
                return Err(invalid(format!(
                    "no vector of language `{language}`; the file has {}",
                    languages.join(", ")
                )));
            }
            match file.f32_tensor(&format!("vector.{language}")) {
                Some((shape, values)) if shape == [hidden] => Ok(values),
                Some((shape, _)) => Err(invalid(format!(
                    "vector.{language} has shape {shape:?}; this model's hidden size is {hidden} (a file of another model)"
                ))),
                None => Err(invalid(format!("no f32 tensor vector.{language}"))),
            }
        };
        let to = vector(to)?;
        let shift: Vec<f32> = match from {
            Some(from) => {
                let from = vector(from)?;
                to.iter()
                    .zip(&from)
                    .map(|(&t, &f)| (alpha * (f64::from(t) - f64::from(f))) as f32)
                    .collect()
            }
            None => to.iter().map(|&t| (alpha * f64::from(t)) as f32).collect(),
        };
        Ok(Arc::new(ShiftSteer {
            site: Site::Residual(layer),
            shift: Tensor::from_vec(shift, hidden, device)?,
        }))
    }
}

impl Steer for ShiftSteer {
    fn wants(&self, site: Site) -> bool {
        site == self.site
    }

    fn apply(&self, _: Site, states: Tensor, _: usize) -> candle_core::Result<Tensor> {
        states.broadcast_add(&self.shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(language: &str, rows: &[[f32; 3]]) -> Group {
        Group {
            language: language.into(),
            rows: rows.iter().flatten().copied().collect(),
        }
    }

    #[test]
    fn mean_vectors_are_class_means_and_lda_separates_the_classes() {
        let a = group("a", &[[1.0, 0.0, 2.0], [3.0, 0.5, 2.5], [2.0, -0.5, 1.5]]);
        let b = group("b", &[[-1.0, 4.0, 2.0], [-3.0, 5.0, 2.2], [-2.0, 3.0, 1.8]]);
        let mean = fit(&[a, b], 3, Method::Mean).unwrap();
        assert_eq!(mean.vectors[0], vec![2.0, 0.0, 2.0]);
        assert!((mean.vectors[1][1] - 4.0).abs() < 1e-12);
        let a = group("a", &[[1.0, 0.0, 2.0], [3.0, 0.5, 2.5], [2.0, -0.5, 1.5]]);
        let b = group("b", &[[-1.0, 4.0, 2.0], [-3.0, 5.0, 2.2], [-2.0, 3.0, 1.8]]);
        let lda = fit(&[a, b], 3, Method::Lda(Units::Standardized)).unwrap();
        let fit = lda.lda.as_ref().unwrap();
        assert_eq!(fit.components, 1);
        // Two classes of equal size: the vectors are opposite, and their
        // difference is the standardised class means' difference projected
        // on the discriminant direction (so it points the same way).
        for (x, y) in lda.vectors[0].iter().zip(&lda.vectors[1]) {
            assert!((x + y).abs() < 1e-9, "{x} {y}");
        }
        let class_difference = [4.0 / fit.scale[0], -4.0 / fit.scale[1], 0.0 / fit.scale[2]];
        let along: f64 = class_difference
            .iter()
            .zip(lda.vectors[0].iter().zip(&lda.vectors[1]))
            .map(|(d, (a, b))| d * (a - b))
            .sum();
        assert!(along > 0.0, "{along}");
    }

    #[test]
    fn too_few_languages_or_lines_are_refused() {
        let one = || group("a", &[[1.0, 0.0, 2.0], [3.0, 0.5, 2.5]]);
        assert!(fit(&[one()], 3, Method::Mean).is_err());
        let short = group("b", &[[1.0, 1.0, 1.0]]);
        let error = fit(&[one(), short], 3, Method::Mean).err().unwrap();
        assert!(
            error.to_string().contains("the b text has 1 line"),
            "{error}"
        );
    }
}
