//! Bad input of every class the adversarial probe found gets one clear
//! error naming the file (exit 2) and writes nothing; sacrebleu's odd
//! corners are matched.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_exits_2, retarget, retarget_ok, s, temporaries};
use retarget_fixtures::{write_fixture, Fixture};

/// Rewrites the f32 tensor `name` of `dir/model.safetensors` with `edit`.
fn edit_tensor(dir: &Path, name: &str, edit: impl Fn(&mut [f32])) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let (_, _, data) = tensors.iter_mut().find(|(n, _, _)| n == name).unwrap();
    let mut values: Vec<f32> = data
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    edit(&mut values);
    *data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(n, shape, data)| {
            let view =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                    .unwrap();
            (n.clone(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, &path).unwrap();
}

/// Rewrites `key` of `dir/config.json`.
fn edit_config(dir: &Path, key: &str, value: serde_json::Value) {
    let path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config[key] = value;
    std::fs::write(&path, config.to_string()).unwrap();
}

fn llama(dir: &Path, name: &str) -> PathBuf {
    let model = dir.join(name);
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    model
}

fn text(dir: &Path) -> PathBuf {
    let path = dir.join("text.txt");
    std::fs::write(&path, retarget_fixtures::corpus::lines().join("\n")).unwrap();
    path
}

#[test]
fn non_finite_weights_stop_inference_naming_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let model = llama(dir.path(), "nan");
    edit_tensor(&model, "model.norm.weight", |v| v[3] = f32::NAN);
    let input = text(dir.path());
    let named = "tensor `model.norm.weight` holds NaN or infinite values";
    assert_exits_2(&["score", "--model", s(&model), "-i", s(&input)], named);
    assert_exits_2(
        &[
            "generate",
            "--model",
            s(&model),
            "--prompt",
            "the cat",
            "--max-new-tokens",
            "3",
        ],
        named,
    );
    assert_exits_2(
        &["lens", "--model", s(&model), "--prompt", "the cat"],
        named,
    );
    assert_exits_2(
        &[
            "translate",
            "--model",
            s(&model),
            "--tgt",
            "swh",
            "-i",
            s(&input),
            "--max-new-tokens",
            "2",
        ],
        named,
    );
    let out = dir.path().join("adapted");
    assert_exits_2(
        &[
            "adapt",
            "--model",
            s(&model),
            "--lang",
            "swh",
            "--corpus",
            s(&input),
            "--add",
            "5",
            "--out",
            s(&out),
        ],
        named,
    );
    assert!(!out.exists() && temporaries(dir.path()).is_empty());
    // An encoder-decoder's beam search and teacher forcing stop too.
    let m2m = dir.path().join("m2m");
    write_fixture(Fixture::M2m100, &m2m).unwrap();
    let name = tensor_names(&m2m)
        .into_iter()
        .find(|n| n.contains("decoder") && n.ends_with("layer_norm.weight"))
        .unwrap();
    edit_tensor(&m2m, &name, |v| v[0] = f32::INFINITY);
    let translate = [
        "translate",
        "--model",
        s(&m2m),
        "--src",
        "eng",
        "--tgt",
        "swh",
        "-i",
        s(&input),
        "--max-new-tokens",
        "3",
        "--beam",
        "2",
    ];
    assert_exits_2(
        &translate,
        &format!("tensor `{name}` holds NaN or infinite values"),
    );
    assert_exits_2(
        &[
            "score",
            "--model",
            s(&m2m),
            "-i",
            s(&input),
            "--source",
            s(&input),
            "--src",
            "eng",
            "--tgt",
            "swh",
        ],
        &format!("tensor `{name}`"),
    );
}

/// The tensor names of `dir/model.safetensors`.
fn tensor_names(dir: &Path) -> Vec<String> {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    file.names().into_iter().map(str::to_string).collect()
}

