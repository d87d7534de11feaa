//! Tiny random models: llama (tied and untied), BERT (masked LM) and T5.

use std::fs;
use std::io;
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use serde_json::{json, Value};
use tokenizers::Tokenizer;

use crate::tokenizers_train;

/// The fixtures available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixture {
    /// `LlamaForCausalLM`, head tied to the embedding (not stored).
    LlamaTied,
    /// `LlamaForCausalLM` with a separate `lm_head.weight`.
    LlamaUntied,
    /// `BertForMaskedLM` with a WordPiece tokenizer.
    Bert,
    /// `T5ForConditionalGeneration` (untied head) with a Unigram tokenizer.
    T5,
    /// `M2M100ForConditionalGeneration` with NLLB-style language tokens
    /// (`eng_Latn`, `swh_Latn`, `fra_Latn`) added to a byte-level BPE.
    M2m100,
    /// `MarianMTModel`, multi-target (`>>swh<<`, `>>fra<<` tokens).
    Marian,
}

impl Fixture {
    /// The translation (encoder-decoder) fixtures, kept out of [`Fixture::ALL`]
    /// (which the vocabulary and conversion tests walk).
    pub const TRANSLATION: [Fixture; 2] = [Fixture::M2m100, Fixture::Marian];

    /// Every fixture.
    pub const ALL: [Fixture; 4] = [
        Fixture::LlamaTied,
        Fixture::LlamaUntied,
        Fixture::Bert,
        Fixture::T5,
    ];

    /// Folder name used by `write_all`-style callers.
    pub fn name(self) -> &'static str {
        match self {
            Fixture::LlamaTied => "llama-tied",
            Fixture::LlamaUntied => "llama-untied",
            Fixture::Bert => "bert",
            Fixture::T5 => "t5",
            Fixture::M2m100 => "m2m100",
            Fixture::Marian => "marian",
        }
    }
}

/// Deterministic tensor generator: each tensor's values depend only on the
/// fixture and tensor names.
struct Tensors {
    fixture: &'static str,
    items: Vec<(String, Vec<usize>, Vec<u8>)>,
}

fn seed(parts: &[&str]) -> u64 {
    // FNV-1a: a stable hash (std's hasher is not guaranteed stable).
    let mut h = 0xcbf29ce484222325u64;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

impl Tensors {
    fn new(fixture: &'static str) -> Self {
        Tensors {
            fixture,
            items: Vec::new(),
        }
    }

    /// Normal(mean, std) values.
    fn normal(&mut self, name: &str, shape: &[usize], mean: f32, std: f32) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed(&[self.fixture, name]));
        let dist = Normal::new(mean, std).expect("valid normal");
        let n: usize = shape.iter().product();
        let bytes = (0..n)
            .flat_map(|_| dist.sample(&mut rng).to_le_bytes())
            .collect();
        self.items.push((name.to_string(), shape.to_vec(), bytes));
    }

    /// A weight matrix or embedding: N(0, 0.02).
    fn weight(&mut self, name: &str, shape: &[usize]) {
        self.normal(name, shape, 0.0, 0.02);
    }

    /// A norm scale: N(1, 0.1), so that tests see it is applied.
    fn scale(&mut self, name: &str, width: usize) {
        self.normal(name, &[width], 1.0, 0.1);
    }

    /// A bias: N(0, 0.02).
    fn bias(&mut self, name: &str, width: usize) {
        self.normal(name, &[width], 0.0, 0.02);
    }

    fn write(&self, path: &Path) -> io::Result<()> {
        let views: Vec<(String, TensorView<'_>)> = self
            .items
            .iter()
            .map(|(name, shape, bytes)| {
                let view =
                    TensorView::new(Dtype::F32, shape.clone(), bytes).expect("consistent tensor");
                (name.clone(), view)
            })
            .collect();
        let metadata = Some(std::collections::HashMap::from([(
            "format".to_string(),
            "pt".to_string(),
        )]));
        safetensors::serialize_to_file(views, metadata, path).map_err(io::Error::other)
    }
}

fn write_json(path: &Path, value: &Value) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(value).expect("JSON serialises");
    text.push('\n');
    fs::write(path, text)
}

