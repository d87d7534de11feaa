//! Writes a large llama-layout model of random f32 weights for benchmarks:
//! `make-random-model DIR LAYERS [SEED]` (hidden 2048, intermediate 5632, vocab
//! 32000; about 205 MB per layer plus 524 MB of embedding and head).
//! Tensors are generated one at a time as they are written, so memory stays
//! at one tensor.

use std::borrow::Cow;
use std::path::PathBuf;

use safetensors::{Dtype, View};

const HIDDEN: usize = 2048;
const INTERMEDIATE: usize = 5632;
const VOCAB: usize = 32000;

struct Random {
    shape: Vec<usize>,
    seed: u64,
}

impl View for Random {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        // xorshift64*: fast, and the values only need to look like weights.
        let mut state = self.seed | 1;
        let n: usize = self.shape.iter().product();
        let mut out = Vec::with_capacity(n * 4);
        for _ in 0..n {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let bits = state.wrapping_mul(0x2545F4914F6CDD1D) >> 40;
            let v = (bits as f32 / (1u64 << 24) as f32 - 0.5) * 0.1;
            out.extend_from_slice(&v.to_le_bytes());
        }
        Cow::Owned(out)
    }
    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * 4
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let usage = || std::io::Error::other("usage: make-random-model DIR LAYERS [SEED]");
    let dir = PathBuf::from(args.next().ok_or_else(usage)?);
    let layers: usize = args
        .next()
        .and_then(|s| s.to_str()?.parse().ok())
        .ok_or_else(usage)?;
    let model_seed: u64 = match args.next() {
        Some(s) => s.to_str().and_then(|s| s.parse().ok()).ok_or_else(usage)?,
        None => 0,
    };
    std::fs::create_dir_all(&dir)?;
    let mut tensors: Vec<(String, Vec<usize>)> =
        vec![("model.embed_tokens.weight".into(), vec![VOCAB, HIDDEN])];
    for i in 0..layers {
        let p = format!("model.layers.{i}.");
        tensors.push((format!("{p}input_layernorm.weight"), vec![HIDDEN]));
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"] {
            tensors.push((format!("{p}self_attn.{proj}.weight"), vec![HIDDEN, HIDDEN]));
        }
        tensors.push((format!("{p}post_attention_layernorm.weight"), vec![HIDDEN]));
        tensors.push((
            format!("{p}mlp.gate_proj.weight"),
            vec![INTERMEDIATE, HIDDEN],
        ));
        tensors.push((format!("{p}mlp.up_proj.weight"), vec![INTERMEDIATE, HIDDEN]));
        tensors.push((
            format!("{p}mlp.down_proj.weight"),
            vec![HIDDEN, INTERMEDIATE],
        ));
    }
    tensors.push(("model.norm.weight".into(), vec![HIDDEN]));
    tensors.push(("lm_head.weight".into(), vec![VOCAB, HIDDEN]));
    let views = tensors.into_iter().enumerate().map(|(i, (name, shape))| {
        (
            name,
            Random {
                shape,
                seed: 0x9E3779B97F4A7C15u64.wrapping_mul(i as u64 + 1)
                    ^ model_seed.wrapping_mul(0xD1B54A32D192ED03),
            },
        )
    });
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors"))
        .map_err(std::io::Error::other)?;
    let config = serde_json::json!({
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": VOCAB, "hidden_size": HIDDEN, "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": layers, "num_attention_heads": 16, "num_key_value_heads": 16,
        "rms_norm_eps": 1e-5, "tie_word_embeddings": false, "torch_dtype": "float32",
    });
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string_pretty(&config)?,
    )?;
    println!("{}", dir.display());
    Ok(())
}