#[test]
fn merges_that_would_write_nan_or_infinity_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = llama(dir.path(), "a");
    let b = llama(dir.path(), "b");
    let config = dir.path().join("merge.yml");
    let out = dir.path().join("merged");
    let (a, b) = (s(&a), s(&b));
    for (yaml, message) in [
        (
            format!("merge_method: linear\nmodels:\n  - {{model: {a}, parameters: {{weight: 1}}}}\n  - {{model: {b}, parameters: {{weight: -1}}}}\n"),
            "NaN or infinite values",
        ),
        (
            format!("merge_method: linear\nmodels:\n  - {{model: {a}, parameters: {{weight: .nan}}}}\n  - {{model: {b}, parameters: {{weight: 1}}}}\n"),
            "not a finite number",
        ),
        (
            format!("merge_method: ties\nbase_model: {a}\nmodels:\n  - {{model: {b}, parameters: {{weight: 1, density: 1.5}}}}\n"),
            "outside [0, 1]",
        ),
        (
            format!("merge_method: passthrough\nslices:\n  - sources: [{{model: {a}, layer_range: [1, 1]}}]\n"),
            "start < end",
        ),
    ] {
        std::fs::write(&config, yaml).unwrap();
        assert_exits_2(&["merge", s(&config), s(&out)], message);
        assert!(!out.exists() && temporaries(dir.path()).is_empty());
    }
    std::fs::write(&config, b"merge_method: linear\nmodels: [\xff]\n").unwrap();
    assert_exits_2(&["merge", s(&config), s(&out)], "not UTF-8");
    let deep = format!("merge_method: linear\nmodels: {}\n", "[".repeat(100_000));
    std::fs::write(&config, deep).unwrap();
    assert_exits_2(&["merge", s(&config), s(&out)], "nested more than");
}

#[test]
fn configs_that_disagree_with_the_weights_are_refused_by_every_loader() {
    let dir = tempfile::tempdir().unwrap();
    let input = text(dir.path());
    let out = dir.path().join("out");
    let fewer = llama(dir.path(), "fewer-layers");
    edit_config(&fewer, "num_hidden_layers", 1.into());
    let wider = llama(dir.path(), "wrong-width");
    edit_config(&wider, "hidden_size", 96.into());
    for (model, message) in [
        (
            &fewer,
            "says the model has 1 layers, but the weights hold 2",
        ),
        (&wider, "says hidden_size 96, but the embedding"),
    ] {
        let config = model.join("config.json");
        let m = s(model);
        for args in [
            vec!["inspect", m],
            vec!["score", "--model", m, "-i", s(&input)],
            vec!["convert", m, s(&out)],
            vec![
                "vocab",
                "trim",
                "--model",
                m,
                "--corpus",
                s(&input),
                "--out",
                s(&out),
            ],
            vec![
                "vocab",
                "expand",
                "--model",
                m,
                "--corpus",
                s(&input),
                "--add",
                "5",
                "--out",
                s(&out),
            ],
        ] {
            assert_exits_2(&args, message);
            assert_exits_2(&args, s(&config));
            assert!(!out.exists());
        }
    }
    // A tokenizer with more ids than the embedding has rows.
    let extra = llama(dir.path(), "extra-token");
    let tokenizer_path = extra.join("tokenizer.json");
    let mut tokenizer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&tokenizer_path).unwrap()).unwrap();
    tokenizer["added_tokens"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": 400, "content": "<beyond>", "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true
        }));
    std::fs::write(&tokenizer_path, tokenizer.to_string()).unwrap();
    assert_exits_2(
        &["score", "--model", s(&extra), "-i", s(&input)],
        "has 401 tokens, but the model's embedding `model.embed_tokens.weight` has only 400 rows",
    );
}

