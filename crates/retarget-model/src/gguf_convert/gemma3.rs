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

use super::{mapping, required, shortest_f32, unknown, TensorMapping};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

/// Every sixth layer attends to the whole past (Gemma 3's pattern).
const GLOBAL_EVERY: usize = 6;
/// The rotary base of the sliding-window layers.
const LOCAL_ROPE_BASE: f64 = 10_000.0;

/// Per-layer name pairs: GGUF suffix after `blk.N.` → HF suffix after
/// `model.layers.N.`, and whether it is a norm weight (`1 + w` in GGUF).
const LAYER_NAMES: &[(&str, &str, bool)] = &[
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
                let rest = name.strip_prefix("blk.").and_then(|r| r.split_once('.'));
                let Some((layer, suffix)) =
                    rest.and_then(|(n, s)| Some((n.parse::<usize>().ok()?, s)))
                else {
                    return Err(unknown(file, name, "gemma3"));
                };
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
    let heads = required(file, &p("attention.head_count"))?;
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
    if let Some(kind) = file.meta_str(&p("rope.scaling.type")) {
        if kind != "none" {
            return Err(ModelError::unsupported(
                file.path(),
                format!("converting GGUF rope scaling `{kind}`"),
            ));
        }
    }
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
    let mut c = Map::new();
    c.insert("architectures".into(), json!(["Gemma3ForCausalLM"]));
    c.insert("model_type".into(), json!("gemma3_text"));
    c.insert("vocab_size".into(), json!(vocab_size));
    c.insert(
        "hidden_size".into(),
        json!(required(file, &p("embedding_length"))?),
    );
    c.insert(
        "intermediate_size".into(),
        json!(required(file, &p("feed_forward_length"))?),
    );
    c.insert("num_hidden_layers".into(), json!(layers));
    c.insert("num_attention_heads".into(), json!(heads));
    c.insert(
        "num_key_value_heads".into(),
        json!(file
            .meta_u64(&p("attention.head_count_kv"))
            .unwrap_or(heads)),
    );
    c.insert("head_dim".into(), json!(head_dim));
    c.insert("hidden_activation".into(), json!("gelu_pytorch_tanh"));
    if let Some(ctx) = file.meta_u64(&p("context_length")) {
        c.insert("max_position_embeddings".into(), json!(ctx));
    }
    let eps = file
        .meta_f64(&p("attention.layer_norm_rms_epsilon"))
        .unwrap_or(1e-6);
    c.insert("rms_norm_eps".into(), json!(shortest_f32(eps)));
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
    c.insert(
        "tie_word_embeddings".into(),
        json!(file.tensor("output.weight").is_none()),
    );
    for (key, name) in [
        ("tokenizer.ggml.bos_token_id", "bos_token_id"),
        ("tokenizer.ggml.eos_token_id", "eos_token_id"),
        ("tokenizer.ggml.padding_token_id", "pad_token_id"),
    ] {
        if let Some(id) = file.meta_u64(key) {
            c.insert(name.into(), json!(id));
        }
    }
    c.insert("torch_dtype".into(), json!(dtype_name));
    Ok(c)
}
