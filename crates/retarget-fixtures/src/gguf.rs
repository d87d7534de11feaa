//! GGUF files built from the fixtures with candle's GGUF writer, laid out the
//! way llama.cpp's converter lays out a llama model.

use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use serde_json::Value as Json;

/// llama.cpp's permutation of q/k rows for its rotary embedding, written
/// independently of retarget's inverse: `reshape(heads, 2, rows/heads/2, cols)
/// .swapaxes(1, 2)`.
pub fn llama_cpp_permute(values: &[f32], rows: usize, cols: usize, heads: usize) -> Vec<f32> {
    let half = rows / heads / 2;
    let mut out = Vec::with_capacity(values.len());
    for h in 0..heads {
        for d in 0..half {
            for t in 0..2 {
                let src = (h * 2 + t) * half + d;
                out.extend_from_slice(&values[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

/// Builds a llama GGUF of a llama fixture folder, as llama.cpp's converter
/// would (renamed tensors, permuted q/k rows, tokenizer in metadata), with
/// the matrices quantized to `dtype` (norms stay F32).
pub fn llama_gguf(
    fixture_dir: &Path,
    gguf_path: &Path,
    dtype: GgmlDType,
) -> candle_core::Result<()> {
    let read_json = |name: &str| -> Json {
        serde_json::from_slice(&std::fs::read(fixture_dir.join(name)).expect("fixture file"))
            .expect("fixture JSON")
    };
    let config = read_json("config.json");
    let st_bytes = std::fs::read(fixture_dir.join("model.safetensors"))?;
    let st = safetensors::SafeTensors::deserialize(&st_bytes).map_err(candle_core::Error::wrap)?;
    let heads = config["num_attention_heads"].as_u64().unwrap() as usize;
    let kv_heads = config["num_key_value_heads"].as_u64().unwrap() as usize;
    let mut tensors = Vec::new();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    for name in &names {
        let view = st.tensor(name).map_err(candle_core::Error::wrap)?;
        let mut values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        let shape = view.shape().to_vec();
        let gguf_name = match name.as_str() {
            "model.embed_tokens.weight" => "token_embd.weight".to_string(),
            "model.norm.weight" => "output_norm.weight".to_string(),
            "lm_head.weight" => "output.weight".to_string(),
            _ => {
                let rest = name.strip_prefix("model.layers.").unwrap();
                let (layer, suffix) = rest.split_once('.').unwrap();
                let short = match suffix {
                    "input_layernorm.weight" => "attn_norm.weight",
                    "self_attn.q_proj.weight" => {
                        values = llama_cpp_permute(&values, shape[0], shape[1], heads);
                        "attn_q.weight"
                    }
                    "self_attn.k_proj.weight" => {
                        values = llama_cpp_permute(&values, shape[0], shape[1], kv_heads);
                        "attn_k.weight"
                    }
                    "self_attn.v_proj.weight" => "attn_v.weight",
                    "self_attn.o_proj.weight" => "attn_output.weight",
                    "post_attention_layernorm.weight" => "ffn_norm.weight",
                    "mlp.gate_proj.weight" => "ffn_gate.weight",
                    "mlp.up_proj.weight" => "ffn_up.weight",
                    "mlp.down_proj.weight" => "ffn_down.weight",
                    other => panic!("unexpected {other}"),
                };
                format!("blk.{layer}.{short}")
            }
        };
        let matrix = shape.len() == 2;
        let q = QTensor::quantize(
            &Tensor::from_slice(&values, shape.as_slice(), &Device::Cpu)?,
            if matrix { dtype } else { GgmlDType::F32 },
        )?;
        tensors.push((gguf_name, q));
    }
    let tok = read_json("tokenizer.json");
    let vocab = tok["model"]["vocab"].as_object().unwrap();
    let mut by_id = vec![String::new(); vocab.len()];
    for (token, id) in vocab {
        by_id[id.as_u64().unwrap() as usize] = token.clone();
    }
    let specials: Vec<String> = tok["added_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap().to_string())
        .collect();
    let types: Vec<Value> = by_id
        .iter()
        .map(|t| Value::I32(if specials.contains(t) { 3 } else { 1 }))
        .collect();
    let merges: Vec<Value> = tok["model"]["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            Value::String(format!(
                "{} {}",
                m[0].as_str().unwrap(),
                m[1].as_str().unwrap()
            ))
        })
        .collect();
    let u = |k: &str| Value::U32(config[k].as_u64().unwrap() as u32);
    let metadata = vec![
        ("general.architecture", Value::String("llama".into())),
        ("llama.embedding_length", u("hidden_size")),
        ("llama.feed_forward_length", u("intermediate_size")),
        ("llama.block_count", u("num_hidden_layers")),
        ("llama.attention.head_count", u("num_attention_heads")),
        ("llama.attention.head_count_kv", u("num_key_value_heads")),
        ("llama.context_length", u("max_position_embeddings")),
        ("llama.rope.dimension_count", u("head_dim")),
        ("llama.rope.freq_base", Value::F32(10000.0)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String("gpt-2".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(by_id.into_iter().map(Value::String).collect()),
        ),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.merges", Value::Array(merges)),
        ("tokenizer.ggml.bos_token_id", u("bos_token_id")),
        ("tokenizer.ggml.eos_token_id", u("eos_token_id")),
    ];
    let mut file = std::fs::File::create(gguf_path)?;
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &md, &ts)
}

/// How [`gemma3_gguf`] spoils its tokenizer metadata, for bad-input tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gemma3Flaw {
    /// A well-formed file.
    #[default]
    None,
    /// `tokenizer.ggml.scores` left out.
    NoScores,
    /// One token type fewer than tokens.
    ShortTokenTypes,
    /// One token more than the embedding has rows.
    ExtraToken,
}

/// The pieces of [`gemma3_gguf`]'s vocabulary after the specials and the
/// 256 byte pieces, in file order (which, for Gemma, is merge order).
pub const GEMMA3_PIECES: &[&str] = &[
    "▁", "a", "t", "h", "e", "c", "s", "k", "w", "i", "r", "n", "▁t", "he", "▁the", "at", "▁c",
    "▁cat", "▁s", "▁sat", "ka", "▁ka", "wa", "▁kwa", "  ", "\n",
];

/// A tiny random gemma3 GGUF laid out as llama.cpp's converter writes Gemma 3
/// (norms stored as `1 + w`, q/k norms, norms around each block, a
/// SentencePiece-style vocabulary: `<pad> <eos> <bos> <unk> <mask>`, 256 byte
/// pieces, [`GEMMA3_PIECES`]); 2 layers of width 16, heads of 8, one
/// key/value head, sliding window 4. Every norm weight is stored as 1.5.
pub fn gemma3_gguf(path: &Path, flaw: Gemma3Flaw) -> candle_core::Result<()> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut tokens: Vec<String> = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]
        .iter()
        .map(|t| t.to_string())
        .collect();
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    tokens.extend(GEMMA3_PIECES.iter().map(|t| t.to_string()));
    let rows = tokens.len();
    let (hidden, heads, kv_heads, head_dim, inter, layers) = (16, 2, 1, 8, 32, 2);
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut add = |name: String, shape: &[usize], norm: bool| -> candle_core::Result<()> {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| {
                if norm {
                    1.5
                } else {
                    rng.random_range(-0.5..0.5)
                }
            })
            .collect();
        let tensor = Tensor::from_slice(&values, shape, &Device::Cpu)?;
        tensors.push((name, QTensor::quantize(&tensor, GgmlDType::F32)?));
        Ok(())
    };
    add("token_embd.weight".into(), &[rows, hidden], false)?;
    for l in 0..layers {
        let b = |s: &str| format!("blk.{l}.{s}");
        add(b("attn_q.weight"), &[heads * head_dim, hidden], false)?;
        add(b("attn_k.weight"), &[kv_heads * head_dim, hidden], false)?;
        add(b("attn_v.weight"), &[kv_heads * head_dim, hidden], false)?;
        add(b("attn_output.weight"), &[hidden, heads * head_dim], false)?;
        add(b("attn_q_norm.weight"), &[head_dim], true)?;
        add(b("attn_k_norm.weight"), &[head_dim], true)?;
        add(b("ffn_gate.weight"), &[inter, hidden], false)?;
        add(b("ffn_up.weight"), &[inter, hidden], false)?;
        add(b("ffn_down.weight"), &[hidden, inter], false)?;
        for norm in [
            "attn_norm",
            "post_attention_norm",
            "ffn_norm",
            "post_ffw_norm",
        ] {
            add(b(&format!("{norm}.weight")), &[hidden], true)?;
        }
    }
    add("output_norm.weight".into(), &[hidden], true)?;
    let mut types: Vec<Value> = (0..rows)
        .map(|i| {
            Value::I32(match i {
                0..=4 => 3,
                5..=260 => 6,
                _ => 1,
            })
        })
        .collect();
    let mut scores: Vec<Value> = (0..rows).map(|i| Value::F32(-(i as f32))).collect();
    match flaw {
        Gemma3Flaw::ShortTokenTypes => {
            types.pop();
        }
        Gemma3Flaw::ExtraToken => {
            tokens.push("▁extra".into());
            types.push(Value::I32(1));
            scores.push(Value::F32(-1e4));
        }
        _ => {}
    }
    let u = |v: u32| Value::U32(v);
    let mut metadata = vec![
        ("general.architecture", Value::String("gemma3".into())),
        ("gemma3.context_length", u(64)),
        ("gemma3.embedding_length", u(hidden as u32)),
        ("gemma3.block_count", u(layers as u32)),
        ("gemma3.feed_forward_length", u(inter as u32)),
        ("gemma3.attention.head_count", u(heads as u32)),
        ("gemma3.attention.head_count_kv", u(kv_heads as u32)),
        ("gemma3.attention.key_length", u(head_dim as u32)),
        ("gemma3.attention.value_length", u(head_dim as u32)),
        ("gemma3.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("gemma3.rope.freq_base", Value::F32(1_000_000.0)),
        ("gemma3.attention.sliding_window", u(4)),
        ("tokenizer.ggml.model", Value::String("llama".into())),
        ("tokenizer.ggml.pre", Value::String("default".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        ),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.bos_token_id", u(2)),
        ("tokenizer.ggml.eos_token_id", u(1)),
        ("tokenizer.ggml.unknown_token_id", u(3)),
        ("tokenizer.ggml.padding_token_id", u(0)),
        ("tokenizer.ggml.add_bos_token", Value::Bool(true)),
        ("tokenizer.ggml.add_eos_token", Value::Bool(false)),
    ];
    if flaw != Gemma3Flaw::NoScores {
        metadata.push(("tokenizer.ggml.scores", Value::Array(scores)));
    }
    let mut file = std::fs::File::create(path)?;
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &md, &ts)
}
