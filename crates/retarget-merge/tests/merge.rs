//! End-to-end merges of the fixture models (real HF layout), checked against
//! values computed here from the input tensors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use retarget_fixtures::{write_fixture, Fixture};
use retarget_merge::{merge, MergeConfig, MergeError, MergeOptions, MergeSummary};
use safetensors::{Dtype, SafeTensors};

type Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

fn read(dir: &Path) -> Tensors {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), Dtype::F32, "{name}");
            let values = view
                .data()
                .chunks(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (name, (view.shape().to_vec(), values))
        })
        .collect()
}

fn write(dir: &Path, tensors: &Tensors) {
    let data: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, (shape, v))| {
            let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            (n.clone(), bytes, shape.clone())
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = data
        .iter()
        .map(|(n, bytes, shape)| {
            let view = safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes);
            (n.clone(), view.unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, &dir.join("model.safetensors")).unwrap();
}

/// A copy of `src` with every value changed by `f(tensor name, value)`.
fn variant(src: &Path, dst: &Path, f: impl Fn(&str, f32) -> f32) -> PathBuf {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "model.safetensors" {
            std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
        }
    }
    let mut tensors = read(src);
    for (name, (_, values)) in tensors.iter_mut() {
        values.iter_mut().for_each(|v| *v = f(name, *v));
    }
    write(dst, &tensors);
    dst.to_path_buf()
}

fn fixture(dir: &Path, which: Fixture) -> PathBuf {
    let path = dir.join(which.name());
    write_fixture(which, &path).unwrap();
    path
}

fn run(dir: &Path, yaml: &str) -> Result<MergeSummary, MergeError> {
    let path = dir.join("merge.yml");
    std::fs::write(&path, yaml).unwrap();
    let config = MergeConfig::read(&path)?;
    merge(&config, &dir.join("out"), &MergeOptions::default())
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= 1e-6 * (1.0 + y.abs()))
}

fn config_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap()
}

#[test]
fn task_arithmetic_adds_weighted_task_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture(dir.path(), Fixture::LlamaUntied);
    let a = variant(&base, &dir.path().join("a"), |_, v| v + 0.1);
    let b = variant(&base, &dir.path().join("b"), |_, v| v * 1.5);
    let yaml = format!(
        "merge_method: task_arithmetic\nbase_model: {}\nmodels:\n  - {{model: {}, parameters: {{weight: 0.5}}}}\n  - {{model: {}, parameters: {{weight: 0.25}}}}\nparameters: {{lambda: 2}}\n",
        base.display(),
        a.display(),
        b.display()
    );
    run(dir.path(), &yaml).unwrap();
    let out = read(&dir.path().join("out"));
    let base_t = read(&base);
    assert_eq!(out.len(), base_t.len());
    for (name, (shape, values)) in &base_t {
        let expected: Vec<f32> = values
            .iter()
            .map(|v| v + 2.0 * (0.5 * 0.1 + 0.25 * (0.5 * v)))
            .collect();
        assert_eq!(&out[name].0, shape);
        assert!(close(&out[name].1, &expected), "{name}");
    }
}

#[test]
fn gradients_vary_by_layer_and_other_tensors_take_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture(dir.path(), Fixture::LlamaUntied);
    let a = variant(&base, &dir.path().join("a"), |_, _| 1.0);
    let b = variant(&base, &dir.path().join("b"), |_, _| 3.0);
    let yaml = format!(
        "merge_method: linear\nmodels:\n  - {{model: {}, parameters: {{weight: [1, 0]}}}}\n  - {{model: {}, parameters: {{weight: [0, 1]}}}}\n",
        a.display(),
        b.display()
    );
    run(dir.path(), &yaml).unwrap();
    let out = read(&dir.path().join("out"));
    // Two layers: t = 0 for layer 0 (all `a`), t = 1 for layer 1 (all `b`); others t = 0.
    let all = |name: &str, x: f32| out[name].1.iter().all(|v| *v == x);
    assert!(all("model.layers.0.mlp.up_proj.weight", 1.0));
    assert!(all("model.layers.1.mlp.up_proj.weight", 3.0));
    assert!(all("model.norm.weight", 1.0));
}

