//! `vocab trim` and `adapt` end to end: the written models, the reports, and
//! that bad input writes nothing.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_each_exits_2, assert_nothing_written, json_lines, retarget, retarget_ok, s};
use retarget_fixtures::{write_fixture, Fixture};

#[test]
fn vocab_trim_writes_a_smaller_model_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bert");
    write_fixture(Fixture::Bert, &model).unwrap();
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(&corpus, retarget_fixtures::corpus::lines()[..3].join("\n")).unwrap();
    let out = dir.path().join("trimmed");
    let result = retarget(&[
        "vocab",
        "trim",
        "--model",
        s(&model),
        "--corpus",
        s(&corpus),
        "--out",
        s(&out),
        "--json",
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&result.stdout).unwrap();
    assert!(
        report["tokens_after"].as_u64() < report["tokens_before"].as_u64(),
        "{report}"
    );
    assert!(retarget(&["inspect", s(&out)]).status.success());

    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let again = dir.path().join("again");
    let trim = ["vocab", "trim", "--out", s(&again), "--model"];
    assert_each_exits_2(
        &trim,
        vec![
            (vec![s(&model), "--corpus", s(&empty)], "empty"),
            (
                vec![s(&dir.path().join("nowhere")), "--corpus", s(&corpus)],
                "nowhere",
            ),
        ],
    );
    assert_nothing_written(dir.path(), &again);
}

/// The untied llama fixture and a Swahili corpus (60 lines) in `dir`: the
/// model folder, the corpus file and its text.
fn llama_and_swahili(dir: &Path) -> (PathBuf, PathBuf, String) {
    let model = dir.join("llama");
    write_fixture(Fixture::LlamaUntied, &model).unwrap();
    let corpus = dir.join("swahili.txt");
    let text = "kwaheri rafiki yangu habari za asubuhi tunakwenda sokoni leo\nwatoto wanasoma vitabu shuleni kila siku\n".repeat(30);
    std::fs::write(&corpus, &text).unwrap();
    (model, corpus, text)
}

#[test]
fn adapt_expands_reports_and_refuses_unknown_languages() {
    let dir = tempfile::tempdir().unwrap();
    let (model, corpus, text) = llama_and_swahili(dir.path());
    let out = dir.path().join("adapted");
    let args = [
        "adapt",
        "--model",
        s(&model),
        "--lang",
        "swh",
        "--corpus",
        s(&corpus),
        "--add",
        "10",
    ];
    let mut full = args.to_vec();
    full.extend(["--out", s(&out), "--json"]);
    let result = retarget(&full);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["lang"], "swh");
    assert_eq!(
        report["after"]["tokens"].as_u64().unwrap(),
        report["before"]["tokens"].as_u64().unwrap() + 10
    );
    let (before, after) = (
        &report["before"]["held_out"]["fertility"],
        &report["after"]["held_out"]["fertility"],
    );
    assert!(after.as_f64() < before.as_f64(), "{report}");
    // Bits per byte of the held-out tenth: the base model's equals `retarget score`'s.
    let held_out = dir.path().join("held-out.txt");
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&held_out, lines[lines.len() - 6..].join("\n")).unwrap();
    let scored = json_lines(&["score", "--model", s(&model), "-i", s(&held_out), "--json"]);
    let summary = scored.last().unwrap();
    let base_bpb = report["before"]["bits_per_byte"].as_f64().unwrap();
    assert!(
        (base_bpb - summary["bits_per_byte"].as_f64().unwrap()).abs() < 1e-9,
        "{report}"
    );
    let inits = report["initialisations"].as_array().unwrap();
    let names: Vec<&str> = inits.iter().map(|i| i["init"].as_str().unwrap()).collect();
    assert_eq!(names, ["mean", "random"]);
    assert_eq!(inits[0]["bits_per_byte"], report["after"]["bits_per_byte"]);
    assert_ne!(inits[0]["bits_per_byte"], inits[1]["bits_per_byte"]);
    assert!(report["scoring"].is_null());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // Parity against a reference text parallel to the held-out text.
    let held = dir.path().join("held.txt");
    std::fs::write(&held, "watoto wanasoma vitabu\nhabari za asubuhi\n").unwrap();
    let english = dir.path().join("english.txt");
    std::fs::write(&english, "children read books\ngood morning\n").unwrap();
    let with_parity = dir.path().join("with-parity");
    let mut full = args.to_vec();
    full.extend([
        "--held-out",
        s(&held),
        "--parallel-ref",
        s(&english),
        "--out",
        s(&with_parity),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&retarget_ok(&full)).unwrap();
    let (before, after) = (&report["before"]["held_out"], &report["after"]["held_out"]);
    let reference_tokens =
        before["counts"]["tokens"].as_f64().unwrap() / before["parity"].as_f64().unwrap();
    let after_parity = after["counts"]["tokens"].as_f64().unwrap() / reference_tokens;
    assert!(
        (after["parity"].as_f64().unwrap() - after_parity).abs() < 1e-9,
        "same reference count: {report}"
    );
    let one_line = dir.path().join("one.txt");
    std::fs::write(&one_line, "children read books\n").unwrap();
    let mismatch = dir.path().join("mismatch");
    let mut bad_ref = args.to_vec();
    bad_ref.extend(["--held-out", s(&held), "--parallel-ref", s(&one_line)]);
    assert_each_exits_2(
        &bad_ref,
        vec![(vec!["--out", s(&mismatch)], "parity needs them parallel")],
    );
    assert_nothing_written(dir.path(), &mismatch);
    let again = dir.path().join("again");
    let mut bad = args.to_vec();
    bad[4] = "xx-nope";
    assert_each_exits_2(&bad, vec![(vec!["--out", s(&again)], "unknown language")]);
    assert_nothing_written(dir.path(), &again);
}

