//! Quantized GGUF inference against the same model read as an HF folder.

mod common;

use candle_core::quantized::GgmlDType;
use candle_core::Tensor;
use retarget_fixtures::gguf::llama_gguf;
use retarget_fixtures::{write_fixture, Fixture};
use retarget_infer::{Device, LanguageModel};

const TEXT: &str = "watu wote wamezaliwa huru the cat sat on the mat";

fn logits(model: &LanguageModel) -> Tensor {
    model.line_logits(TEXT).unwrap().1
}

#[test]
fn gguf_blocks_give_the_hf_models_logits() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("llama");
    write_fixture(Fixture::LlamaUntied, &fixture).unwrap();
    let reference = LanguageModel::open(&fixture, &Device::Cpu).unwrap();
    let expected = logits(&reference);
    // F32 blocks: the same arithmetic, with llama.cpp's permuted q/k rows and
    // rotary positions on adjacent pairs.
    let exact = dir.path().join("f32.gguf");
    llama_gguf(&fixture, &exact, GgmlDType::F32).unwrap();
    let model = LanguageModel::open_gguf_quantized(&exact, &Device::Cpu).unwrap();
    assert_eq!(model.encode(TEXT).unwrap(), reference.encode(TEXT).unwrap());
    let diff = common::max_abs_diff(&logits(&model), &expected);
    assert!(diff < 1e-5, "f32 GGUF: {diff}");
    // Q8_0 blocks: close, and the same most likely next tokens.
    let q8 = dir.path().join("q8.gguf");
    llama_gguf(&fixture, &q8, GgmlDType::Q8_0).unwrap();
    let got = logits(&LanguageModel::open_gguf_quantized(&q8, &Device::Cpu).unwrap());
    let scale = common::max_abs_diff(&expected, &expected.zeros_like().unwrap());
    let diff = common::max_abs_diff(&got, &expected);
    assert!(diff > 0.0 && diff < 0.05 * scale, "Q8_0: {diff} of {scale}");
    assert_eq!(
        got.argmax(1).unwrap().to_vec1::<u32>().unwrap(),
        expected.argmax(1).unwrap().to_vec1::<u32>().unwrap()
    );
}

#[test]
fn quantized_inference_needs_a_gguf_file() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(Fixture::LlamaTied, dir.path()).unwrap();
    let err = LanguageModel::open_gguf_quantized(dir.path(), &Device::Cpu)
        .err()
        .unwrap();
    assert!(err.to_string().contains("GGUF"), "{err}");
    assert!(err.is_bad_input());
}

#[test]
fn gguf_blocks_generate_what_the_hf_model_generates() {
    use retarget_infer::generate::GenerationOptions;
    use retarget_infer::sampling::Sampling;
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &fixture).unwrap();
    let gguf = dir.path().join("f32.gguf");
    llama_gguf(&fixture, &gguf, GgmlDType::F32).unwrap();
    let options = GenerationOptions {
        max_new_tokens: 16,
        sampling: Sampling::greedy(),
        ignore_eos: true,
        chat: false,
    };
    let run = |model: &LanguageModel| model.generate("the cat", options, &mut |_| {}).unwrap().ids;
    let hf = run(&LanguageModel::open(&fixture, &Device::Cpu).unwrap());
    let quantized = run(&LanguageModel::open_gguf_quantized(&gguf, &Device::Cpu).unwrap());
    assert_eq!(hf, quantized);
}

/// A Gemma 3 GGUF (q/k norms, norms around each block, sliding-window and
/// global rotary bases, norms stored as `1 + w`): its blocks give the
/// logits of the folder `convert` makes of it, and the GGUF opened directly
/// (converted on the way) gives them exactly.
#[test]
fn gemma3_gguf_blocks_give_the_converted_folders_logits() {
    use retarget_fixtures::gguf::{gemma3_gguf, Gemma3Flaw};
    use retarget_model::convert::{convert, ConvertOptions};
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("gemma3.gguf");
    gemma3_gguf(&gguf, Gemma3Flaw::None).unwrap();
    let folder = dir.path().join("hf");
    convert(&gguf, &folder, &ConvertOptions::default(), &|total| {
        retarget_model::progress::bytes_bar(total, "converting")
    })
    .unwrap();
    let text = " the cat sat kwa ka é the cat sat";
    let reference = LanguageModel::open(&folder, &Device::Cpu).unwrap();
    assert_eq!(reference.decoder.config().model_type, "gemma3_text");
    let expected = reference.line_logits(text).unwrap().1;
    let direct = LanguageModel::open(&gguf, &Device::Cpu).unwrap();
    assert_eq!(
        common::max_abs_diff(&direct.line_logits(text).unwrap().1, &expected),
        0.0
    );
    let quantized = LanguageModel::open_gguf_quantized(&gguf, &Device::Cpu).unwrap();
    assert_eq!(
        quantized.encode(text).unwrap(),
        reference.encode(text).unwrap()
    );
    let diff = common::max_abs_diff(&quantized.line_logits(text).unwrap().1, &expected);
    assert!(diff < 1e-5, "f32 gemma3 GGUF: {diff}");
}