#[test]
fn slices_restack_layers_and_update_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture(dir.path(), Fixture::LlamaUntied);
    let b = variant(&a, &dir.path().join("b"), |_, v| -v);
    let yaml = format!(
        "merge_method: passthrough\nslices:\n  - sources: [{{model: {a}, layer_range: [0, 2]}}]\n  - sources: [{{model: {b}, layer_range: [1, 2]}}]\n",
        a = a.display(),
        b = b.display()
    );
    let summary = run(dir.path(), &yaml).unwrap();
    let out = read(&summary.output);
    let (a_t, b_t) = (read(&a), read(&b));
    let q = |layer: usize| format!("model.layers.{layer}.self_attn.q_proj.weight");
    assert_eq!(out[&q(1)], a_t[&q(1)]);
    assert_eq!(out[&q(2)], b_t[&q(1)]);
    // Embedding from the first slice, final norm and head from the last.
    assert_eq!(
        out["model.embed_tokens.weight"],
        a_t["model.embed_tokens.weight"]
    );
    assert_eq!(out["lm_head.weight"], b_t["lm_head.weight"]);
    assert_eq!(config_json(&summary.output)["num_hidden_layers"], 3);
    assert!(summary.output.join("tokenizer.json").is_file());
    assert!(summary.output.join("mergekit_config.yml").is_file());
}

#[test]
fn tied_models_stay_tied() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixture(dir.path(), Fixture::LlamaTied);
    let b = variant(&a, &dir.path().join("b"), |_, v| v * 2.0);
    let yaml = format!(
        "merge_method: slerp\nbase_model: {a}\nmodels: [{{model: {a}}}, {{model: {b}}}]\nparameters: {{t: 0.5}}\n",
        a = a.display(),
        b = b.display()
    );
    run(dir.path(), &yaml).unwrap();
    let out = read(&dir.path().join("out"));
    assert!(!out.contains_key("lm_head.weight"));
    // Parallel inputs: linear interpolation, 1.5 × a.
    let a_t = read(&a);
    let expected: Vec<f32> = a_t["model.embed_tokens.weight"]
        .1
        .iter()
        .map(|v| v * 1.5)
        .collect();
    assert!(close(&out["model.embed_tokens.weight"].1, &expected));
}

#[test]
fn union_vocabulary_appends_tokens_and_fills_missing_rows() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture(dir.path(), Fixture::LlamaUntied);
    // `b`: the base's weights + 1, and one more token with its own rows.
    let b = variant(&base, &dir.path().join("b"), |_, v| v + 1.0);
    let mut tok = tokenizers::Tokenizer::from_file(b.join("tokenizer.json")).unwrap();
    tok.add_tokens([tokenizers::AddedToken::from("habari", false)])
        .unwrap();
    tok.save(b.join("tokenizer.json"), false).unwrap();
    let mut t = read(&b);
    for name in ["model.embed_tokens.weight", "lm_head.weight"] {
        let (shape, values) = t.get_mut(name).unwrap();
        values.extend(std::iter::repeat_n(7.0, shape[1]));
        shape[0] += 1;
    }
    write(&b, &t);
    let yaml = format!(
        "merge_method: task_arithmetic\nbase_model: {base}\nmodels: [{{model: {b}, parameters: {{weight: 0.5}}}}]\n",
        base = base.display(),
        b = b.display()
    );
    let refused = run(dir.path(), &yaml).unwrap_err().to_string();
    let tokens = "tokenizer:\n  source: union\n  tokens:\n    '<zero>': {source: {kind: zero}}\n    habari: {source: {kind: model_token, model: BASE, token_id: 5}, force: true}\nchat_template: '{{ messages }}'\n";
    assert!(refused.contains("tokenizer_source"), "{refused}");
    assert!(!dir.path().join("out").exists());
    let summary = run(dir.path(), &format!("{yaml}tokenizer_source: union\n")).unwrap();
    assert_eq!(summary.vocabulary, Some(401));
    let out = read(&summary.output);
    let (shape, embed) = &out["model.embed_tokens.weight"];
    assert_eq!(shape[0], 401);
    // The base lacks "habari": its row is filled from `b`, so the task vector is 0 there.
    assert!(embed[400 * shape[1]..].iter().all(|v| *v == 7.0));
    let base_row: Vec<f32> = read(&base)["model.embed_tokens.weight"].1[..shape[1]]
        .iter()
        .map(|v| v + 0.5)
        .collect();
    assert!(close(&embed[..shape[1]], &base_row));
    assert_eq!(config_json(&summary.output)["vocab_size"], 401);
    let merged = tokenizers::Tokenizer::from_file(summary.output.join("tokenizer.json")).unwrap();
    assert_eq!(merged.token_to_id("habari"), Some(400));

    // `tokenizer.tokens`: a new token with zero rows, and "habari" forced to the base's row 5.
    std::fs::remove_dir_all(&summary.output).unwrap();
    let yaml = format!(
        "{yaml}{}",
        tokens.replace("BASE", &base.display().to_string())
    );
    let summary = run(dir.path(), &yaml).unwrap();
    assert_eq!(summary.vocabulary, Some(402));
    let out = read(&summary.output);
    let (shape, embed) = &out["model.embed_tokens.weight"];
    let width = shape[1];
    let row = |r: usize| &embed[r * width..(r + 1) * width];
    let base_row5: Vec<f32> =
        read(&base)["model.embed_tokens.weight"].1[5 * width..6 * width].to_vec();
    assert!(close(row(400), &base_row5), "forced row");
    assert!(row(401).iter().all(|v| *v == 0.0), "zero row");
    let config = std::fs::read_to_string(summary.output.join("tokenizer_config.json")).unwrap();
    assert!(config.contains("{{ messages }}"), "{config}");
}

