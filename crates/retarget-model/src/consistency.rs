//! `config.json` against the weights and the tokenizer, checked by every
//! loader: a config that disagrees with the tensors would run a truncated or
//! garbled model without a word (fewer layers than stored, a wrong width),
//! and a tokenizer with more ids than embedding rows fails deep inside
//! inference.

use std::collections::BTreeSet;
use std::path::Path;

use crate::config::ModelConfig;
use crate::error::{ModelError, Result};
use crate::tensor_roles::{Architecture, TensorRole};
use crate::weights::Weights;

/// Checks `config` (read from `config_path`) against `weights`, and the
/// tokenizer (read from `tokenizer_path`, with `tokens` ids) against the
/// embedding's rows. Architectures outside the tensor-role table are not
/// checked.
pub fn check(
    config_path: &Path,
    config: &ModelConfig,
    weights: &Weights,
    tokenizer: Option<(&Path, usize)>,
) -> Result<()> {
    let Some(arch) = config.model_type().and_then(Architecture::for_model_type) else {
        return Ok(());
    };
    // The stack `num_hidden_layers` counts: the decoder-only/encoder-only
    // model's layers, else the encoder's.
    let counted = if arch.stacks.iter().any(|(_, s)| *s == "layers") {
        "layers"
    } else {
        "encoder"
    };
    let layers: BTreeSet<usize> = weights
        .iter()
        .filter_map(|t| match arch.role(&t.entry.name) {
            TensorRole::Layer { stack, index } if stack == counted => Some(index),
            _ => None,
        })
        .collect();
    if let (Some(n), Some(&last)) = (config.num_hidden_layers(), layers.last()) {
        if n != layers.len() || last + 1 != n {
            return Err(ModelError::invalid(
                config_path,
                format!(
                    "says the model has {n} layers, but the weights hold {} (numbered up to {last})",
                    layers.len()
                ),
            ));
        }
    }
    let names: Vec<&str> = weights.iter().map(|t| t.entry.name.as_str()).collect();
    let Some(embedding) = arch
        .find_embedding(&mut names.iter().copied())
        .and_then(|n| weights.get(n))
    else {
        return Ok(());
    };
    let shape = &embedding.entry.shape;
    if let (Some(hidden), [_, width]) = (config.hidden_size(), shape.as_slice()) {
        if hidden != *width {
            return Err(ModelError::invalid(
                config_path,
                format!(
                    "says hidden_size {hidden}, but the embedding `{}` is {width} wide",
                    embedding.entry.name
                ),
            ));
        }
    }
    if let (Some((path, tokens)), Some(&rows)) = (tokenizer, shape.first()) {
        if tokens > rows {
            return Err(ModelError::invalid(
                path,
                format!(
                    "has {tokens} tokens, but the model's embedding `{}` has only {rows} rows: ids from {rows} on have no row",
                    embedding.entry.name
                ),
            ));
        }
    }
    Ok(())
}
