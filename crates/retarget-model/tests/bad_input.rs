//! Every kind of bad input gets one clear error naming the file and the
//! problem.

use std::path::Path;

use retarget_fixtures::broken::{
    folder_with_weights, gguf_with_alignment, gguf_with_tensor, gguf_with_type, sharded_folder,
    BROKEN_SAFETENSORS,
};
use retarget_model::gguf::GgufFile;
use retarget_model::hf_folder::HfFolder;
use retarget_model::inspect::inspect;
use retarget_model::safetensors_file::SafetensorsFile;
use retarget_model::ModelError;

fn assert_invalid(err: ModelError, path: &Path, phrase: &str) {
    let msg = err.to_string();
    assert!(err.is_bad_input(), "{msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "message lacks the file: {msg}"
    );
    assert!(msg.contains(phrase), "message lacks `{phrase}`: {msg}");
}

#[test]
fn broken_safetensors_files_are_rejected_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    for case in BROKEN_SAFETENSORS {
        let path = dir
            .path()
            .join(format!("{}.safetensors", case.name.replace(' ', "_")));
        std::fs::write(&path, (case.bytes)()).unwrap();
        let err = SafetensorsFile::open(&path).expect_err(case.name);
        assert_invalid(err, &path, case.expect);
        // Through a folder and through inspect, the same error.
        let folder = dir.path().join(case.name.replace(' ', "_"));
        folder_with_weights(&folder, &(case.bytes)()).unwrap();
        assert_invalid(
            inspect(&folder).unwrap_err(),
            &folder.join("model.safetensors"),
            case.expect,
        );
    }
}

#[test]
fn index_naming_a_missing_shard_or_tensor_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let missing_shard = dir.path().join("missing-shard");
    sharded_folder(&missing_shard, "model-00009-of-00009.safetensors", None).unwrap();
    let index = missing_shard.join("model.safetensors.index.json");
    assert_invalid(
        HfFolder::open(&missing_shard).unwrap_err(),
        &index,
        "names shard `model-00009-of-00009.safetensors`, which does not exist",
    );

    let missing_tensor = dir.path().join("missing-tensor");
    sharded_folder(
        &missing_tensor,
        "model-00001-of-00001.safetensors",
        Some("ghost"),
    )
    .unwrap();
    let index = missing_tensor.join("model.safetensors.index.json");
    assert_invalid(
        HfFolder::open(&missing_tensor).unwrap_err(),
        &index,
        "maps tensor `ghost`",
    );

    let ok = dir.path().join("ok");
    sharded_folder(&ok, "model-00001-of-00001.safetensors", None).unwrap();
    assert_eq!(HfFolder::open(&ok).unwrap().weights().len(), 2);
    // A tensor the index does not list would be dropped by every writer: refused.
    let ok_index = ok.join("model.safetensors.index.json");
    std::fs::write(
        &ok_index,
        r#"{"weight_map": {"a": "model-00001-of-00001.safetensors"}}"#,
    )
    .unwrap();
    assert_invalid(
        HfFolder::open(&ok).unwrap_err(),
        &ok_index,
        "holds tensor `b`, which the index does not list",
    );

    std::fs::write(&index, "{not json").unwrap();
    assert_invalid(
        HfFolder::open(&missing_tensor).unwrap_err(),
        &index,
        "malformed index JSON",
    );

    let escape = dir.path().join("escape");
    sharded_folder(&escape, "../model-00001-of-00001.safetensors", None).unwrap();
    assert_invalid(
        HfFolder::open(&escape).unwrap_err(),
        &escape.join("model.safetensors.index.json"),
        "not a plain file name",
    );
}

#[test]
fn malformed_config_and_tokenizer_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("m");
    sharded_folder(&folder, "model-00001-of-00001.safetensors", None).unwrap();
    std::fs::write(folder.join("config.json"), "{\"model_type\": ").unwrap();
    assert_invalid(
        HfFolder::open(&folder).unwrap_err(),
        &folder.join("config.json"),
        "malformed JSON",
    );
    std::fs::write(folder.join("config.json"), "{}").unwrap();
    std::fs::write(folder.join("tokenizer.json"), "{\"model\": 3}").unwrap();
    assert_invalid(
        HfFolder::open(&folder).unwrap_err(),
        &folder.join("tokenizer.json"),
        "cannot load tokenizer",
    );
}

#[test]
fn gguf_with_unsupported_quantization_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iq2.gguf");
    std::fs::write(&path, gguf_with_type(16)).unwrap();
    let err = GgufFile::open(&path).unwrap_err();
    assert!(matches!(err, ModelError::Unsupported { .. }), "{err}");
    assert_invalid(err, &path, "GGUF tensor type 16 (IQ2_XXS)");

    // The same file with a supported type (Q8_0 = 8) opens.
    std::fs::write(&path, gguf_with_type(8)).unwrap();
    let file = GgufFile::open(&path).unwrap();
    assert_eq!(file.tensors()[0].shape, vec![256]);
}

#[test]
fn gguf_with_overflowing_shape_is_rejected() {
    // Found by the gguf_header fuzz target: dimensions whose product
    // overflows used to panic.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.gguf");
    std::fs::write(&path, gguf_with_tensor(&[1 << 40, 1 << 40], 0)).unwrap();
    assert_invalid(GgufFile::open(&path).unwrap_err(), &path, "overflows");
    assert!(
        retarget_model::gguf::validate_bytes(&gguf_with_tensor(&[u64::MAX / 2, 3], 0)).is_err()
    );
}

#[test]
fn gguf_with_zero_alignment_is_rejected() {
    // Found by the gguf_header fuzz target: candle divides by the declared
    // alignment; retarget turns its panic into an error.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("align0.gguf");
    std::fs::write(&path, gguf_with_alignment(0)).unwrap();
    assert_invalid(
        GgufFile::open(&path).unwrap_err(),
        &path,
        "general.alignment",
    );
    std::fs::write(&path, gguf_with_alignment(64)).unwrap();
    assert!(GgufFile::open(&path).is_ok());
}

#[test]
fn truncated_gguf_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let full = gguf_with_type(8);
    let path = dir.path().join("cut.gguf");
    // Cut inside the tensor data.
    std::fs::write(&path, &full[..full.len() - 1000]).unwrap();
    assert_invalid(GgufFile::open(&path).unwrap_err(), &path, "out of bounds");
    // Cut inside the header.
    std::fs::write(&path, &full[..40]).unwrap();
    assert_invalid(GgufFile::open(&path).unwrap_err(), &path, "GGUF");
    // Not a GGUF at all.
    std::fs::write(&path, b"GGUX and then some bytes").unwrap();
    assert_invalid(
        GgufFile::open(&path).unwrap_err(),
        &path,
        "not a valid GGUF file",
    );
}