#[test]
fn random_methods_are_reproducible_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture(dir.path(), Fixture::LlamaUntied);
    let a = variant(&base, &dir.path().join("a"), |_, v| v + 0.5);
    let path = dir.path().join("dare.yml");
    let yaml = format!(
        "merge_method: dare_linear\nbase_model: {}\nmodels: [{{model: {}, parameters: {{weight: 1, density: 0.3}}}}]\n",
        base.display(),
        a.display()
    );
    std::fs::write(&path, yaml).unwrap();
    let config = MergeConfig::read(&path).unwrap();
    let outputs: Vec<Tensors> = [(1, "s1"), (1, "s1b"), (2, "s2")]
        .iter()
        .map(|(seed, name)| {
            let options = MergeOptions {
                seed: *seed,
                ..MergeOptions::default()
            };
            read(
                &merge(&config, &dir.path().join(name), &options)
                    .unwrap()
                    .output,
            )
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
    assert_ne!(outputs[0], outputs[2]);
    // The kept values are rescaled so that the task vector's L1 norm is unchanged.
    let base_t = read(&base);
    let name = "model.layers.0.mlp.up_proj.weight";
    let deltas: Vec<f32> = outputs[0][name]
        .1
        .iter()
        .zip(&base_t[name].1)
        .map(|(o, b)| o - b)
        .collect();
    let kept = deltas.iter().filter(|d| d.abs() > 1e-6).count() as f32 / deltas.len() as f32;
    assert!((kept - 0.3).abs() < 0.03, "{kept}");
    let l1: f32 = deltas.iter().map(|d| d.abs()).sum();
    assert!(
        (l1 / (0.5 * deltas.len() as f32) - 1.0).abs() < 1e-3,
        "{l1}"
    );
}

#[test]
fn bad_inputs_name_the_model_and_tensor_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let base = fixture(dir.path(), Fixture::LlamaUntied);
    let bert = fixture(dir.path(), Fixture::Bert);
    let short = variant(&base, &dir.path().join("short"), |_, v| v);
    let mut t = read(&short);
    t.remove("model.layers.1.mlp.down_proj.weight");
    write(&short, &t);
    let wide = variant(&base, &dir.path().join("wide"), |_, v| v);
    let mut t = read(&wide);
    t.get_mut("model.norm.weight").unwrap().0 = vec![32, 2];
    write(&wide, &t);
    let plus = variant(&base, &dir.path().join("plus"), |_, v| v + 0.1);
    let (b, s, w, bert) = (
        base.display(),
        short.display(),
        wide.display(),
        bert.display(),
    );
    let p = plus.display();
    let linear = |x: &dyn std::fmt::Display, y: &dyn std::fmt::Display| {
        format!("merge_method: linear\nmodels: [{{model: {x}, parameters: {{weight: 1}}}}, {{model: {y}, parameters: {{weight: 1}}}}]\n")
    };
    let cases = [
        (linear(&b, &s), "has no tensor `model.layers.1.mlp.down_proj.weight`"),
        (linear(&b, &w), "tensor `model.norm.weight` has shape [32, 2]"),
        (linear(&b, &bert), "only models of one architecture"),
        (format!("merge_method: linear\nmodels: [{{model: {b}}}]\n"), "missing required parameter `weight`"),
        (
            format!("merge_method: slerp\nbase_model: {b}\nmodels: [{{model: {b}}}]\nparameters: {{t: 0.5}}\n"),
            "takes exactly 2 models",
        ),
        (
            format!("merge_method: della\nbase_model: {b}\nmodels: [{{model: {p}, parameters: {{weight: 1, density: 0.5, epsilon: 0.6}}}}]\n"),
            "density ± epsilon",
        ),
        (
            format!("merge_method: linear\nmodels: [{{model: {b}/nowhere, parameters: {{weight: 1}}}}]\n"),
            "no such folder or file",
        ),
        (linear(&b, &b), "is listed twice"),
    ];
    for (yaml, expected) in cases {
        let err = run(dir.path(), &yaml).unwrap_err();
        assert!(
            err.is_bad_input() && err.to_string().contains(expected),
            "{yaml}\n{err}"
        );
        assert!(!dir.path().join("out").exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