fn save_tokenizer(dir: &Path, tokenizer: &Tokenizer) -> io::Result<()> {
    tokenizer
        .save(dir.join("tokenizer.json"), true)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Writes `fixture` into `dir` (created if missing) in HF layout.
pub fn write_fixture(fixture: Fixture, dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    match fixture {
        Fixture::LlamaTied => llama(dir, true),
        Fixture::LlamaUntied => llama(dir, false),
        Fixture::Bert => bert(dir),
        Fixture::T5 => t5(dir),
        Fixture::M2m100 => translation(dir, Fixture::M2m100),
        Fixture::Marian => translation(dir, Fixture::Marian),
    }
}

/// A BART-family translation model: 2+2 layers, width 32, shared embedding.
fn translation(dir: &Path, fixture: Fixture) -> io::Result<()> {
    let mut tk = tokenizers_train::embedded::byte_level_bpe();
    let m2m = fixture == Fixture::M2m100;
    let languages: &[&str] = if m2m {
        &["eng_Latn", "swh_Latn", "fra_Latn"]
    } else {
        &[">>swh<<", ">>fra<<"]
    };
    let added: Vec<tokenizers::AddedToken> = languages
        .iter()
        .map(|l| tokenizers::AddedToken::from(l.to_string(), true))
        .collect();
    tk.add_special_tokens(added)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let vocab = tk.get_vocab_size(true);
    let (d, ffn, layers, heads, positions) = (32usize, 64usize, 2usize, 4usize, 128usize);
    let mut t = Tensors::new(fixture.name());
    t.weight("model.shared.weight", &[vocab, d]);
    let attention = |t: &mut Tensors, p: &str| {
        for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            t.weight(&format!("{p}.{proj}.weight"), &[d, d]);
            t.bias(&format!("{p}.{proj}.bias"), d);
        }
    };
    let norm = |t: &mut Tensors, p: &str| {
        t.scale(&format!("{p}.weight"), d);
        t.bias(&format!("{p}.bias"), d);
    };
    for side in ["encoder", "decoder"] {
        for i in 0..layers {
            let p = format!("model.{side}.layers.{i}");
            attention(&mut t, &format!("{p}.self_attn"));
            norm(&mut t, &format!("{p}.self_attn_layer_norm"));
            if side == "decoder" {
                attention(&mut t, &format!("{p}.encoder_attn"));
                norm(&mut t, &format!("{p}.encoder_attn_layer_norm"));
            }
            t.weight(&format!("{p}.fc1.weight"), &[ffn, d]);
            t.bias(&format!("{p}.fc1.bias"), ffn);
            t.weight(&format!("{p}.fc2.weight"), &[d, ffn]);
            t.bias(&format!("{p}.fc2.bias"), d);
            norm(&mut t, &format!("{p}.final_layer_norm"));
        }
        if m2m {
            norm(&mut t, &format!("model.{side}.layer_norm"));
        }
    }
    if !m2m {
        t.bias("final_logits_bias", vocab);
        let bias = t.items.pop().expect("just added");
        t.items.push((bias.0, vec![1, vocab], bias.2));
    }
    t.write(&dir.join("model.safetensors"))?;
    let id = |s: &str| tk.token_to_id(s).expect("special token");
    let (pad, eos) = (id("<|endoftext|>"), id("</s>"));
    let common = json!({
        "vocab_size": vocab, "d_model": d, "encoder_layers": layers, "decoder_layers": layers,
        "encoder_attention_heads": heads, "decoder_attention_heads": heads,
        "encoder_ffn_dim": ffn, "decoder_ffn_dim": ffn, "max_position_embeddings": positions,
        "pad_token_id": pad, "eos_token_id": eos, "bos_token_id": id("<s>"), "scale_embedding": true,
        "is_encoder_decoder": true, "torch_dtype": "float32",
    });
    let mut config = common.as_object().expect("object").clone();
    let extra = if m2m {
        json!({"architectures": ["M2M100ForConditionalGeneration"], "model_type": "m2m_100",
               "activation_function": "relu", "decoder_start_token_id": eos})
    } else {
        json!({"architectures": ["MarianMTModel"], "model_type": "marian", "activation_function": "swish",
               "decoder_start_token_id": pad, "share_encoder_decoder_embeddings": true})
    };
    config.extend(extra.as_object().expect("object").clone());
    write_json(&dir.join("config.json"), &Value::Object(config))?;
    let mut generation = json!({"num_beams": 4, "max_length": 32, "early_stopping": m2m,
        "decoder_start_token_id": if m2m { eos } else { pad }, "eos_token_id": eos, "pad_token_id": pad});
    if !m2m {
        generation["bad_words_ids"] = json!([[pad]]);
    }
    write_json(&dir.join("generation_config.json"), &generation)?;
    save_tokenizer(dir, &tk)
}

