//! Language control end to end: `retarget neurons` (the neurons file, the
//! reference layout, the summary, steering with it), `steer fit incline`,
//! `steer fit itlc`, `capture`, and bad input.

mod common;

use std::path::Path;

use common::{assert_each_exits_2, retarget_ok, s};
use retarget_fixtures::{write_fixture, Fixture};

/// `retarget score`'s total NLL of `text`, with `--steer steer` if given.
fn total_nll(model: &Path, text: &Path, steer: Option<&str>) -> f64 {
    let mut args = vec!["score", "--model", s(model), "-i", s(text), "--json"];
    if let Some(steer) = steer {
        args.extend(["--steer", steer]);
    }
    let out = retarget_ok(&args);
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    summary["total_nll"].as_f64().unwrap()
}

#[test]
fn neurons_writes_counts_masks_and_the_reference_layout() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let english = dir.path().join("en.txt");
    std::fs::write(
        &english,
        "the cat sat on the mat and the dog ran\n".repeat(20),
    )
    .unwrap();
    let swahili = dir.path().join("sw.txt");
    std::fs::write(
        &swahili,
        "habari ya asubuhi watu wote wamezaliwa huru\n".repeat(20),
    )
    .unwrap();
    let out = dir.path().join("neurons.safetensors");
    let layout = dir.path().join("neurons.json");
    let texts = [
        format!("eng={}", s(&english)),
        format!("swh={}", s(&swahili)),
    ];
    let run_neurons = |out: &Path, extra: &[&str]| {
        let mut args = vec!["neurons", "--model", s(&model), "--out", s(out)];
        for text in &texts {
            args.extend(["--text", text.as_str()]);
        }
        args.extend(["--window", "64", "--max-tokens", "300"]);
        args.extend(extra);
        retarget_ok(&args)
    };
    let printed = run_neurons(&out, &["--reference-layout", s(&layout), "--json"]);
    let summary: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(summary["languages"], serde_json::json!(["eng", "swh"]));
    assert_eq!(summary["tokens"], serde_json::json!([300, 300]));
    let bytes = std::fs::read(&out).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let over_zero = file.tensor("over_zero").unwrap();
    let (layers, neurons) = (over_zero.shape()[1], over_zero.shape()[2]);
    assert_eq!(over_zero.shape()[0], 2);
    let counts: Vec<i64> = over_zero
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert!(counts.iter().all(|&c| (0..=300).contains(&c)));
    assert!(counts.iter().any(|&c| c > 0) && counts.iter().any(|&c| c < 300));
    let mask = file.tensor("mask").unwrap().data().to_vec();
    let reference: Vec<Vec<Vec<usize>>> =
        serde_json::from_str(&std::fs::read_to_string(&layout).unwrap()).unwrap();
    for (k, per_layer) in reference.iter().enumerate() {
        assert_eq!(per_layer.len(), layers);
        let total: usize = per_layer.iter().map(Vec::len).sum();
        assert_eq!(summary["per_language"][k]["total"], total);
        for (layer, owned) in per_layer.iter().enumerate() {
            for index in 0..neurons {
                let marked = mask[(k * layers + layer) * neurons + index] == 1;
                assert_eq!(marked, owned.contains(&index));
            }
        }
    }
    // The same run again gives the same counts and masks.
    let again = dir.path().join("again.safetensors");
    run_neurons(&again, &[]);
    let again = std::fs::read(&again).unwrap();
    let again = safetensors::SafeTensors::deserialize(&again).unwrap();
    for name in ["over_zero", "tokens", "mask"] {
        assert!(
            again.tensor(name).unwrap().data() == file.tensor(name).unwrap().data(),
            "{name} differs between two runs"
        );
    }

    // Steering with the file: deactivating a language's neurons changes the
    // scores (when it owns any), and a language the file lacks is refused.
    let plain = total_nll(&model, &swahili, None);
    for (k, language) in ["eng", "swh"].iter().enumerate() {
        let owned = summary["per_language"][k]["total"].as_u64().unwrap();
        let steer = format!("{}:deactivate={language}", s(&out));
        let steered = total_nll(&model, &swahili, Some(&steer));
        assert_eq!(owned > 0, steered != plain, "{language}: {owned} neurons");
    }
    assert_each_exits_2(
        &["score", "--model", s(&model), "-i", s(&swahili)],
        vec![
            (
                vec!["--steer", &format!("{}:deactivate=yor", s(&out))],
                "no neurons of language `yor`",
            ),
            (
                vec!["--steer", &format!("{}:deactivate=swh", s(&english))],
                "not a safetensors file",
            ),
        ],
    );

    let tiny = dir.path().join("tiny.txt");
    std::fs::write(&tiny, "hi\n").unwrap();
    let english_arg = format!("eng={}", s(&english));
    let tiny_arg = format!("xx={}", s(&tiny));
    let fresh = dir.path().join("fresh.safetensors");
    assert_each_exits_2(
        &["neurons", "--model", s(&model), "--out", s(&fresh)],
        vec![
            (vec!["--text", &english_arg], "two or more"),
            (
                vec!["--text", &english_arg, "--text", &english_arg],
                "given twice",
            ),
            (
                vec!["--text", &english_arg, "--text", &tiny_arg],
                "at least 100",
            ),
            (
                vec!["--text", &english_arg, "--text", "swh"],
                "expected LANG=FILE",
            ),
            (
                vec![
                    "--text",
                    &english_arg,
                    "--text",
                    &tiny_arg,
                    "--top-rate",
                    "0",
                ],
                "--top-rate 0 must lie in (0, 1]",
            ),
        ],
    );
    assert!(!fresh.exists());
}

