//! HF → HF conversion on the fixtures: byte identity, resharding, dtype
//! changes, verbatim small files, file modes and the atomic-output rules.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use retarget_fixtures::{write_fixture, Fixture};
use retarget_model::convert::{convert, ConvertOptions};
use retarget_model::dtype::{to_f32, FloatType};
use retarget_model::inspect::inspect;
use retarget_model::weights::Weights;
use retarget_model::ModelError;

fn hidden(_: u64) -> indicatif::ProgressBar {
    indicatif::ProgressBar::hidden()
}

fn fixture(kind: Fixture) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(kind.name());
    write_fixture(kind, &path).unwrap();
    (dir, path)
}

fn assert_same_tensors(a: &Path, b: &Path) {
    let (wa, wb) = (Weights::open_dir(a).unwrap(), Weights::open_dir(b).unwrap());
    assert_eq!(wa.len(), wb.len());
    for t in wa.iter() {
        let u = wb.get(&t.entry.name).unwrap();
        assert_eq!(
            (u.entry.dtype, &u.entry.shape),
            (t.entry.dtype, &t.entry.shape)
        );
        assert!(u.data() == t.data(), "{} differs", t.entry.name);
    }
}

#[test]
fn fixtures_are_deterministic() {
    let (_d1, a) = fixture(Fixture::T5);
    let (_d2, b) = fixture(Fixture::T5);
    for name in ["model.safetensors", "config.json", "tokenizer.json"] {
        let same = std::fs::read(a.join(name)).unwrap() == std::fs::read(b.join(name)).unwrap();
        assert!(same, "{name} differs between two runs");
    }
}

#[test]
fn same_dtype_convert_is_byte_identical_and_copies_small_files_verbatim() {
    for kind in Fixture::ALL {
        let (dir, src) = fixture(kind);
        let out = dir.path().join("out");
        convert(&src, &out, &ConvertOptions::default(), &hidden).unwrap();
        assert_same_tensors(&src, &out);
        for name in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
            let same =
                std::fs::read(src.join(name)).unwrap() == std::fs::read(out.join(name)).unwrap();
            assert!(same, "{name} not copied verbatim");
        }
        for entry in std::fs::read_dir(&out).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644);
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains("retarget-partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}

#[test]
fn resharding_writes_an_index_that_reads_back_identically() {
    let (dir, src) = fixture(Fixture::LlamaUntied);
    let sharded = dir.path().join("sharded");
    let options = ConvertOptions {
        max_shard_bytes: 60_000,
        ..ConvertOptions::default()
    };
    let summary = convert(&src, &sharded, &options, &hidden).unwrap();
    assert!(summary.files.len() > 2, "{:?}", summary.files);
    assert_eq!(
        summary.files[0],
        format!("model-00001-of-{:05}.safetensors", summary.files.len())
    );
    assert!(sharded.join("model.safetensors.index.json").is_file());
    assert!(!sharded.join("model.safetensors").exists());
    for file in &summary.files {
        let len = std::fs::metadata(sharded.join(file)).unwrap().len();
        // A shard holds at most 60 kB of data unless one tensor is larger.
        let weights = Weights::open_file(&sharded.join(file)).unwrap();
        let data: u64 = weights.iter().map(|t| t.entry.byte_len() as u64).sum();
        assert!(data <= 60_000 || weights.len() == 1, "{file}: {len}");
    }
    assert_same_tensors(&src, &sharded);
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(sharded.join("model.safetensors.index.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        index["metadata"]["total_size"].as_u64(),
        Some(summary.bytes)
    );

    // And back to one file.
    let merged = dir.path().join("merged");
    convert(&sharded, &merged, &ConvertOptions::default(), &hidden).unwrap();
    assert!(merged.join("model.safetensors").is_file());
    assert_same_tensors(&src, &merged);
    let report = inspect(&sharded).unwrap();
    assert_eq!(report.files.len(), summary.files.len());
    assert_eq!(report.parameters, inspect(&src).unwrap().parameters);
}

#[test]
fn dtype_conversion_rounds_and_updates_the_config() {
    let (dir, src) = fixture(Fixture::Bert);
    let out = dir.path().join("f16");
    let options = ConvertOptions {
        dtype: Some(FloatType::F16),
        ..ConvertOptions::default()
    };
    convert(&src, &out, &options, &hidden).unwrap();
    let (a, b) = (
        Weights::open_dir(&src).unwrap(),
        Weights::open_dir(&out).unwrap(),
    );
    for t in a.iter() {
        let u = b.get(&t.entry.name).unwrap();
        assert_eq!(u.entry.dtype, safetensors::Dtype::F16);
        let orig = to_f32(FloatType::F32, t.data());
        let half = to_f32(FloatType::F16, u.data());
        for (x, y) in orig.iter().zip(&half) {
            assert!((x - y).abs() <= x.abs() * 1e-3 + 1e-7, "{x} vs {y}");
        }
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["torch_dtype"], "float16");
    assert_eq!(config["hidden_size"], 32, "other keys kept");
}

#[test]
fn non_float_tensors_pass_through_a_dtype_change_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("mixed");
    let header = r#"{"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"w":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#;
    let mut bytes = retarget_fixtures::broken::safetensors_bytes(header, 0);
    bytes.extend_from_slice(&7i64.to_le_bytes());
    bytes.extend_from_slice(&(-3i64).to_le_bytes());
    bytes.extend_from_slice(&1.5f32.to_le_bytes());
    bytes.extend_from_slice(&(-2.0f32).to_le_bytes());
    retarget_fixtures::broken::folder_with_weights(&src, &bytes).unwrap();
    let out = dir.path().join("out");
    let options = ConvertOptions {
        dtype: Some(FloatType::BF16),
        ..ConvertOptions::default()
    };
    convert(&src, &out, &options, &hidden).unwrap();
    let w = Weights::open_dir(&out).unwrap();
    let ids = w.get("ids").unwrap();
    assert_eq!(ids.entry.dtype, safetensors::Dtype::I64);
    assert_eq!(ids.data(), &bytes[bytes.len() - 24..bytes.len() - 8]);
    let f = w.get("w").unwrap();
    assert_eq!(f.entry.dtype, safetensors::Dtype::BF16);
    assert_eq!(to_f32(FloatType::BF16, f.data()), vec![1.5, -2.0]);
}

#[test]
fn refuses_to_write_into_inputs_or_over_existing_output() {
    let (dir, src) = fixture(Fixture::LlamaTied);
    let opts = ConvertOptions::default();
    for bad in [src.clone(), src.join("sub")] {
        let err = convert(&src, &bad, &opts, &hidden).unwrap_err();
        assert!(matches!(err, ModelError::Usage(_)), "{err}");
        assert!(err.to_string().contains("overlaps the input"), "{err}");
    }
    assert!(!src.join("sub").exists());
    let err = convert(&src, dir.path(), &opts, &hidden).unwrap_err();
    assert!(err.to_string().contains("overlaps the input"), "{err}");

    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("keep.txt"), "precious").unwrap();
    let err = convert(&src, &existing, &opts, &hidden).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(existing.join("keep.txt")).unwrap(),
        "precious"
    );

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    convert(&src, &empty, &opts, &hidden).unwrap();
    assert!(empty.join("model.safetensors").is_file());
}

