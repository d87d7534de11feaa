//! `inspect`, `convert` and `merge` end to end: output formats, exit codes,
//! and that bad input writes nothing.

mod common;

use common::{assert_each_exits_2, assert_nothing_written, retarget, s};
use retarget_fixtures::broken::{folder_with_weights, gguf_with_type, BROKEN_SAFETENSORS};
use retarget_fixtures::{write_fixture, Fixture};

#[test]
fn inspect_prints_a_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let out = retarget(&["inspect", s(&model)]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("llama-like decoder") && text.contains("checks: ok"),
        "{text}"
    );
    let out = retarget(&["inspect", s(&model), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["format"], "hf-folder");
    assert_eq!(json["tied_embeddings"], true);
    assert!(json["parameters"].as_u64().unwrap() > 0);
}

#[test]
fn convert_then_inspect_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("t5");
    write_fixture(Fixture::T5, &model).unwrap();
    let out_dir = dir.path().join("t5-bf16");
    let out = retarget(&[
        "convert",
        s(&model),
        s(&out_dir),
        "--dtype",
        "bf16",
        "--max-shard-size",
        "20kB",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&retarget(&["inspect", s(&out_dir), "--json"]).stdout).unwrap();
    assert!(json["dtypes"]["BF16"]["tensors"].as_u64().unwrap() > 0);
    assert!(json["files"].as_array().unwrap().len() > 1);
}

#[test]
fn bad_safetensors_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for case in BROKEN_SAFETENSORS {
        let model = dir.path().join(case.name.replace(' ', "_"));
        folder_with_weights(&model, &(case.bytes)()).unwrap();
        let out_dir = dir.path().join("out");
        let out = retarget(&["convert", s(&model), s(&out_dir)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", case.name);
        assert!(
            stderr.contains("model.safetensors") && stderr.contains(case.expect),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one clear error: {stderr}");
        assert_nothing_written(dir.path(), &out_dir);
        assert_eq!(retarget(&["inspect", s(&model)]).status.code(), Some(2));
    }
}

#[test]
fn unsupported_gguf_and_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("iq2.gguf");
    std::fs::write(&gguf, gguf_with_type(16)).unwrap();
    let out_dir = dir.path().join("out");
    let out = retarget(&["convert", s(&gguf), s(&out_dir)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("IQ2_XXS"));
    assert_nothing_written(dir.path(), &out_dir);

    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let into_input = model.join("converted");
    let out = retarget(&["convert", s(&model), s(&into_input)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("overlaps the input"));
    assert!(!into_input.exists());

    for args in [
        vec!["convert", s(&model), s(&out_dir), "--dtype", "int3"],
        vec![
            "convert",
            s(&model),
            s(&out_dir),
            "--max-shard-size",
            "lots",
        ],
        vec!["inspect", "/nonexistent/model"],
    ] {
        let out = retarget(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_nothing_written(dir.path(), &out_dir);
    }
}

#[test]
fn merge_writes_a_model_and_refuses_bad_configurations() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaUntied, &model).unwrap();
    let config = dir.path().join("merge.yml");
    std::fs::write(
        &config,
        format!(
            "merge_method: passthrough\nmodels:\n  - {{model: {m}, parameters: {{scale: 0.5}}}}\ndtype: bfloat16\n",
            m = s(&model)
        ),
    )
    .unwrap();
    let out = dir.path().join("merged");
    let result = retarget(&["merge", s(&config), s(&out), "--max-shard-size", "100KB"]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(stdout.contains("model-00001-of-"), "{stdout}");
    let inspected = retarget(&["inspect", s(&out), "--json"]);
    assert!(inspected.status.success());
    let config_json = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert!(config_json.contains("\"bfloat16\""), "{config_json}");

    let bad = dir.path().join("bad.yml");
    let again = dir.path().join("again");
    let cases = [
        (
            "merge_method: linear\nmodels: [{model: nowhere, parameters: {weight: 1}}]\n",
            "no such folder or file",
        ),
        (
            "merge_method: averaging\nmodels: [{model: x}]\n",
            "unknown merge method",
        ),
        ("models: [\n", "not valid YAML"),
    ];
    for (yaml, message) in cases {
        std::fs::write(&bad, yaml).unwrap();
        assert_each_exits_2(&["merge", s(&bad), s(&again)], vec![(vec![], message)]);
        assert_nothing_written(dir.path(), &again);
    }
    // An existing output is never overwritten.
    assert_each_exits_2(
        &["merge", s(&config), s(&out)],
        vec![(vec![], "already exists")],
    );
}
