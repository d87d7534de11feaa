//! GGUF reading and GGUF → HF conversion, on GGUF files built here with
//! candle's GGUF writer from the llama fixture.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use retarget_fixtures::gguf::llama_gguf;
use retarget_fixtures::{write_fixture, Fixture};
use retarget_model::convert::{convert, ConvertOptions};
use retarget_model::dtype::FloatType;
use retarget_model::gguf::GgufFile;
use retarget_model::weights::Weights;
use serde_json::Value as Json;

fn hidden(_: u64) -> indicatif::ProgressBar {
    indicatif::ProgressBar::hidden()
}

fn f32_tensor(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(values, shape, &Device::Cpu).unwrap()
}

fn write_gguf(path: &Path, metadata: &[(&str, Value)], tensors: &[(String, QTensor)]) {
    let mut file = std::fs::File::create(path).unwrap();
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &md, &ts).unwrap();
}

#[test]
fn dequantizes_every_required_type_within_its_error_bound() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f32> = (0..4 * 256)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let source = f32_tensor(&values, &[4, 256]);
    // Worst-case absolute error each type may make on values in [-2, 2].
    let types = [
        (GgmlDType::F32, 0.0),
        (GgmlDType::F16, 1e-3),
        (GgmlDType::BF16, 1e-2),
        (GgmlDType::Q8_0, 0.02),
        (GgmlDType::Q4_0, 0.3),
        (GgmlDType::Q4_1, 0.3),
        (GgmlDType::Q4K, 0.3),
        (GgmlDType::Q6K, 0.1),
    ];
    let tensors: Vec<(String, QTensor)> = types
        .iter()
        .map(|(t, _)| (format!("{t:?}"), QTensor::quantize(&source, *t).unwrap()))
        .collect();
    let path = dir.path().join("types.gguf");
    write_gguf(
        &path,
        &[("general.architecture", Value::String("test".into()))],
        &tensors,
    );
    let file = GgufFile::open(&path).unwrap();
    assert_eq!(file.tensors().len(), types.len());
    for (dtype, bound) in types {
        let t = file.tensor(&format!("{dtype:?}")).unwrap();
        assert_eq!(t.shape, vec![4, 256]);
        let got = file.dequantize(t).unwrap();
        let worst = got
            .iter()
            .zip(&values)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst <= bound, "{dtype:?}: max error {worst} > {bound}");
        if bound > 0.0 {
            assert!(worst > 0.0, "{dtype:?} should be lossy on these values");
        }
    }
}

#[test]
fn llama_gguf_converts_back_to_the_original_hf_weights_and_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("llama");
    write_fixture(Fixture::LlamaUntied, &fixture).unwrap();
    let gguf = dir.path().join("llama.gguf");
    llama_gguf(&fixture, &gguf, GgmlDType::F32).unwrap();

    let out = dir.path().join("converted");
    let summary = convert(&gguf, &out, &ConvertOptions::default(), &hidden).unwrap();
    assert_eq!(summary.files, vec!["model.safetensors"]);

    let original = Weights::open_dir(&fixture).unwrap();
    let converted = Weights::open_dir(&out).unwrap();
    assert_eq!(original.len(), converted.len());
    for t in original.iter() {
        let c = converted
            .get(&t.entry.name)
            .unwrap_or_else(|| panic!("missing {}", t.entry.name));
        assert_eq!(c.entry.shape, t.entry.shape, "{}", t.entry.name);
        assert!(
            c.data() == t.data(),
            "{} differs after GGUF round trip",
            t.entry.name
        );
    }

    let config: Json =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    let orig: Json =
        serde_json::from_slice(&std::fs::read(fixture.join("config.json")).unwrap()).unwrap();
    for key in [
        "model_type",
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "num_key_value_heads",
        "head_dim",
        "tie_word_embeddings",
        "bos_token_id",
        "eos_token_id",
        "rms_norm_eps",
        "rope_theta",
    ] {
        assert_eq!(config[key], orig[key], "config key {key}");
    }

    let ours = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
    let theirs = tokenizers::Tokenizer::from_file(fixture.join("tokenizer.json")).unwrap();
    for text in retarget_fixtures::corpus::lines() {
        let a = ours.encode(text, false).unwrap();
        let b = theirs.encode(text, false).unwrap();
        assert_eq!(a.get_ids(), b.get_ids(), "{text}");
    }
    let tc: Json =
        serde_json::from_slice(&std::fs::read(out.join("tokenizer_config.json")).unwrap()).unwrap();
    assert_eq!(tc["eos_token"], "</s>");
}