/// The llama fixture in `dir` and three Swahili lines with their English
/// translations (`english_extra` appended to the English file):
/// (model, Swahili, English).
fn fixture_and_parallel_text(
    dir: &Path,
    english_extra: &str,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let model = dir.join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let swahili = dir.join("sw.txt");
    std::fs::write(&swahili, "habari ya asubuhi\nwatu wote\nhaki za binadamu\n").unwrap();
    let english = dir.join("en.txt");
    std::fs::write(
        &english,
        format!("good morning\nall people\nhuman rights\n{english_extra}"),
    )
    .unwrap();
    (model, swahili, english)
}

#[test]
fn steer_fit_incline_writes_maps_that_steer_scores() {
    let dir = tempfile::tempdir().unwrap();
    let (model, source, target) = fixture_and_parallel_text(dir.path(), "");
    let maps = dir.path().join("incline.safetensors");
    retarget_ok(&[
        "steer",
        "fit",
        "incline",
        "--model",
        s(&model),
        "--parallel",
        s(&source),
        s(&target),
        "--out",
        s(&maps),
        "--keep-representations",
    ]);
    let bytes = std::fs::read(&maps).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let hidden = file.tensor("map.0").unwrap().shape()[0];
    assert_eq!(file.tensor("map.0").unwrap().shape(), &[hidden, hidden]);
    assert_eq!(file.tensor("source.0").unwrap().shape(), &[3, hidden]);
    let plain = total_nll(&model, &source, None);
    let zero = format!("{}:incline=0", s(&maps));
    let half = format!("{}:incline=0.5", s(&maps));
    assert_eq!(total_nll(&model, &source, Some(&zero)), plain);
    assert_ne!(total_nll(&model, &source, Some(&half)), plain);
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "good morning\n").unwrap();
    let fresh = dir.path().join("fresh.safetensors");
    assert_each_exits_2(
        &[
            "steer",
            "fit",
            "incline",
            "--model",
            s(&model),
            "--out",
            s(&fresh),
        ],
        vec![(
            vec!["--parallel", s(&source), s(&short)],
            "pair line by line",
        )],
    );
    assert!(!fresh.exists());
}

