//! Per architecture: llama.cpp's name for it, its tensors' GGUF names
//! (with the query/key row interleaving llama.cpp's llama graph expects),
//! and its hyper-parameters as `ARCH.*` metadata, as `convert_hf_to_gguf.py`
//! writes them.

use std::path::Path;

use serde_json::{Map, Value as Json};

use crate::error::{ModelError, Result};
use crate::gguf_convert::gemma3::{GLOBAL_EVERY, LAYER_NAMES as GEMMA3_NAMES, LOCAL_ROPE_BASE};
use crate::gguf_write::MetaValue;

/// `model_type`s that export, and llama.cpp's architecture for each.
pub const EXPORTABLE: [(&str, &str); 6] = [
    ("llama", "llama"),
    ("mistral", "llama"),
    ("qwen2", "qwen2"),
    ("qwen3", "qwen3"),
    ("gemma", "gemma"),
    ("gemma3_text", "gemma3"),
];

/// Per-layer HF suffix → GGUF suffix.
const LAYER_NAMES: &[(&str, &str)] = &[
    ("input_layernorm.weight", "attn_norm.weight"),
    ("self_attn.q_proj.weight", "attn_q.weight"),
    ("self_attn.q_proj.bias", "attn_q.bias"),
    ("self_attn.k_proj.weight", "attn_k.weight"),
    ("self_attn.k_proj.bias", "attn_k.bias"),
    ("self_attn.v_proj.weight", "attn_v.weight"),
    ("self_attn.v_proj.bias", "attn_v.bias"),
    ("self_attn.o_proj.weight", "attn_output.weight"),
    ("self_attn.o_proj.bias", "attn_output.bias"),
    ("self_attn.q_norm.weight", "attn_q_norm.weight"),
    ("self_attn.k_norm.weight", "attn_k_norm.weight"),
    ("post_attention_layernorm.weight", "ffn_norm.weight"),
    ("mlp.gate_proj.weight", "ffn_gate.weight"),
    ("mlp.up_proj.weight", "ffn_up.weight"),
    ("mlp.down_proj.weight", "ffn_down.weight"),
];

/// An HF tensor and what it becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportTensor {
    /// HF name.
    pub hf: String,
    /// GGUF name.
    pub gguf: String,
    /// Rows interleaved for llama.cpp's rotary embedding, with this many
    /// heads (llama's query and key projections).
    pub permute_heads: Option<usize>,
    /// A Gemma norm weight: HF stores `w`, llama.cpp `1 + w` (added in f32,
    /// as llama.cpp's converter does).
    pub plus_one: bool,
}

/// The hyper-parameters an export needs, from `config.json`.
#[derive(Debug, Clone)]
pub struct ExportConfig {
    /// llama.cpp's architecture name.
    pub arch: &'static str,
    /// Whether queries and keys are interleaved (llama.cpp's llama graph).
    pub permute: bool,
    heads: usize,
    kv_heads: usize,
    tied: bool,
    metadata: Vec<(String, MetaValue)>,
}

fn number(path: &Path, config: &Map<String, Json>, key: &str) -> Result<f64> {
    config
        .get(key)
        .and_then(Json::as_f64)
        .ok_or_else(|| ModelError::invalid(path, format!("config.json lacks the number `{key}`")))
}

