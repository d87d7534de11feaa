//! New embedding and head rows made from old ones: weighted sums of old
//! rows (FVT's equal weights over a token's old pieces, alignment or
//! similarity weights), or random rows with the old rows' mean and spread,
//! encoded like the tensor they join.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use retarget_model::dtype::{from_f32, to_f32, FloatType};
use retarget_model::weights::TensorRef;
use tokenizers::models::ModelWrapper;
use tokenizers::Model;

use crate::error::{Result, VocabError};

pub(crate) fn float_type(t: &TensorRef) -> Result<FloatType> {
    FloatType::of(t.entry.dtype).ok_or_else(|| {
        VocabError::invalid(
            t.file.path(),
            format!(
                "tensor `{}` is {:?}; new rows need float rows",
                t.entry.name, t.entry.dtype
            ),
        )
    })
}

/// The new rows of one token-indexed tensor, encoded like it: for each new
/// token, the weighted sum of old rows its mixture gives (FVT's equal
/// weights over its pieces, alignment or similarity weights) or, for an
/// empty mixture, a random row drawn per dimension from N(mean, std) of the
/// old rows (ChaCha8 seeded with `seed`).
pub(crate) fn new_rows(
    t: &TensorRef,
    rows: usize,
    mixtures: &[Vec<(usize, f64)>],
    seed: u64,
) -> Result<Vec<Vec<u8>>> {
    let dtype = float_type(t)?;
    let width = t.entry.numel() / rows;
    let row = |r: usize| {
        to_f32(
            dtype,
            &t.data()[r * width * dtype.size()..(r + 1) * width * dtype.size()],
        )
    };
    let normals: Vec<Normal<f64>> = if mixtures.iter().any(Vec::is_empty) {
        let (mut sum, mut squares) = (vec![0f64; width], vec![0f64; width]);
        for r in 0..rows {
            for (j, v) in row(r).into_iter().enumerate() {
                sum[j] += v as f64;
                squares[j] += (v as f64) * (v as f64);
            }
        }
        let n = rows.max(1) as f64;
        sum.iter()
            .zip(&squares)
            .map(|(s, q)| {
                let mean = s / n;
                Normal::new(mean, (q / n - mean * mean).max(0.0).sqrt()).expect("finite parameters")
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values = mixtures.iter().map(|mixture| {
        if mixture.is_empty() {
            return normals.iter().map(|d| d.sample(&mut rng) as f32).collect();
        }
        let mut sum = vec![0f64; width];
        for &(id, weight) in mixture {
            sum.iter_mut()
                .zip(row(id))
                .for_each(|(s, v)| *s += weight * v as f64);
        }
        sum.iter().map(|&s| s as f32).collect::<Vec<f32>>()
    });
    Ok(values.map(|v| from_f32(dtype, &v)).collect())
}

/// The old model's pieces of `token`. A WordPiece continuation (`##ka`) is
/// split greedily, longest match first, into continuations, as WordPiece
/// splits the inside of a word; everything else is tokenized as a word.
pub(crate) fn old_pieces(
    model: &ModelWrapper,
    prefix: Option<&str>,
    token: &str,
) -> Result<Vec<usize>> {
    if let (ModelWrapper::WordPiece(wp), Some(prefix)) = (model, prefix) {
        if let Some(rest) = token.strip_prefix(prefix).filter(|r| !r.is_empty()) {
            let chars: Vec<(usize, char)> = rest.char_indices().collect();
            let mut ids = Vec::new();
            let mut start = 0;
            while start < chars.len() {
                let from = chars[start].0;
                let found = (start + 1..=chars.len()).rev().find_map(|end| {
                    let to = chars.get(end).map_or(rest.len(), |c| c.0);
                    let id = wp.token_to_id(&format!("{prefix}{}", &rest[from..to]))?;
                    Some((end, id as usize))
                });
                let Some((end, id)) = found else {
                    // No continuation covers this character: the unknown token.
                    return Ok(wp
                        .token_to_id(&wp.unk_token)
                        .map(|i| i as usize)
                        .into_iter()
                        .collect());
                };
                ids.push(id);
                start = end;
            }
            return Ok(ids);
        }
    }
    model
        .tokenize(token)
        .map(|t| t.iter().map(|t| t.id as usize).collect())
        .map_err(|e| VocabError::Internal(format!("splitting {token:?}: {e}")))
}
