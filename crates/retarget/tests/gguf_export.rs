//! `retarget convert --to gguf` end to end: an f32 export round-trips to the
//! same model, quantized exports score close to it, `inspect` reads them,
//! and bad input writes nothing.

mod common;

use std::path::Path;

use common::{assert_each_exits_2, assert_nothing_written, retarget_ok, s};
use retarget_fixtures::{write_fixture, Fixture};

/// `retarget score`'s total NLL of `text` under `model`.
fn total_nll(model: &Path, text: &Path) -> f64 {
    let out = retarget_ok(&["score", "--model", s(model), "-i", s(text), "--json"]);
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    summary["total_nll"].as_f64().unwrap()
}

#[test]
fn exports_round_trip_and_quantized_ones_stay_close() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("text.txt");
    std::fs::write(&text, "the cat sat on the mat\nhabari ya asubuhi\n").unwrap();
    for fixture in [Fixture::LlamaTied, Fixture::LlamaUntied] {
        let model = dir.path().join(format!("{fixture:?}"));
        write_fixture(fixture, &model).unwrap();
        let plain = total_nll(&model, &text);
        let f32_gguf = dir.path().join(format!("{fixture:?}-f32.gguf"));
        let printed = retarget_ok(&[
            "convert",
            s(&model),
            s(&f32_gguf),
            "--to",
            "gguf",
            "--quant",
            "f32",
        ]);
        assert!(printed.contains("architecture llama"), "{printed}");
        let inspected = retarget_ok(&["inspect", s(&f32_gguf)]);
        assert!(inspected.contains("checks: ok"), "{inspected}");
        // Back to an HF folder: the same network and tokenizer, so the same
        // scores to the last bit (queries and keys are interleaved for
        // llama.cpp on the way out and restored on the way back).
        let back = dir.path().join(format!("{fixture:?}-back"));
        retarget_ok(&["convert", s(&f32_gguf), s(&back)]);
        assert_eq!(total_nll(&back, &text), plain, "{fixture:?}");
        let q8 = dir.path().join(format!("{fixture:?}-q8_0.gguf"));
        retarget_ok(&[
            "convert",
            s(&model),
            s(&q8),
            "--to",
            "gguf",
            "--quant",
            "q8_0",
        ]);
        let quantized = total_nll(&q8, &text);
        assert_ne!(quantized, plain);
        assert!(
            (quantized - plain).abs() < 0.02 * plain.abs(),
            "{quantized} vs {plain}"
        );
        assert!(
            std::fs::metadata(&q8).unwrap().len() < std::fs::metadata(&f32_gguf).unwrap().len() / 2
        );
    }
}

#[test]
fn bad_exports_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let llama = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &llama).unwrap();
    let t5 = dir.path().join("t5");
    write_fixture(Fixture::T5, &t5).unwrap();
    let out = dir.path().join("out.gguf");
    assert_each_exits_2(
        &["convert"],
        vec![
            (
                vec![s(&t5), s(&out), "--to", "gguf"],
                "retarget exports llama, mistral, qwen2, qwen3",
            ),
            (
                vec![s(&llama), s(&out), "--to", "gguf", "--quant", "q9_9"],
                "expected one of f32",
            ),
            (
                vec![
                    s(&llama),
                    s(&out),
                    "--to",
                    "gguf",
                    "--keep-f32",
                    "blk.[.weight",
                ],
                "not a name pattern",
            ),
            (
                vec![s(&llama), s(&out), "--quant", "q8_0"],
                "go with --to gguf",
            ),
            (
                vec![s(&llama), s(&out), "--to", "gguf", "--dtype", "f16"],
                "give --quant",
            ),
        ],
    );
    assert_nothing_written(dir.path(), &out);
    // A tokenizer llama.cpp has no pre-tokenizer name for.
    let odd = dir.path().join("odd");
    write_fixture(Fixture::LlamaTied, &odd).unwrap();
    let tokenizer = odd.join("tokenizer.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tokenizer).unwrap()).unwrap();
    json["pre_tokenizer"] = serde_json::json!({"type": "Whitespace"});
    std::fs::write(&tokenizer, serde_json::to_vec(&json).unwrap()).unwrap();
    assert_each_exits_2(
        &["convert", s(&odd), s(&out), "--to", "gguf"],
        vec![(vec![], "a pre-tokenizer llama.cpp has no name for")],
    );
    assert_nothing_written(dir.path(), &out);
    // An existing output is kept unless --force.
    std::fs::write(&out, b"keep me").unwrap();
    assert_each_exits_2(
        &["convert", s(&llama), s(&out), "--to", "gguf"],
        vec![(vec![], "already exists")],
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    retarget_ok(&["convert", s(&llama), s(&out), "--to", "gguf", "--force"]);
    assert_eq!(&std::fs::read(&out).unwrap()[..4], b"GGUF");
}