#[test]
fn unreadable_inputs_get_one_message_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let model = llama(dir.path(), "llama");
    let reference = dir.path().join("ref.txt");
    std::fs::write(&reference, "a b c\n").unwrap();
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let d = s(&folder);
    assert_exits_2(&["eval", "score", s(&reference), "-i", d], "is a folder");
    assert_exits_2(&["eval", "tokenize", "-i", d], "is a folder");
    assert_exits_2(&["score", "--model", s(&model), "-i", d], "is a folder");
    let out = dir.path().join("out");
    let trim = [
        "vocab",
        "trim",
        "--model",
        s(&model),
        "--corpus",
        d,
        "--out",
        s(&out),
    ];
    assert_exits_2(&trim, "is a folder");
    // A named pipe nobody writes to, and a line past the limit.
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    assert_exits_2(&["eval", "tokenize", "-i", s(&fifo)], "empty");
    let long = dir.path().join("long.txt");
    std::fs::write(&long, format!("ok\n{}\n", "x".repeat((1 << 20) + 1))).unwrap();
    assert_exits_2(
        &["eval", "tokenize", "-i", s(&long)],
        "line 2 is longer than",
    );
    let trim = [
        "vocab",
        "trim",
        "--model",
        s(&model),
        "--corpus",
        s(&long),
        "--out",
        s(&out),
    ];
    assert_exits_2(&trim, "line 2 is longer than");
    assert!(!out.exists() && temporaries(dir.path()).is_empty());
}

#[test]
fn a_shard_index_that_leaves_out_a_tensor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("sharded");
    retarget_fixtures::broken::sharded_folder(&model, "model-00001-of-00001.safetensors", None)
        .unwrap();
    std::fs::write(
        model.join("model.safetensors.index.json"),
        r#"{"weight_map": {"a": "model-00001-of-00001.safetensors"}}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    assert_exits_2(
        &["convert", s(&model), s(&out)],
        "holds tensor `b`, which the index does not list",
    );
    assert_exits_2(&["inspect", s(&model)], "holds tensor `b`");
    assert!(!out.exists());
}

#[test]
fn eval_score_corners_behave_as_sacrebleu() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.txt");
    std::fs::write(&reference, "the cat sat on the mat\na b c d\n").unwrap();
    let hyp = dir.path().join("hyp.txt");
    std::fs::write(&hyp, "the cat is on the mat\na b c\n").unwrap();
    let other = dir.path().join("other.txt");
    std::fs::write(&other, "the cat sat on a mat\na b d\n").unwrap();
    let (r, h) = (s(&reference), s(&hyp));
    // -b prints the bare score even in JSON (sacrebleu's default format).
    let bare = retarget_ok(&["eval", "score", r, "-i", h, "-b"]);
    assert!(bare.trim().parse::<f64>().is_ok(), "{bare}");
    let both = retarget_ok(&["eval", "score", r, "-i", h, "-b", "-m", "bleu", "chrf"]);
    assert!(both.starts_with("[\n") && !both.contains('{'), "{both}");
    // A wide -w is formatted, not a panic; past 65535 it is refused.
    let wide = retarget_ok(&["eval", "score", r, "-i", h, "-b", "-w", "65535"]);
    assert_eq!(wide.trim().split('.').nth(1).unwrap().len(), 65535);
    let out = retarget(&["eval", "score", r, "-i", h, "-w", "65536"]);
    assert_eq!(out.status.code(), Some(2));
    // -pbsn 0 and -parn 0 mean the defaults (sacrebleu: 1000 and 10000).
    for (test, count, default) in [("-pbs", "-pbsn", "1000"), ("-par", "-parn", "10000")] {
        let zero = retarget_ok(&["eval", "score", r, "-i", h, s(&other), test, count, "0"]);
        let dflt = retarget_ok(&["eval", "score", r, "-i", h, s(&other), test, count, default]);
        assert_eq!(zero, dflt, "{test}");
    }
    let huge = retarget(&["eval", "score", r, "-i", h, "-m", "chrf", "-cc", "1000000"]);
    assert_eq!(huge.status.code(), Some(2));
}