#[test]
fn gguf_to_hf_in_bf16_records_the_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &fixture).unwrap();
    let gguf = dir.path().join("llama.gguf");
    llama_gguf(&fixture, &gguf, GgmlDType::F32).unwrap();
    let out = dir.path().join("bf16");
    let options = ConvertOptions {
        dtype: Some(FloatType::BF16),
        ..ConvertOptions::default()
    };
    convert(&gguf, &out, &options, &hidden).unwrap();
    let converted = Weights::open_dir(&out).unwrap();
    assert!(converted
        .iter()
        .all(|t| t.entry.dtype == safetensors::Dtype::BF16));
    assert!(
        !converted.contains("lm_head.weight"),
        "tied head is not stored"
    );
    let config: HashMap<String, Json> =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["torch_dtype"], "bfloat16");
    assert_eq!(config["tie_word_embeddings"], true);
}

/// A Gemma 3 GGUF becomes a `Gemma3ForCausalLM` folder: norms back from
/// `1 + w`, the layer pattern and rotary bases spelled out, and a
/// byte-fallback BPE tokenizer whose merges follow the file's piece order.
#[test]
fn gemma3_gguf_converts_to_a_gemma3_text_folder() {
    use retarget_fixtures::gguf::{gemma3_gguf, Gemma3Flaw};
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("gemma3.gguf");
    gemma3_gguf(&gguf, Gemma3Flaw::None).unwrap();
    let out = dir.path().join("hf");
    convert(&gguf, &out, &ConvertOptions::default(), &hidden).unwrap();
    let config: Json =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["architectures"][0], "Gemma3ForCausalLM");
    assert_eq!(config["model_type"], "gemma3_text");
    assert_eq!(config["head_dim"], 8);
    assert_eq!(config["sliding_window"], 4);
    assert_eq!(
        config["layer_types"],
        serde_json::json!(["sliding_attention", "sliding_attention"])
    );
    assert_eq!(
        config["rope_parameters"]["sliding_attention"]["rope_theta"],
        10000.0
    );
    assert_eq!(
        config["rope_parameters"]["full_attention"]["rope_theta"],
        1000000.0
    );
    let weights = Weights::open_dir(&out).unwrap();
    for name in [
        "model.norm.weight",
        "model.layers.1.self_attn.q_norm.weight",
        "model.layers.0.pre_feedforward_layernorm.weight",
        "model.layers.0.post_feedforward_layernorm.weight",
    ] {
        let t = weights.get(name).unwrap_or_else(|| panic!("{name}"));
        let values: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert!(
            values.iter().all(|&v| v == 0.5),
            "{name}: 1.5 stored, 0.5 meant"
        );
    }
    let tokenizer = tokenizers::Tokenizer::from_file(out.join("tokenizer.json")).unwrap();
    let tokens =
        |text: &str| -> Vec<String> { tokenizer.encode(text, true).unwrap().get_tokens().to_vec() };
    // Spaces become ▁ (no prefix), pieces merge in file order, a character
    // the vocabulary lacks falls back to its bytes, runs of spaces are ▁▁.
    assert_eq!(tokens("the cat"), ["<bos>", "t", "he", "▁cat"]);
    assert_eq!(tokens(" the cat sat"), ["<bos>", "▁the", "▁cat", "▁sat"]);
    assert_eq!(tokens("é"), ["<bos>", "<0xC3>", "<0xA9>"]);
    assert_eq!(tokens("a  a"), ["<bos>", "a", "▁▁", "a"]);
    assert_eq!(
        tokenizer
            .decode(
                tokenizer.encode(" the cat é", true).unwrap().get_ids(),
                true
            )
            .unwrap(),
        " the cat é"
    );
}

/// Tokenizer metadata that contradicts itself or the weights: one message
/// naming the file, nothing written.
#[test]
fn gemma3_gguf_with_inconsistent_tokenizer_metadata_is_refused() {
    use retarget_fixtures::gguf::{gemma3_gguf, Gemma3Flaw};
    let dir = tempfile::tempdir().unwrap();
    for (flaw, message) in [
        (Gemma3Flaw::NoScores, "tokenizer.ggml.scores"),
        (Gemma3Flaw::ShortTokenTypes, "token types for"),
        (Gemma3Flaw::ExtraToken, "vocabulary mismatch"),
    ] {
        let gguf = dir.path().join(format!("{flaw:?}.gguf"));
        gemma3_gguf(&gguf, flaw).unwrap();
        let out = dir.path().join(format!("{flaw:?}"));
        let err = convert(&gguf, &out, &ConvertOptions::default(), &hidden).unwrap_err();
        let text = err.to_string();
        assert!(
            err.is_bad_input()
                && text.contains(&format!("{flaw:?}.gguf"))
                && text.contains(message),
            "{flaw:?}: {text}"
        );
        assert!(!out.exists(), "{flaw:?}");
    }
}