fn llama(dir: &Path, tied: bool) -> io::Result<()> {
    let tk = tokenizers_train::embedded::byte_level_bpe();
    let vocab = tk.get_vocab_size(true);
    let (hidden, inter, layers, heads, kv_heads) = (64usize, 128usize, 2usize, 4usize, 2usize);
    let head_dim = hidden / heads;
    let name = if tied { "llama-tied" } else { "llama-untied" };
    let mut t = Tensors::new(name);
    t.weight("model.embed_tokens.weight", &[vocab, hidden]);
    for i in 0..layers {
        let p = format!("model.layers.{i}.");
        t.scale(&format!("{p}input_layernorm.weight"), hidden);
        t.weight(
            &format!("{p}self_attn.q_proj.weight"),
            &[heads * head_dim, hidden],
        );
        t.weight(
            &format!("{p}self_attn.k_proj.weight"),
            &[kv_heads * head_dim, hidden],
        );
        t.weight(
            &format!("{p}self_attn.v_proj.weight"),
            &[kv_heads * head_dim, hidden],
        );
        t.weight(
            &format!("{p}self_attn.o_proj.weight"),
            &[hidden, heads * head_dim],
        );
        t.scale(&format!("{p}post_attention_layernorm.weight"), hidden);
        t.weight(&format!("{p}mlp.gate_proj.weight"), &[inter, hidden]);
        t.weight(&format!("{p}mlp.up_proj.weight"), &[inter, hidden]);
        t.weight(&format!("{p}mlp.down_proj.weight"), &[hidden, inter]);
    }
    t.scale("model.norm.weight", hidden);
    if !tied {
        t.weight("lm_head.weight", &[vocab, hidden]);
    }
    t.write(&dir.join("model.safetensors"))?;
    let id = |s: &str| tk.token_to_id(s).expect("special token");
    write_json(
        &dir.join("config.json"),
        &json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": vocab,
            "hidden_size": hidden,
            "intermediate_size": inter,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "num_key_value_heads": kv_heads,
            "head_dim": head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": 256,
            "rms_norm_eps": 1e-6,
            "rope_theta": 10000.0,
            "attention_bias": false,
            "mlp_bias": false,
            "tie_word_embeddings": tied,
            "bos_token_id": id("<s>"),
            "eos_token_id": id("</s>"),
            "torch_dtype": "float32",
        }),
    )?;
    write_json(
        &dir.join("generation_config.json"),
        &json!({"bos_token_id": id("<s>"), "eos_token_id": id("</s>")}),
    )?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<|endoftext|>",
            "model_max_length": 256, "clean_up_tokenization_spaces": false,
        }),
    )?;
    save_tokenizer(dir, &tk)
}