#[test]
fn inspect_reports_roles_vocab_and_parameters() {
    let (_d, src) = fixture(Fixture::LlamaUntied);
    let r = inspect(&src).unwrap();
    assert_eq!(r.format, "hf-folder");
    assert_eq!(r.model_type.as_deref(), Some("llama"));
    assert_eq!(
        r.embedding_tensor.as_deref(),
        Some("model.embed_tokens.weight")
    );
    assert_eq!(r.head_tensor.as_deref(), Some("lm_head.weight"));
    assert_eq!(r.tied_embeddings, Some(false));
    let v = r.vocab.config.unwrap();
    assert_eq!(
        (r.vocab.tokenizer, r.vocab.embedding_rows, r.vocab.head_rows),
        (Some(v), Some(v), Some(v))
    );
    // 2 embeddings-sized matrices + 2 layers of 64-wide llama + final norm.
    let layer = 64 + 64 * 64 + 2 * (32 * 64) + 64 * 64 + 64 + 3 * 128 * 64;
    assert_eq!(r.parameters, (2 * v * 64 + 2 * layer + 64) as u64);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.dtypes["F32"].tensors, r.tensors);

    let (_d, t5) = fixture(Fixture::T5);
    let r = inspect(&t5).unwrap();
    assert_eq!(r.family.as_deref(), Some("t5"));
    assert_eq!(r.embedding_tensor.as_deref(), Some("shared.weight"));
}

#[test]
fn inspect_flags_vocabulary_mismatches() {
    let (_d, src) = fixture(Fixture::LlamaTied);
    let config_path = src.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path).unwrap()).unwrap();
    config["vocab_size"] = serde_json::json!(512);
    std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let r = inspect(&src).unwrap();
    assert!(
        r.warnings.iter().any(|w| w.contains("config says 512")),
        "{:?}",
        r.warnings
    );
}
