//! A gemma3 GGUF file (llama.cpp's `gemma3` architecture: the text model of
//! Gemma 3) as a Hugging Face `Gemma3ForCausalLM` folder (`gemma3_text`).
//!
//! llama.cpp's converter stores every RMSNorm weight as `1 + w` (gemma
//! multiplies by `1 + w`) and leaves the q/k rows in HF order. What the file
//! does not say, llama.cpp and `transformers` both take from Gemma 3 itself:
//! every sixth layer attends globally, the others over a sliding window; the
//! sliding layers' rotary base is 10,000; queries are scaled by
//! `key_length^-1/2`.

use serde_json::{json, Map, Value as Json};

use super::{
    insert_context_and_eps, insert_tying_ids_and_dtype, layer_tensor, mapping, refuse_rope_scaling,
    required, shape_config, shortest_f32, unknown, TensorMapping,
};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// Every sixth layer attends to the whole past (Gemma 3's pattern).
pub(crate) const GLOBAL_EVERY: usize = 6;
/// The rotary base of the sliding-window layers.
pub(crate) const LOCAL_ROPE_BASE: f64 = 10_000.0;

/// Per-layer name pairs: GGUF suffix after `blk.N.` → HF suffix after
/// `model.layers.N.`, and whether it is a norm weight (`1 + w` in GGUF).
pub(crate) const LAYER_NAMES: &[(&str, &str, bool)] = &[
    ("attn_q.weight", "self_attn.q_proj.weight", false),
    ("attn_k.weight", "self_attn.k_proj.weight", false),
    ("attn_v.weight", "self_attn.v_proj.weight", false),
    ("attn_output.weight", "self_attn.o_proj.weight", false),
    ("attn_q_norm.weight", "self_attn.q_norm.weight", true),
    ("attn_k_norm.weight", "self_attn.k_norm.weight", true),
    ("ffn_gate.weight", "mlp.gate_proj.weight", false),
    ("ffn_up.weight", "mlp.up_proj.weight", false),
    ("ffn_down.weight", "mlp.down_proj.weight", false),
    ("attn_norm.weight", "input_layernorm.weight", true),
    (
        "post_attention_norm.weight",
        "post_attention_layernorm.weight",
        true,
    ),
    ("ffn_norm.weight", "pre_feedforward_layernorm.weight", true),
    (
        "post_ffw_norm.weight",
        "post_feedforward_layernorm.weight",
        true,
    ),
];

/// Maps every tensor to its HF name, in HF order (embedding, layers, final
/// norm, head). Unknown tensors are an error.
pub fn tensor_map(file: &GgufFile) -> Result<Vec<TensorMapping>> {
    let mut mapped: Vec<(usize, usize, TensorMapping)> = Vec::new();
    for t in file.tensors() {
        let name = t.name.as_str();
        let entry = match name {
            "token_embd.weight" => (0, 0, mapping(t, "model.embed_tokens.weight", None, false)),
            "output_norm.weight" => (
                usize::MAX - 1,
                0,
                mapping(t, "model.norm.weight", None, true),
            ),
            "output.weight" => (usize::MAX, 0, mapping(t, "lm_head.weight", None, false)),
            _ => {
                let (layer, suffix) = layer_tensor(file, name, "gemma3")?;
                let Some(position) = LAYER_NAMES.iter().position(|(g, _, _)| *g == suffix) else {
                    return Err(unknown(file, name, "gemma3"));
                };
                let (_, hf, norm) = LAYER_NAMES[position];
                let hf = format!("model.layers.{layer}.{hf}");
                (layer + 1, position, mapping(t, &hf, None, norm))
            }
        };
        mapped.push(entry);
    }
    mapped.sort_by_key(|(rank, position, _)| (*rank, *position));
    Ok(mapped.into_iter().map(|(_, _, m)| m).collect())
}

/// `config.json` for `Gemma3ForCausalLM`, every setting spelled out as
/// `transformers` 5 writes it.
pub fn config(file: &GgufFile, vocab_size: usize, dtype_name: &str) -> Result<Map<String, Json>> {
    let p = |k: &str| format!("gemma3.{k}");
    let layers = required(file, &p("block_count"))? as usize;
    let head_dim = required(file, &p("attention.key_length"))?;
    if let Some(value) = file.meta_u64(&p("attention.value_length")) {
        if value != head_dim {
            return Err(ModelError::unsupported(
                file.path(),
                format!("gemma3 with key length {head_dim} and value length {value}"),
            ));
        }
    }
    refuse_rope_scaling(file, "gemma3")?;
    let layer_types: Vec<&str> = (0..layers)
        .map(|i| {
            if (i + 1) % GLOBAL_EVERY == 0 {
                "full_attention"
            } else {
                "sliding_attention"
            }
        })
        .collect();
    let rope = |theta: f64| json!({"rope_theta": theta, "rope_type": "default"});
    let global_base = shortest_f32(file.meta_f64(&p("rope.freq_base")).unwrap_or(1_000_000.0));
    let mut c = shape_config(
        file,
        "gemma3",
        "Gemma3ForCausalLM",
        "gemma3_text",
        vocab_size,
    )?;
    c.insert("head_dim".into(), json!(head_dim));
    c.insert("hidden_activation".into(), json!("gelu_pytorch_tanh"));
    insert_context_and_eps(&mut c, file, "gemma3");
    c.insert(
        "rope_parameters".into(),
        json!({
            "full_attention": rope(global_base),
            "sliding_attention": rope(LOCAL_ROPE_BASE),
        }),
    );
    c.insert(
        "sliding_window".into(),
        json!(required(file, &p("attention.sliding_window"))?),
    );
    c.insert("layer_types".into(), json!(layer_types));
    c.insert("query_pre_attn_scalar".into(), json!(head_dim));
    c.insert("attn_logit_softcapping".into(), Json::Null);
    c.insert("final_logit_softcapping".into(), Json::Null);
    c.insert("attention_bias".into(), json!(false));
    c.insert("use_bidirectional_attention".into(), json!(false));
    insert_tying_ids_and_dtype(&mut c, file, dtype_name);
    Ok(c)
}