fn bert(dir: &Path) -> io::Result<()> {
    let tk = tokenizers_train::embedded::wordpiece();
    let vocab = tk.get_vocab_size(true);
    let (hidden, inter, layers, heads, positions) = (32usize, 64usize, 2usize, 2usize, 64usize);
    let mut t = Tensors::new("bert");
    t.weight("bert.embeddings.word_embeddings.weight", &[vocab, hidden]);
    t.weight(
        "bert.embeddings.position_embeddings.weight",
        &[positions, hidden],
    );
    t.weight("bert.embeddings.token_type_embeddings.weight", &[2, hidden]);
    t.scale("bert.embeddings.LayerNorm.weight", hidden);
    t.bias("bert.embeddings.LayerNorm.bias", hidden);
    for i in 0..layers {
        let p = format!("bert.encoder.layer.{i}.");
        for proj in ["query", "key", "value"] {
            t.weight(
                &format!("{p}attention.self.{proj}.weight"),
                &[hidden, hidden],
            );
            t.bias(&format!("{p}attention.self.{proj}.bias"), hidden);
        }
        t.weight(
            &format!("{p}attention.output.dense.weight"),
            &[hidden, hidden],
        );
        t.bias(&format!("{p}attention.output.dense.bias"), hidden);
        t.scale(&format!("{p}attention.output.LayerNorm.weight"), hidden);
        t.bias(&format!("{p}attention.output.LayerNorm.bias"), hidden);
        t.weight(&format!("{p}intermediate.dense.weight"), &[inter, hidden]);
        t.bias(&format!("{p}intermediate.dense.bias"), inter);
        t.weight(&format!("{p}output.dense.weight"), &[hidden, inter]);
        t.bias(&format!("{p}output.dense.bias"), hidden);
        t.scale(&format!("{p}output.LayerNorm.weight"), hidden);
        t.bias(&format!("{p}output.LayerNorm.bias"), hidden);
    }
    t.weight("cls.predictions.transform.dense.weight", &[hidden, hidden]);
    t.bias("cls.predictions.transform.dense.bias", hidden);
    t.scale("cls.predictions.transform.LayerNorm.weight", hidden);
    t.bias("cls.predictions.transform.LayerNorm.bias", hidden);
    t.bias("cls.predictions.bias", vocab);
    t.write(&dir.join("model.safetensors"))?;
    write_json(
        &dir.join("config.json"),
        &json!({
            "architectures": ["BertForMaskedLM"],
            "model_type": "bert",
            "vocab_size": vocab,
            "hidden_size": hidden,
            "intermediate_size": inter,
            "num_hidden_layers": layers,
            "num_attention_heads": heads,
            "max_position_embeddings": positions,
            "type_vocab_size": 2,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
            "layer_norm_eps": 1e-12,
            "initializer_range": 0.02,
            "pad_token_id": tk.token_to_id("[PAD]").expect("special token"),
            "tie_word_embeddings": true,
            "torch_dtype": "float32",
        }),
    )?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
            "unk_token": "[UNK]", "mask_token": "[MASK]", "model_max_length": positions,
        }),
    )?;
    write_json(
        &dir.join("special_tokens_map.json"),
        &json!({"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                "unk_token": "[UNK]", "mask_token": "[MASK]"}),
    )?;
    save_tokenizer(dir, &tk)
}

fn t5(dir: &Path) -> io::Result<()> {
    let tk = tokenizers_train::embedded::unigram();
    let vocab = tk.get_vocab_size(true);
    let (d_model, d_kv, heads, d_ff, layers, buckets) =
        (32usize, 8usize, 4usize, 64usize, 2usize, 8usize);
    let inner = heads * d_kv;
    let mut t = Tensors::new("t5");
    t.weight("shared.weight", &[vocab, d_model]);
    for stack in ["encoder", "decoder"] {
        for i in 0..layers {
            let p = format!("{stack}.block.{i}.layer.");
            for proj in ["q", "k", "v"] {
                t.weight(
                    &format!("{p}0.SelfAttention.{proj}.weight"),
                    &[inner, d_model],
                );
            }
            t.weight(&format!("{p}0.SelfAttention.o.weight"), &[d_model, inner]);
            if i == 0 {
                t.weight(
                    &format!("{p}0.SelfAttention.relative_attention_bias.weight"),
                    &[buckets, heads],
                );
            }
            t.scale(&format!("{p}0.layer_norm.weight"), d_model);
            let ff = if stack == "decoder" {
                for proj in ["q", "k", "v"] {
                    t.weight(
                        &format!("{p}1.EncDecAttention.{proj}.weight"),
                        &[inner, d_model],
                    );
                }
                t.weight(&format!("{p}1.EncDecAttention.o.weight"), &[d_model, inner]);
                t.scale(&format!("{p}1.layer_norm.weight"), d_model);
                2
            } else {
                1
            };
            t.weight(
                &format!("{p}{ff}.DenseReluDense.wi.weight"),
                &[d_ff, d_model],
            );
            t.weight(
                &format!("{p}{ff}.DenseReluDense.wo.weight"),
                &[d_model, d_ff],
            );
            t.scale(&format!("{p}{ff}.layer_norm.weight"), d_model);
        }
        t.scale(&format!("{stack}.final_layer_norm.weight"), d_model);
    }
    t.weight("lm_head.weight", &[vocab, d_model]);
    t.write(&dir.join("model.safetensors"))?;
    let id = |s: &str| tk.token_to_id(s).expect("special token");
    write_json(
        &dir.join("config.json"),
        &json!({
            "architectures": ["T5ForConditionalGeneration"],
            "model_type": "t5",
            "vocab_size": vocab,
            "d_model": d_model,
            "d_kv": d_kv,
            "d_ff": d_ff,
            "num_layers": layers,
            "num_decoder_layers": layers,
            "num_heads": heads,
            "relative_attention_num_buckets": buckets,
            "relative_attention_max_distance": 16,
            "dropout_rate": 0.0,
            "layer_norm_epsilon": 1e-6,
            "feed_forward_proj": "relu",
            "is_encoder_decoder": true,
            "tie_word_embeddings": false,
            "pad_token_id": id("<pad>"),
            "eos_token_id": id("</s>"),
            "decoder_start_token_id": id("<pad>"),
            "torch_dtype": "float32",
        }),
    )?;
    write_json(
        &dir.join("tokenizer_config.json"),
        &json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>",
            "model_max_length": 512,
        }),
    )?;
    save_tokenizer(dir, &tk)
}
