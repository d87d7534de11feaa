//! A GGUF file as a Hugging Face folder: which HF tensor each GGUF tensor
//! becomes (and how: llama.cpp's q/k row interleaving undone, gemma's norm
//! weights stored as `1 + w` turned back into `w`), and the `config.json`
//! that `transformers` reads, per architecture: [`llama`] (`LlamaForCausalLM`)
//! and [`gemma3`] (`Gemma3ForCausalLM`).

pub mod gemma3;
pub mod llama;

use serde_json::{Map, Value as Json};

use crate::error::{ModelError, Result};
use crate::gguf::{GgufFile, GgufTensor};

pub use llama::unpermute_rows;

/// GGUF `general.architecture` values that convert.
pub const SUPPORTED: &[&str] = &["llama", "gemma3"];

/// How a GGUF tensor becomes an HF tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorMapping {
    /// GGUF name.
    pub gguf_name: String,
    /// HF name.
    pub hf_name: String,
    /// Rows must be de-interleaved for rotary embeddings, with this many heads.
    pub unpermute_heads: Option<usize>,
    /// A gemma norm weight: GGUF stores `1 + w`, HF `w` (1 is subtracted, in
    /// f32, as `transformers` does when it loads the GGUF).
    pub minus_one: bool,
}

/// What a GGUF file becomes: its tensors' HF names, in HF order, and
/// `config.json`.
#[derive(Debug, Clone)]
pub struct GgufLayout {
    /// Every tensor converted, in the order written.
    pub mapping: Vec<TensorMapping>,
    /// `config.json`.
    pub config: Map<String, Json>,
}

/// Refuses an architecture without a layout, naming those that have one.
pub fn check_architecture(file: &GgufFile) -> Result<()> {
    let arch = file.architecture().unwrap_or("");
    if SUPPORTED.contains(&arch) {
        return Ok(());
    }
    Err(ModelError::unsupported(
        file.path(),
        format!(
            "converting GGUF architecture `{arch}` to a Hugging Face folder; supported: {}",
            SUPPORTED.join(", ")
        ),
    ))
}

/// The layout of `file`, whose tokenizer has `vocab_size` tokens, written
/// as `dtype_name` (`float32`, …); see [`check_architecture`].
pub fn layout(file: &GgufFile, vocab_size: usize, dtype_name: &str) -> Result<GgufLayout> {
    check_architecture(file)?;
    match file.architecture().unwrap_or("") {
        "llama" => {
            let params = llama::llama_params(file)?;
            Ok(GgufLayout {
                mapping: llama::llama_tensor_map(file, &params)?,
                config: llama::llama_config(file, vocab_size, dtype_name)?,
            })
        }
        "gemma3" => Ok(GgufLayout {
            mapping: gemma3::tensor_map(file)?,
            config: gemma3::config(file, vocab_size, dtype_name)?,
        }),
        arch => Err(ModelError::Internal(format!("no layout for `{arch}`"))),
    }
}

/// A metadata number the conversion cannot do without.
pub(crate) fn required(file: &GgufFile, key: &str) -> Result<u64> {
    file.meta_u64(key)
        .ok_or_else(|| ModelError::invalid(file.path(), format!("GGUF metadata lacks `{key}`")))
}

pub(crate) fn mapping(
    t: &GgufTensor,
    hf: &str,
    unpermute_heads: Option<usize>,
    minus_one: bool,
) -> TensorMapping {
    TensorMapping {
        gguf_name: t.name.clone(),
        hf_name: hf.to_string(),
        unpermute_heads,
        minus_one,
    }
}

pub(crate) fn unknown(file: &GgufFile, name: &str, arch: &str) -> ModelError {
    ModelError::unsupported(
        file.path(),
        format!("GGUF tensor `{name}` has no Hugging Face {arch} counterpart"),
    )
}

