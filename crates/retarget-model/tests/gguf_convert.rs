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
