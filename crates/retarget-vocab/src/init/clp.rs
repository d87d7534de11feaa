//! CLP-Transfer (Ostendorff & Rehm, 2023): a helper model that already uses
//! the new tokenizer gives every new token its cosine similarity to each
//! shared token in the helper's embedding space; the new row is the sum of
//! the shared tokens' old rows weighted by those similarities divided by
//! their sum (as the authors' `clp.py` does, over all shared tokens).
//! Similarities and sums are candle matrix products.

use std::path::Path;

use candle_core::{Device, Tensor};
use rayon::prelude::*;
use retarget_model::dtype::{from_f32, to_f32};
use retarget_model::weights::TensorRef;

use crate::error::{Result, VocabError};
use crate::init::rows::float_type;
use crate::model::VocabModel;
use crate::tokenizer::json::TokenizerFile;

/// CLP's weights: for each missing token (rows) and shared token (columns),
/// the cosine similarity of their helper embeddings over the row's sum.
pub fn helper_similarities(
    dir: &Path,
    new: &TokenizerFile,
    shared: &[Option<usize>],
    missing: &[usize],
) -> Result<Tensor> {
    let helper = VocabModel::open(dir, "CLP's helper model")?;
    if helper.file.len() != new.len()
        || (0..new.len()).any(|i| helper.file.token(i) != new.token(i))
    {
        return Err(VocabError::invalid(
            dir.join("tokenizer.json"),
            "is not the new tokenizer: CLP's helper model must use the tokenizer that replaces the old one",
        ));
    }
    let tensors = helper.tensors();
    let embedding = tensors
        .iter()
        .find(|t| {
            helper.arch.role(&t.entry.name)
                == retarget_model::tensor_roles::TensorRole::InputEmbedding
        })
        .ok_or_else(|| VocabError::invalid(dir, "no input embedding found"))?;
    let width = embedding.entry.numel() / helper.rows;
    let values = to_f32(float_type(embedding)?, embedding.data());
    let shared_ids: Vec<u32> = (0..new.len())
        .filter(|&i| shared[i].is_some())
        .map(|i| i as u32)
        .collect();
    if shared_ids.is_empty() {
        return Err(VocabError::invalid(
            dir.join("tokenizer.json"),
            "shares no token with the model's vocabulary: CLP has nothing to combine",
        ));
    }
    let internal = |e: candle_core::Error| VocabError::Internal(format!("CLP similarities: {e}"));
    let all = Tensor::from_vec(values, (helper.rows, width), &Device::Cpu).map_err(internal)?;
    let unit = all
        .broadcast_div(
            &all.sqr()
                .and_then(|s| s.sum_keepdim(1))
                .and_then(|s| s.sqrt())
                .map_err(internal)?,
        )
        .map_err(internal)?;
    let pick = |ids: &[u32]| -> Result<Tensor> {
        let index = Tensor::new(ids, &Device::Cpu).map_err(internal)?;
        unit.index_select(&index, 0).map_err(internal)
    };
    let missing_ids: Vec<u32> = missing.iter().map(|&i| i as u32).collect();
    let sims = pick(&missing_ids)?
        .matmul(&pick(&shared_ids)?.t().map_err(internal)?)
        .map_err(internal)?;
    let sums = sims.sum_keepdim(1).map_err(internal)?;
    sims.broadcast_div(&sums).map_err(internal)
}

/// CLP rows of one token-indexed tensor: `weights` (missing × shared) times
/// the old rows of the shared tokens (`shared_old`, in new-id order).
pub fn clp_rows(
    t: &TensorRef,
    rows: usize,
    shared_old: &[usize],
    weights: &Tensor,
) -> Result<Vec<Vec<u8>>> {
    let dtype = float_type(t)?;
    let width = t.entry.numel() / rows;
    let row_bytes = width * dtype.size();
    let data = t.data();
    let old: Vec<f32> = shared_old
        .par_iter()
        .flat_map_iter(|&r| to_f32(dtype, &data[r * row_bytes..(r + 1) * row_bytes]))
        .collect();
    let internal = |e: candle_core::Error| VocabError::Internal(format!("CLP rows: {e}"));
    let old = Tensor::from_vec(old, (shared_old.len(), width), &Device::Cpu).map_err(internal)?;
    let mixed = weights
        .matmul(&old)
        .and_then(|m| m.to_vec2::<f32>())
        .map_err(internal)?;
    Ok(mixed.iter().map(|v| from_f32(dtype, v)).collect())
}