/// Trimming renormalises the softmax over the kept tokens, which lowers
/// held-out bits per byte by itself: the report keeps that apart from the
/// initialisation's effect (`after` is the untrimmed model, as without
/// `--trim`), and every difference carries an interval around its value.
#[test]
fn adapt_reports_trimming_apart_from_the_initialisation() {
    let dir = tempfile::tempdir().unwrap();
    let (model, corpus, _) = llama_and_swahili(dir.path());
    let held = dir.path().join("held.txt");
    std::fs::write(
        &held,
        "watoto wanasoma vitabu\nhabari za asubuhi\nrafiki yangu leo\nkila siku shuleni\nkwaheri watoto\ntunakwenda sokoni kila siku\n",
    )
    .unwrap();
    let run = |name: &str, trim: bool| -> serde_json::Value {
        let out = dir.path().join(name);
        let mut args = vec![
            "adapt",
            "--model",
            s(&model),
            "--lang",
            "swh",
            "--corpus",
            s(&corpus),
            "--held-out",
            s(&held),
            "--add",
            "10",
            "--out",
            s(&out),
            "--json",
        ];
        if trim {
            args.push("--trim");
        }
        serde_json::from_str(&retarget_ok(&args)).unwrap()
    };
    let (untrimmed, trimmed) = (run("untrimmed", false), run("trimmed", true));
    let bpb = |r: &serde_json::Value, path: &[&str]| -> f64 {
        path.iter().fold(r, |v, k| &v[*k]).as_f64().unwrap()
    };
    // The initialisation's effect is the same with and without trimming.
    assert_eq!(
        trimmed["after"]["bits_per_byte"],
        untrimmed["after"]["bits_per_byte"]
    );
    assert_eq!(
        trimmed["deltas"]["bits_per_byte"],
        untrimmed["deltas"]["bits_per_byte"]
    );
    assert_eq!(
        trimmed["after"]["bits_per_byte"],
        trimmed["initialisations"][0]["bits_per_byte"]
    );
    assert!(untrimmed["trimming"].is_null());
    // Trimming's own line: lower, labelled, and the model written is the one measured.
    let (after, cut) = (
        bpb(&trimmed, &["after", "bits_per_byte"]),
        bpb(&trimmed, &["trimming", "bits_per_byte"]),
    );
    assert!(cut < after, "{trimmed}");
    assert!(
        (bpb(&trimmed, &["trimming", "delta", "value"]) - (cut - after)).abs() < 1e-12,
        "{trimmed}"
    );
    assert!(trimmed["trimming"]["note"]
        .as_str()
        .unwrap()
        .contains("renormalised"));
    let scored = json_lines(&[
        "score",
        "--model",
        s(&dir.path().join("trimmed")),
        "-i",
        s(&held),
        "--json",
    ]);
    let written = scored.last().unwrap()["bits_per_byte"].as_f64().unwrap();
    assert!((written - cut).abs() < 1e-9, "{written} vs {cut}");
    // Every difference: its value after − before, inside its interval.
    let before = bpb(&trimmed, &["before", "bits_per_byte"]);
    for (delta, value) in [
        (&trimmed["deltas"]["bits_per_byte"], after - before),
        (&trimmed["trimming"]["delta"], cut - after),
        (
            &trimmed["deltas"]["fertility"],
            bpb(&trimmed, &["after", "held_out", "fertility"])
                - bpb(&trimmed, &["before", "held_out", "fertility"]),
        ),
    ] {
        let (v, low, high) = (
            delta["value"].as_f64().unwrap(),
            delta["low"].as_f64().unwrap(),
            delta["high"].as_f64().unwrap(),
        );
        assert!((v - value).abs() < 1e-9 && low <= v && v <= high, "{delta}");
    }
    assert_eq!(trimmed["uncertainty"]["lines"], 6);
}

#[test]
fn adapt_replaces_the_vocabulary_with_one_trained_on_the_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let (model, corpus, _) = llama_and_swahili(dir.path());
    let out = dir.path().join("adapted");
    let result = retarget(&[
        "adapt",
        "--model",
        s(&model),
        "--lang",
        "sw",
        "--corpus",
        s(&corpus),
        "--replace",
        "--out",
        s(&out),
        "--json",
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["replaced"], true);
    // The trained tokenizer has the old size at most (the default).
    assert!(
        report["after"]["tokens"].as_u64().unwrap() <= 400,
        "{report}"
    );
    let inits = report["initialisations"].as_array().unwrap();
    let names: Vec<&str> = inits.iter().map(|i| i["init"].as_str().unwrap()).collect();
    // FOCUS trains its vectors on the corpus, so it is compared too.
    assert_eq!(names, ["mean", "random", "focus"], "{report}");
    assert!(
        inits.iter().all(|i| i["bits_per_byte"].is_f64()),
        "{report}"
    );
    let (before, after) = (
        report["before"]["held_out"]["fertility"].as_f64().unwrap(),
        report["after"]["held_out"]["fertility"].as_f64().unwrap(),
    );
    assert!(after < before, "{report}");
    let tokenizer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("tokenizer.json")).unwrap()).unwrap();
    assert_eq!(
        tokenizer["model"]["vocab"].as_object().unwrap().len() as u64,
        report["after"]["tokens"].as_u64().unwrap()
    );
    // CLP and FOCUS only make sense with --replace.
    let refused = retarget(&[
        "adapt",
        "--model",
        s(&model),
        "--lang",
        "sw",
        "--corpus",
        s(&corpus),
        "--init",
        "focus",
        "--out",
        s(&dir.path().join("x")),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--replace"));
    assert!(!dir.path().join("x").exists());
}
