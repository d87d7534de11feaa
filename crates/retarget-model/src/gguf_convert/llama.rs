//! A llama-architecture GGUF file as a Hugging Face `LlamaForCausalLM`
//! folder: `config.json` from the metadata, tensor names, and undoing
//! llama.cpp's interleaving of the query/key rows for its rotary embedding.

use serde_json::{json, Map, Value as Json};

use super::{
    insert_context_and_eps, insert_tying_ids_and_dtype, layer_tensor, mapping, refuse_rope_scaling,
    required, shape_config, shortest_f32, unknown, TensorMapping,
};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// Per-layer name pairs: GGUF suffix after `blk.N.` → HF suffix after `model.layers.N.`.
const LAYER_NAMES: &[(&str, &str)] = &[
    ("attn_norm.weight", "input_layernorm.weight"),
    ("attn_q.weight", "self_attn.q_proj.weight"),
    ("attn_q.bias", "self_attn.q_proj.bias"),
    ("attn_k.weight", "self_attn.k_proj.weight"),
    ("attn_k.bias", "self_attn.k_proj.bias"),
    ("attn_v.weight", "self_attn.v_proj.weight"),
    ("attn_v.bias", "self_attn.v_proj.bias"),
    ("attn_output.weight", "self_attn.o_proj.weight"),
    ("attn_output.bias", "self_attn.o_proj.bias"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ("ffn_gate.weight", "mlp.gate_proj.weight"),
    ("ffn_up.weight", "mlp.up_proj.weight"),
    ("ffn_down.weight", "mlp.down_proj.weight"),
];

/// Tensors llama.cpp stores that `transformers` recomputes.
const SKIPPED: &[&str] = &["rope_freqs.weight"];

/// The hyper-parameters of a llama GGUF.
#[derive(Debug, Clone)]
pub struct LlamaParams {
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
}

/// Checks the architecture and reads the head counts.
pub fn llama_params(file: &GgufFile) -> Result<LlamaParams> {
    if file.architecture() != Some("llama") {
        return Err(ModelError::unsupported(
            file.path(),
            "a llama layout for a GGUF file of another architecture",
        ));
    }
    let heads = required(file, "llama.attention.head_count")? as usize;
    let kv_heads = file
        .meta_u64("llama.attention.head_count_kv")
        .map_or(heads, |v| v as usize);
    if heads == 0 || kv_heads == 0 {
        return Err(ModelError::invalid(
            file.path(),
            "head counts must be positive",
        ));
    }
    Ok(LlamaParams { heads, kv_heads })
}

/// Maps every tensor of a llama GGUF to its HF name, in HF order
/// (embedding, layers, final norm, head). Unknown tensors are an error.
pub fn llama_tensor_map(file: &GgufFile, params: &LlamaParams) -> Result<Vec<TensorMapping>> {
    let mut mapped: Vec<(usize, usize, TensorMapping)> = Vec::new();
    for t in file.tensors() {
        let name = t.name.as_str();
        if SKIPPED.contains(&name) {
            continue;
        }
        let simple = |hf: &str, rank: usize| (rank, 0, mapping(t, hf, None, false));
        let entry = match name {
            "token_embd.weight" => simple("model.embed_tokens.weight", 0),
            "output_norm.weight" => simple("model.norm.weight", usize::MAX - 1),
            "output.weight" => simple("lm_head.weight", usize::MAX),
            _ => {
                let (layer, suffix) = layer_tensor(file, name, "llama")?;
                let Some(position) = LAYER_NAMES.iter().position(|(g, _)| *g == suffix) else {
                    return Err(unknown(file, name, "llama"));
                };
                let heads = match suffix {
                    "attn_q.weight" | "attn_q.bias" => Some(params.heads),
                    "attn_k.weight" | "attn_k.bias" => Some(params.kv_heads),
                    _ => None,
                };
                let hf = format!("model.layers.{layer}.{}", LAYER_NAMES[position].1);
                (layer + 1, position, mapping(t, &hf, heads, false))
            }
        };
        mapped.push(entry);
    }
    mapped.sort_by_key(|(rank, position, _)| (*rank, *position));
    Ok(mapped.into_iter().map(|(_, _, m)| m).collect())
}

/// Undoes llama.cpp's rotary interleaving of a `[rows, cols]` projection:
/// within each head, GGUF row `2*d + t` becomes HF row `t*half + d`, where
/// `half` is half the head dimension.
pub fn unpermute_rows(values: &[f32], rows: usize, heads: usize) -> Vec<f32> {
    let cols = values.len() / rows.max(1);
    let head_rows = rows / heads;
    let half = head_rows / 2;
    let mut out = vec![0f32; values.len()];
    for h in 0..heads {
        for d in 0..half {
            for t in 0..2 {
                let src = h * head_rows + 2 * d + t;
                let dst = h * head_rows + t * half + d;
                out[dst * cols..(dst + 1) * cols]
                    .copy_from_slice(&values[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

/// Builds `config.json` for `LlamaForCausalLM` from the GGUF metadata.
pub fn llama_config(
    file: &GgufFile,
    vocab_size: usize,
    dtype_name: &str,
) -> Result<Map<String, Json>> {
    let p = |k: &str| format!("llama.{k}");
    let hidden = required(file, &p("embedding_length"))?;
    let heads = required(file, &p("attention.head_count"))?;
    let mut c = shape_config(file, "llama", "LlamaForCausalLM", "llama", vocab_size)?;
    let head_dim = file
        .meta_u64(&p("rope.dimension_count"))
        .unwrap_or(hidden / heads);
    c.insert("head_dim".into(), json!(head_dim));
    c.insert("hidden_act".into(), json!("silu"));
    insert_context_and_eps(&mut c, file, "llama");
    c.insert(
        "rope_theta".into(),
        json!(shortest_f32(
            file.meta_f64(&p("rope.freq_base")).unwrap_or(10000.0)
        )),
    );
    refuse_rope_scaling(file, "llama")?;
    let has_bias = file
        .tensors()
        .iter()
        .any(|t| t.name.ends_with("attn_q.bias"));
    c.insert("attention_bias".into(), json!(has_bias));
    c.insert("mlp_bias".into(), json!(false));
    insert_tying_ids_and_dtype(&mut c, file, dtype_name);
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_llama_cpp_permutation() {
        // llama.cpp: w.reshape(heads, 2, rows/heads/2, cols).swapaxes(1, 2):
        // HF row h*hr + t*half + d goes to GGUF row h*hr + 2*d + t.
        let (rows, cols, heads) = (8, 3, 2);
        let hf: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
        let (hr, half) = (rows / heads, rows / heads / 2);
        let mut gguf = vec![0f32; hf.len()];
        for h in 0..heads {
            for t in 0..2 {
                for d in 0..half {
                    let src = h * hr + t * half + d;
                    let dst = h * hr + 2 * d + t;
                    gguf[dst * cols..(dst + 1) * cols]
                        .copy_from_slice(&hf[src * cols..(src + 1) * cols]);
                }
            }
        }
        assert_ne!(gguf, hf);
        assert_eq!(unpermute_rows(&gguf, rows, heads), hf);
    }
}