#[test]
fn capture_and_itlc_vectors_agree_and_the_shift_steers_scores() {
    let dir = tempfile::tempdir().unwrap();
    // A blank English line, which language vectors skip.
    let (model, swahili, english) = fixture_and_parallel_text(dir.path(), "\n");
    let vectors = dir.path().join("mean.safetensors");
    retarget_ok(&[
        "steer",
        "fit",
        "itlc",
        "--model",
        s(&model),
        "--method",
        "mean",
        "--layer",
        "1",
        "--text",
        &format!("eng={}", s(&english)),
        "--text",
        &format!("swh={}", s(&swahili)),
        "--out",
        s(&vectors),
        "--keep-features",
    ]);
    let captured = dir.path().join("captured.safetensors");
    retarget_ok(&[
        "capture",
        "--model",
        s(&model),
        "-i",
        s(&swahili),
        "--site",
        "residual:1",
        "--site",
        "mlp-activation:0",
        "--pool",
        "mean",
        "--out",
        s(&captured),
    ]);
    let read = |path: &Path, name: &str| -> (Vec<usize>, Vec<f32>) {
        let bytes = std::fs::read(path).unwrap();
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let tensor = file.tensor(name).unwrap();
        let values = tensor
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        (tensor.shape().to_vec(), values)
    };
    // The blank English line is skipped: 3 + 3 lines of features.
    let (shape, features) = read(&vectors, "features");
    let hidden = shape[1];
    assert_eq!(shape, [6, hidden]);
    // Capture's mean residual after layer 1 is the same representation, and
    // the Swahili mean vector is its mean over the lines.
    let (shape, rows) = read(&captured, "residual:1");
    assert_eq!(shape, [3, hidden]);
    assert_eq!(&features[3 * hidden..], rows.as_slice());
    let (_, swahili_vector) = read(&vectors, "vector.swh");
    for (j, v) in swahili_vector.iter().enumerate() {
        let mean = (0..3).map(|i| f64::from(rows[i * hidden + j])).sum::<f64>() / 3.0;
        assert!((f64::from(*v) - mean).abs() < 1e-5, "{v} vs {mean}");
    }
    assert_eq!(read(&captured, "mlp-activation:0").0[0], 3);
    let plain = total_nll(&model, &english, None);
    let none = format!("{}:shift=eng>swh,alpha=0", s(&vectors));
    let shift = format!("{}:shift=eng>swh,alpha=2", s(&vectors));
    let generated_only = format!("{}:shift=eng>swh,alpha=2,at=generated", s(&vectors));
    assert_eq!(total_nll(&model, &english, Some(&none)), plain);
    assert_ne!(total_nll(&model, &english, Some(&shift)), plain);
    // `score` runs its text as a prompt: a shift on generated tokens only
    // changes nothing there.
    assert_eq!(total_nll(&model, &english, Some(&generated_only)), plain);
    let lda = dir.path().join("lda.safetensors");
    retarget_ok(&[
        "steer",
        "fit",
        "itlc",
        "--model",
        s(&model),
        "--text",
        &format!("eng={}", s(&english)),
        "--text",
        &format!("swh={}", s(&swahili)),
        "--out",
        s(&lda),
    ]);
    assert_eq!(read(&lda, "lda.scalings").0, [hidden, 1]);
    let fresh = dir.path().join("fresh.safetensors");
    assert_each_exits_2(
        &[
            "steer",
            "fit",
            "itlc",
            "--model",
            s(&model),
            "--out",
            s(&fresh),
        ],
        vec![
            (
                vec![
                    "--text",
                    &format!("eng={}", s(&english)),
                    "--text",
                    &format!("swh={}", s(&swahili)),
                    "--layer",
                    "9",
                ],
                "out of range",
            ),
            (
                vec!["--text", &format!("eng={}", s(&english))],
                "two or more",
            ),
        ],
    );
    assert!(!fresh.exists());
}