impl ExportConfig {
    /// Reads `config.json` (at `path`); an architecture that does not export,
    /// rotary scaling or a sliding window llama.cpp's graph would not apply
    /// is refused, naming what it is.
    pub fn read(path: &Path, config: &Map<String, Json>) -> Result<Self> {
        let model_type = config
            .get("model_type")
            .and_then(Json::as_str)
            .unwrap_or("");
        let Some(&(_, arch)) = EXPORTABLE.iter().find(|(t, _)| *t == model_type) else {
            return Err(ModelError::unsupported(
                path,
                format!(
                    "exporting model_type `{model_type}` to GGUF; retarget exports {}",
                    EXPORTABLE
                        .iter()
                        .map(|(t, _)| *t)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let int = |key: &str| number(path, config, key).map(|v| v as usize);
        let (hidden, heads, layers) = (
            int("hidden_size")?,
            int("num_attention_heads")?,
            int("num_hidden_layers")?,
        );
        let kv_heads = config
            .get("num_key_value_heads")
            .and_then(Json::as_u64)
            .map_or(heads, |v| v as usize);
        let head_dim = config
            .get("head_dim")
            .and_then(Json::as_u64)
            .map_or(hidden / heads.max(1), |v| v as usize);
        let rope = config.get("rope_parameters").filter(|r| !r.is_null());
        let scaled = |r: &Json| r.get("rope_type").is_some_and(|t| t != "default");
        let scaling = config
            .get("rope_scaling")
            .filter(|r| !r.is_null())
            .or_else(|| rope.filter(|r| scaled(r)))
            .or_else(|| {
                rope.and_then(|r| r.as_object())
                    .and_then(|by_type| by_type.values().find(|r| scaled(r)))
            });
        if let Some(scaling) = scaling {
            return Err(ModelError::unsupported(
                path,
                format!("exporting rotary scaling {scaling} to GGUF"),
            ));
        }
        let theta = config
            .get("rope_theta")
            .or_else(|| rope.and_then(|r| r.get("rope_theta")))
            .or_else(|| rope.and_then(|r| r.get("full_attention")?.get("rope_theta")))
            .and_then(Json::as_f64)
            .unwrap_or(if arch == "gemma3" {
                1_000_000.0
            } else {
                10_000.0
            });
        let context = int("max_position_embeddings")?;
        if let Some(window) = config.get("sliding_window").and_then(Json::as_u64) {
            let used = config.get("use_sliding_window").and_then(Json::as_bool) != Some(false);
            if used && (window as usize) < context && arch == "llama" {
                return Err(ModelError::unsupported(
                    path,
                    format!("exporting a sliding window of {window} tokens as llama (llama.cpp's llama graph attends to the whole context)"),
                ));
            }
        }
        if arch == "gemma3" {
            gemma3_fits_llama_cpp(path, config, head_dim, layers)?;
        }
        let eps = number(path, config, "rms_norm_eps")?;
        let key = |k: &str| format!("{arch}.{k}");
        let mut metadata = vec![
            (key("context_length"), MetaValue::U32(context as u32)),
            (key("embedding_length"), MetaValue::U32(hidden as u32)),
            (key("block_count"), MetaValue::U32(layers as u32)),
            (
                key("feed_forward_length"),
                MetaValue::U32(int("intermediate_size")? as u32),
            ),
            (key("attention.head_count"), MetaValue::U32(heads as u32)),
            (
                key("attention.head_count_kv"),
                MetaValue::U32(kv_heads as u32),
            ),
            (key("rope.freq_base"), MetaValue::F32(theta as f32)),
            (
                key("attention.layer_norm_rms_epsilon"),
                MetaValue::F32(eps as f32),
            ),
        ];
        if arch == "llama" {
            metadata.push((key("rope.dimension_count"), MetaValue::U32(head_dim as u32)));
        }
        if config.contains_key("head_dim") || head_dim * heads != hidden || arch == "gemma" {
            metadata.push((key("attention.key_length"), MetaValue::U32(head_dim as u32)));
            metadata.push((
                key("attention.value_length"),
                MetaValue::U32(head_dim as u32),
            ));
        }
        if arch == "gemma3" {
            if let Some(window) = config.get("sliding_window").and_then(Json::as_u64) {
                metadata.push((
                    key("attention.sliding_window"),
                    MetaValue::U32(window as u32),
                ));
            }
        }
        Ok(ExportConfig {
            arch,
            permute: arch == "llama",
            heads,
            kv_heads,
            tied: config
                .get("tie_word_embeddings")
                .and_then(Json::as_bool)
                .unwrap_or(arch.starts_with("gemma")),
            metadata,
        })
    }

    /// The `ARCH.*` metadata, with `ARCH.vocab_size` (llama) for `rows`.
    pub fn metadata(&self, rows: usize) -> Vec<(String, MetaValue)> {
        let mut out = self.metadata.clone();
        if self.arch == "llama" {
            out.push((
                format!("{}.vocab_size", self.arch),
                MetaValue::U32(rows as u32),
            ));
        }
        out
    }

    /// What each of `names` (the checkpoint's tensors) becomes, in
    /// llama.cpp's order (embedding, layers, final norm, head); a tensor
    /// without a GGUF counterpart is refused, naming it.
    pub fn tensors(&self, path: &Path, names: &[&str]) -> Result<Vec<ExportTensor>> {
        let mut out: Vec<(usize, usize, ExportTensor)> = Vec::new();
        for &name in names {
            let gemma = self.arch.starts_with("gemma");
            let simple = |gguf: &str| ExportTensor {
                hf: name.to_string(),
                gguf: gguf.to_string(),
                permute_heads: None,
                plus_one: gemma && gguf.ends_with("norm.weight"),
            };
            let entry = match name {
                "model.embed_tokens.weight" => (0, 0, simple("token_embd.weight")),
                "model.norm.weight" => (usize::MAX - 1, 0, simple("output_norm.weight")),
                // llama.cpp's gemma graph always reads the embedding as head.
                "lm_head.weight" if self.tied || self.arch == "gemma" => continue,
                "lm_head.weight" => (usize::MAX, 0, simple("output.weight")),
                _ if name.ends_with("rotary_emb.inv_freq") => continue,
                _ if self.arch == "gemma3" => {
                    let parsed = layer_suffix(name).and_then(|(layer, suffix)| {
                        let position = GEMMA3_NAMES.iter().position(|(_, hf, _)| *hf == suffix)?;
                        Some((layer, position))
                    });
                    let Some((layer, position)) = parsed else {
                        return Err(unknown(path, name, self.arch));
                    };
                    let (gguf, _, norm) = GEMMA3_NAMES[position];
                    let tensor = ExportTensor {
                        hf: name.to_string(),
                        gguf: format!("blk.{layer}.{gguf}"),
                        permute_heads: None,
                        plus_one: norm,
                    };
                    (layer + 1, position, tensor)
                }
                _ => {
                    let parsed = layer_suffix(name).and_then(|(layer, suffix)| {
                        let position = LAYER_NAMES.iter().position(|(hf, _)| *hf == suffix)?;
                        Some((layer, position))
                    });
                    let Some((layer, position)) = parsed else {
                        return Err(unknown(path, name, self.arch));
                    };
                    let suffix = LAYER_NAMES[position].0;
                    let permute_heads = match suffix {
                        _ if !self.permute => None,
                        "self_attn.q_proj.weight" | "self_attn.q_proj.bias" => Some(self.heads),
                        "self_attn.k_proj.weight" | "self_attn.k_proj.bias" => Some(self.kv_heads),
                        _ => None,
                    };
                    (
                        layer + 1,
                        position,
                        ExportTensor {
                            hf: name.to_string(),
                            gguf: format!("blk.{layer}.{}", LAYER_NAMES[position].1),
                            permute_heads,
                            plus_one: gemma && suffix.ends_with("norm.weight"),
                        },
                    )
                }
            };
            out.push(entry);
        }
        out.sort_by_key(|(rank, position, _)| (*rank, *position));
        Ok(out.into_iter().map(|(_, _, t)| t).collect())
    }
}

/// Refuses a Gemma 3 that llama.cpp's `gemma3` graph would run otherwise
/// than `transformers`: llama.cpp takes from the architecture itself that
/// every sixth layer is global, that the sliding layers' rotary base is
/// 10,000, that queries are scaled by `head_dim^-1/2` (at this size) and
/// that logits are not soft-capped.
fn gemma3_fits_llama_cpp(
    path: &Path,
    config: &Map<String, Json>,
    head_dim: usize,
    layers: usize,
) -> Result<()> {
    let refuse = |what: String| {
        Err(ModelError::unsupported(path, format!("exporting a Gemma 3 with {what} to GGUF (llama.cpp's gemma3 graph assumes otherwise)")))
    };
    if let Some(types) = config.get("layer_types").and_then(Json::as_array) {
        let standard = (0..layers).all(|i| {
            let global = (i + 1) % GLOBAL_EVERY == 0;
            types.get(i).and_then(Json::as_str)
                == Some(if global {
                    "full_attention"
                } else {
                    "sliding_attention"
                })
        });
        if !standard || types.len() != layers {
            return refuse("layer types other than five sliding layers then one global".into());
        }
    }
    let local = config
        .get("rope_parameters")
        .and_then(|r| r.get("sliding_attention")?.get("rope_theta"))
        .or_else(|| config.get("rope_local_base_freq"))
        .and_then(Json::as_f64)
        .unwrap_or(LOCAL_ROPE_BASE);
    if local != LOCAL_ROPE_BASE {
        return refuse(format!("a sliding-layer rotary base of {local}"));
    }
    let scalar = config
        .get("query_pre_attn_scalar")
        .and_then(Json::as_f64)
        .unwrap_or(head_dim as f64);
    if scalar != head_dim as f64 {
        return refuse(format!(
            "queries scaled by {scalar}^-1/2 instead of head_dim^-1/2"
        ));
    }
    for key in ["final_logit_softcapping", "attn_logit_softcapping"] {
        if config.get(key).is_some_and(|v| !v.is_null()) {
            return refuse(format!("`{key}`"));
        }
    }
    Ok(())
}

/// `model.layers.N.SUFFIX` → (N, SUFFIX).
fn layer_suffix(name: &str) -> Option<(usize, &str)> {
    let (n, suffix) = name.strip_prefix("model.layers.")?.split_once('.')?;
    Some((n.parse().ok()?, suffix))
}

fn unknown(path: &Path, name: &str, arch: &str) -> ModelError {
    ModelError::unsupported(
        path,
        format!("tensor `{name}` has no GGUF {arch} counterpart"),
    )
}

/// llama.cpp's interleaving of a `[rows, cols]` query or key projection
/// (`LlamaModel.permute` in `convert_hf_to_gguf.py`): within each head, HF
/// row `t*half + d` becomes GGUF row `2*d + t`. The inverse of
/// [`crate::gguf_convert::unpermute_rows`].
pub fn permute_rows(values: &[f32], rows: usize, heads: usize) -> Vec<f32> {
    let cols = values.len() / rows.max(1);
    let head_rows = rows / heads.max(1);
    let half = head_rows / 2;
    let mut out = vec![0f32; values.len()];
    for h in 0..heads {
        for d in 0..half {
            for t in 0..2 {
                let src = h * head_rows + t * half + d;
                let dst = h * head_rows + 2 * d + t;
                out[dst * cols..(dst + 1) * cols]
                    .copy_from_slice(&values[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf_convert::unpermute_rows;

    #[test]
    fn permute_inverts_the_readers_unpermute() {
        let values: Vec<f32> = (0..8 * 3).map(|v| v as f32).collect();
        let permuted = permute_rows(&values, 8, 2);
        assert_ne!(permuted, values);
        assert_eq!(unpermute_rows(&permuted, 8, 2), values);
    }
}