/// `blk.N.SUFFIX` → (N, SUFFIX); another name is not a layer tensor of
/// `arch`.
pub(crate) fn layer_tensor<'n>(
    file: &GgufFile,
    name: &'n str,
    arch: &str,
) -> Result<(usize, &'n str)> {
    name.strip_prefix("blk.")
        .and_then(|r| r.split_once('.'))
        .and_then(|(n, s)| Some((n.parse::<usize>().ok()?, s)))
        .ok_or_else(|| unknown(file, name, arch))
}

/// Refuses rotary scaling, which the conversion does not carry over.
pub(crate) fn refuse_rope_scaling(file: &GgufFile, arch: &str) -> Result<()> {
    match file.meta_str(&format!("{arch}.rope.scaling.type")) {
        Some(kind) if kind != "none" => Err(ModelError::unsupported(
            file.path(),
            format!("converting GGUF rope scaling `{kind}`"),
        )),
        _ => Ok(()),
    }
}

/// The start of every `config.json`: the class and `model_type`, then the
/// vocabulary, widths, layers and heads from `ARCH.*` metadata.
pub(crate) fn shape_config(
    file: &GgufFile,
    arch: &str,
    class: &str,
    model_type: &str,
    vocab_size: usize,
) -> Result<Map<String, Json>> {
    let p = |k: &str| format!("{arch}.{k}");
    let heads = required(file, &p("attention.head_count"))?;
    let mut c = Map::new();
    c.insert("architectures".into(), Json::from(vec![class]));
    c.insert("model_type".into(), Json::from(model_type));
    c.insert("vocab_size".into(), Json::from(vocab_size));
    for (key, name) in [
        ("embedding_length", "hidden_size"),
        ("feed_forward_length", "intermediate_size"),
        ("block_count", "num_hidden_layers"),
    ] {
        c.insert(name.into(), Json::from(required(file, &p(key))?));
    }
    c.insert("num_attention_heads".into(), Json::from(heads));
    c.insert(
        "num_key_value_heads".into(),
        Json::from(
            file.meta_u64(&p("attention.head_count_kv"))
                .unwrap_or(heads),
        ),
    );
    Ok(c)
}

/// `max_position_embeddings` and `rms_norm_eps` from `ARCH.context_length`
/// and `ARCH.attention.layer_norm_rms_epsilon`.
pub(crate) fn insert_context_and_eps(c: &mut Map<String, Json>, file: &GgufFile, arch: &str) {
    if let Some(ctx) = file.meta_u64(&format!("{arch}.context_length")) {
        c.insert("max_position_embeddings".into(), Json::from(ctx));
    }
    let eps = file
        .meta_f64(&format!("{arch}.attention.layer_norm_rms_epsilon"))
        .unwrap_or(1e-6);
    c.insert("rms_norm_eps".into(), Json::from(shortest_f32(eps)));
}

/// `tie_word_embeddings` (no `output.weight`), the BOS/EOS/PAD ids the
/// tokenizer metadata names, and the dtype written.
pub(crate) fn insert_tying_ids_and_dtype(
    c: &mut Map<String, Json>,
    file: &GgufFile,
    dtype_name: &str,
) {
    c.insert(
        "tie_word_embeddings".into(),
        Json::from(file.tensor("output.weight").is_none()),
    );
    for (key, name) in [
        ("tokenizer.ggml.bos_token_id", "bos_token_id"),
        ("tokenizer.ggml.eos_token_id", "eos_token_id"),
        ("tokenizer.ggml.padding_token_id", "pad_token_id"),
    ] {
        if let Some(id) = file.meta_u64(key) {
            c.insert(name.into(), Json::from(id));
        }
    }
    c.insert("torch_dtype".into(), Json::from(dtype_name));
}

/// The shortest decimal that rounds to the same `f32`, as an `f64`: GGUF
/// stores epsilons and bases as f32, the original config printed 1e-05, not
/// 9.999999747378752e-06.
pub(crate) fn shortest_f32(v: f64) -> f64 {
    let s = format!("{}", v as f32);
    s.parse().unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_f32_prints_like_the_original_config() {
        assert_eq!(shortest_f32(9.999999747378752e-06), 1e-5);
        assert_eq!(shortest_f32(100000.0), 100000.0);
    }
}
