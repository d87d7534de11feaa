//! The `retarget` binary end to end: output formats, exit codes, and that bad
//! input writes nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use retarget_fixtures::broken::{folder_with_weights, gguf_with_type, BROKEN_SAFETENSORS};
use retarget_fixtures::{write_fixture, Fixture};

fn retarget(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retarget"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Runs `retarget ARGS`, fails the test with its standard error unless it
/// succeeds, and returns its standard output.
fn retarget_ok(args: &[&str]) -> String {
    let out = retarget(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The JSON Lines a successful `retarget ARGS` prints.
fn json_lines(args: &[&str]) -> Vec<serde_json::Value> {
    retarget_ok(args)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `command` followed by each case's arguments and asserts exit code 2
/// with the case's message on standard error.
fn assert_each_exits_2(command: &[&str], cases: Vec<(Vec<&str>, &str)>) {
    for (args, message) in cases {
        let mut full = command.to_vec();
        full.extend(args);
        let out = retarget(&full);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{full:?}: {stderr}");
        assert!(stderr.contains(message), "{full:?}: {stderr}");
    }
}

fn assert_nothing_written(parent: &Path, out: &Path) {
    assert!(!out.exists(), "{} was created", out.display());
    let partial: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("retarget-partial"))
        .collect();
    assert!(partial.is_empty(), "left behind: {partial:?}");
}

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
fn eval_score_bad_input_exits_2_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let reference = write("ref.txt", b"a b c\nd e f\n");
    let hyp = write("hyp.txt", b"a b c\nd e\n");
    let short = write("short.txt", b"a b c\n");
    let empty = write("empty.txt", b"");
    let latin1 = write("latin1.txt", b"a b c\ncaf\xe9\n");
    let ok = retarget(&[
        "eval",
        "score",
        s(&reference),
        "-i",
        s(&hyp),
        "-m",
        "bleu",
        "chrf",
        "ter",
        "-f",
        "text",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8(ok.stdout).unwrap().lines().count(), 3);
    let cases = vec![
        (
            vec![s(&reference), "-i", s(&short)],
            "has 2 lines but the hypothesis file",
        ),
        (
            vec![s(&reference), "-i", s(&empty)],
            "empty.txt: the file is empty",
        ),
        (
            vec![s(&reference), "-i", s(&latin1)],
            "latin1.txt: line 2: invalid UTF-8",
        ),
        (
            vec![s(&reference), "-i", s(&hyp), "-tok", "ja-mecab"],
            "not supported",
        ),
        (
            vec![s(&reference), "-i", s(&hyp), "-tok", "klingon"],
            "unknown tokenizer",
        ),
        (
            vec![s(&reference), "-i", "/nonexistent/hyp.txt"],
            "/nonexistent/hyp.txt",
        ),
    ];
    assert_each_exits_2(&["eval", "score"], cases);
}

#[test]
fn eval_tokenizer_reports_fertility_and_parity() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bert");
    write_fixture(Fixture::Bert, &model).unwrap();
    let eng = dir.path().join("eng.txt");
    let swh = dir.path().join("swh.txt");
    std::fs::write(
        &eng,
        "The teacher wrote the new words\nEvery language has its own music\n",
    )
    .unwrap();
    std::fs::write(
        &swh,
        "Mwalimu aliandika maneno mapya\nKila lugha ina muziki wake\n",
    )
    .unwrap();
    let eng_arg = format!("eng={}", eng.display());
    let swh_arg = format!("swh={}", swh.display());
    let out = retarget(&[
        "eval",
        "tokenizer",
        "--tokenizer",
        s(&model),
        "--text",
        &eng_arg,
        "--text",
        &swh_arg,
        "--parallel-ref",
        "eng",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let eng_row = &rows[0];
    assert_eq!(eng_row["lang"], "eng");
    assert_eq!(eng_row["parity"], 1.0);
    assert_eq!(eng_row["counts"]["words"], 12);
    let tokens = eng_row["counts"]["tokens"].as_f64().unwrap();
    assert!((eng_row["fertility"].as_f64().unwrap() - tokens / 12.0).abs() < 1e-12);
    let swh_row = &rows[1];
    let parity = swh_row["counts"]["tokens"].as_f64().unwrap() / tokens;
    assert!((swh_row["parity"].as_f64().unwrap() - parity).abs() < 1e-12);

    let bad = retarget(&[
        "eval",
        "tokenizer",
        "--tokenizer",
        s(&model),
        "--text",
        "eng",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let missing = retarget(&[
        "eval",
        "tokenizer",
        "--tokenizer",
        "/nonexistent",
        "--text",
        &eng_arg,
    ]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn eval_score_reads_the_hypothesis_from_stdin() {
    use std::io::Write;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("ref.txt");
    let hyp = dir.path().join("hyp.txt");
    std::fs::write(&reference, "the cat sat on the mat\na b c d\n").unwrap();
    std::fs::write(&hyp, "the cat is on the mat\na b c\n").unwrap();
    let from_file = retarget(&[
        "eval",
        "score",
        s(&reference),
        "-i",
        s(&hyp),
        "-b",
        "-w",
        "6",
    ]);
    let run = |input: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_retarget"))
            .args(["eval", "score", s(&reference), "-b", "-w", "6"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let from_stdin = run(&std::fs::read(&hyp).unwrap());
    assert!(
        from_stdin.status.success(),
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    assert_eq!(from_stdin.stdout, from_file.stdout);
    let tabs = run(b"a\tb\nc\td\n");
    assert_eq!(tabs.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&tabs.stderr).contains("tab-separated"));
}

#[test]
fn eval_langid_reports_languages_and_the_off_target_rate() {
    use retarget_fixtures::fasttext::{two_language_model, FastTextLoss};
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("lid.ftz");
    std::fs::write(&model, two_language_model(FastTextLoss::Softmax, true)).unwrap();
    let input = dir.path().join("out.txt");
    std::fs::write(&input, "habari\nhello\n\nhabari habari\nhello hello\n").unwrap();
    let backend = format!("fasttext:{}", s(&model));
    let out = retarget(&[
        "eval",
        "langid",
        "-i",
        s(&input),
        "--backend",
        &backend,
        "--expect",
        "swh_Latn",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &json["summary"];
    assert_eq!(summary["lines"], 5);
    assert_eq!(summary["blank"], 1);
    assert_eq!(summary["expected"], "swh_Latn");
    assert_eq!(summary["on_target"], 2); // `sw` is the macrolanguage of `swh`
    assert_eq!(summary["off_target"], 2);
    assert_eq!(summary["off_target_rate"], 0.5);
    assert_eq!(json["lines"][0]["language"], "swa");
    assert_eq!(json["lines"][0]["label"], "sw");
    assert_eq!(json["lines"][1]["language"], "eng");
    assert!(json["lines"][2]["language"].is_null());

    let text = retarget(&[
        "eval",
        "langid",
        "-i",
        s(&input),
        "--backend",
        &backend,
        "--expect",
        "sw",
    ]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.starts_with("swa\t0.7311\neng\t0.7311\n-\t-\n"),
        "{text}"
    );
    assert!(text.contains("off-target rate 50.00%"), "{text}");
}

#[test]
fn eval_langid_lingua_identifies_clear_sentences() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.txt");
    std::fs::write(
        &input,
        "All human beings are born free and equal in dignity and rights.\n\
         Все люди рождаются свободными и равными в своем достоинстве и правах.\n\
         Watu wote wamezaliwa huru, hadhi na haki zao ni sawa.\n\
         Gizon-emakume guztiak aske jaiotzen dira, duintasun eta eskubide berberak dituztela.\n",
    )
    .unwrap();
    let out = retarget(&[
        "eval",
        "langid",
        "-i",
        s(&input),
        "--expect",
        "en",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let langs: Vec<&str> = json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["language"].as_str().unwrap())
        .collect();
    assert_eq!(langs, ["eng", "rus", "swa", "eus"]);
    assert_eq!(json["summary"]["off_target"], 3);

    // Restricted to two languages, a line is one of them or undetermined
    // (lingua has no candidate for Cyrillic text then).
    let out = retarget(&[
        "eval",
        "langid",
        "-i",
        s(&input),
        "--langs",
        "swh,en",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["backend"], "lingua (2 languages)");
    let langs: Vec<Option<&str>> = json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["language"].as_str())
        .collect();
    assert_eq!(langs[..3], [Some("eng"), None, Some("swa")]);
    assert!(matches!(langs[3], None | Some("eng") | Some("swa")));
}

#[test]
fn eval_langid_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "hello\n").unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let latin1 = dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"ok\ncaf\xe9\n").unwrap();
    let missing_model = format!("fasttext:{}", s(&dir.path().join("nope.bin")));
    let cases = vec![
        (
            vec!["-i", s(&input), "--expect", "xx"],
            "unknown language code 'xx'",
        ),
        (
            vec!["-i", s(&input), "--backend", &missing_model],
            "nope.bin",
        ),
        (
            vec!["-i", s(&input), "--backend", "cld3"],
            "unknown language-identification backend",
        ),
        (vec!["-i", s(&empty)], "empty.txt: the file is empty"),
        (vec!["-i", s(&latin1)], "latin1.txt: line 2: invalid UTF-8"),
        (
            vec!["-i", s(&input), "--expect", "tat"],
            "cannot identify tat (Tatar)",
        ),
        (
            vec!["-i", s(&input), "--langs", "eng,tat"],
            "lingua cannot identify tat",
        ),
        (
            vec!["-i", s(&input), "--langs", "eng,swh", "--expect", "rus"],
            "lingua (2 languages) cannot identify rus",
        ),
    ];
    assert_each_exits_2(&["eval", "langid"], cases);
}

/// Expected values from sacrebleu 2.6.0's `PairedTest` (seed 12345) on the
/// same three files.
#[test]
fn eval_score_paired_tests_give_sacrebleus_p_values() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, lines: &[&str]| {
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        path
    };
    let reference = write(
        "ref.txt",
        &[
            "the cat sat on the mat",
            "a dog ran in the park",
            "it is raining today",
            "we went to the market",
            "she reads a long book",
            "the river flows to the sea",
            "he plays the guitar well",
            "they built a small house",
            "the children sing loudly",
            "my friend lives in Nairobi",
            "the train leaves at noon",
            "birds fly south in winter",
        ],
    );
    let baseline = write(
        "base.txt",
        &[
            "the cat sat on mat",
            "a dog runs in the park",
            "it rains today",
            "we go to the market",
            "she reads a book",
            "the river flows to sea",
            "he plays guitar well",
            "they built small house",
            "children sing loudly",
            "my friend lives Nairobi",
            "the train leaves at noon",
            "birds fly in winter",
        ],
    );
    let other = write(
        "other.txt",
        &[
            "the cat is on the mat",
            "the dog ran in a park",
            "it is raining today",
            "we went to market",
            "she is reading a long book",
            "a river flows to the sea",
            "he plays the guitar",
            "they build a house",
            "the children sing",
            "my friend lives in Nairobi",
            "train leaves noon",
            "birds fly south in winter",
        ],
    );
    let run = |flags: &[&str]| -> serde_json::Value {
        let mut args = vec![
            "eval",
            "score",
            s(&reference),
            "-i",
            s(&baseline),
            s(&other),
            "-m",
            "bleu",
            "chrf",
            "ter",
        ];
        args.extend(flags);
        let out = retarget(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let close = |a: &serde_json::Value, b: f64, tol: f64| (a.as_f64().unwrap() - b).abs() <= tol;
    let bs = run(&["-pbs"]);
    assert_eq!(bs[0]["system"], format!("Baseline: {}", s(&baseline)));
    for (metric, score, p, mean, ci) in [
        (
            "BLEU",
            55.91547496980774,
            0.13886113886113885,
            55.1378404756176,
            18.452431000784138,
        ),
        (
            "chrF2",
            75.05095071225362,
            0.2087912087912088,
            74.71082305908203,
            9.724422454833984,
        ),
        (
            "TER",
            21.311475409836063,
            0.3196803196803197,
            21.497543334960938,
            8.097795486450195,
        ),
    ] {
        let r = &bs[1][metric];
        assert!(
            close(&r["score"], score, 1e-9) && close(&r["p_value"], p, 1e-12),
            "{metric}: {r}"
        );
        // sacrebleu resamples in float32: means and intervals agree to ~1e-5.
        assert!(
            close(&r["mean"], mean, 1e-4) && close(&r["ci"], ci, 1e-4),
            "{metric}: {r}"
        );
    }
    assert!(bs[0]["BLEU"]["p_value"].is_null());
    assert!(close(&bs[0]["BLEU"]["ci"], 17.04586164513669, 1e-4));
    let ar = run(&["-par", "-parn", "1000"]);
    for (metric, p) in [
        ("BLEU", 0.4195804195804196),
        ("chrF2", 0.6503496503496503),
        ("TER", 0.5934065934065934),
    ] {
        assert!(
            close(&ar[1][metric]["p_value"], p, 1e-12),
            "{metric}: {}",
            ar[1][metric]
        );
        assert!(ar[1][metric]["mean"].is_null());
    }
    // Another seed draws other resamples.
    let reseeded = run(&["-par", "-parn", "1000", "--seed", "7"]);
    assert_ne!(reseeded[1]["BLEU"]["p_value"], ar[1]["BLEU"]["p_value"]);
    // A paired test needs a second system.
    let single = retarget(&[
        "eval",
        "score",
        s(&reference),
        "-i",
        s(&baseline),
        "--paired-bs",
    ]);
    assert_eq!(single.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&single.stderr).contains("at least two systems"));
    // A system whose length differs from the references is named.
    let short = write("short.txt", &["just one line"]);
    assert_each_exits_2(
        &["eval", "score", s(&reference), "-i", s(&baseline)],
        vec![(
            vec![s(&short), "--paired-ar"],
            "short.txt: has 1 lines but the reference file",
        )],
    );
}

#[test]
fn eval_sentencepiece_tokenizers_need_a_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("t.txt");
    std::fs::write(&text, "hello world\n").unwrap();
    let broken = dir.path().join("broken.model");
    std::fs::write(&broken, b"\x0a\xff\xff\xff\xff\x0f junk").unwrap();
    let cases = vec![
        (
            vec!["score", s(&text), "-i", s(&text), "-tok", "flores200"],
            "needs its SentencePiece model: give --spm-model PATH",
        ),
        (
            vec![
                "score",
                s(&text),
                "-i",
                s(&text),
                "-tok",
                "flores101",
                "--spm-model",
                s(&broken),
            ],
            "broken.model: not a valid SentencePiece model",
        ),
        (
            vec![
                "score",
                s(&text),
                "-i",
                s(&text),
                "-tok",
                "13a",
                "--spm-model",
                s(&broken),
            ],
            "--spm-model goes with -tok flores101",
        ),
        (
            vec![
                "tokenize",
                "-i",
                s(&text),
                "--tokenize",
                "flores101",
                "--spm-model",
                "/nonexistent/x.model",
            ],
            "/nonexistent/x.model",
        ),
        (
            vec!["score", s(&text), "-i", s(&text), "-tok", "ja-mecab"],
            "MeCab",
        ),
    ];
    assert_each_exits_2(&["eval"], cases);
    let out = retarget(&["eval", "tokenize", "-i", s(&text), "--tokenize", "13a"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello world\n");
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

#[test]
fn score_prints_json_lines_and_saves_logits() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let input = dir.path().join("text.txt");
    std::fs::write(&input, "the cat sat on the mat\n\nhabari ya asubuhi\n").unwrap();
    let logits = dir.path().join("logits.safetensors");
    let rows = json_lines(&[
        "score",
        "--model",
        s(&model),
        "-i",
        s(&input),
        "--json",
        "--save-logits",
        s(&logits),
    ]);
    assert_eq!(rows.len(), 4, "three lines and a summary");
    assert_eq!(rows[1]["tokens"], 0);
    let tokens: u64 = rows[..3]
        .iter()
        .map(|r| r["tokens"].as_u64().unwrap())
        .sum();
    let nll: f64 = rows[..3].iter().map(|r| r["nll"].as_f64().unwrap()).sum();
    let summary = &rows[3];
    assert_eq!(summary["total_tokens"].as_u64().unwrap(), tokens);
    assert!((summary["total_nll"].as_f64().unwrap() - nll).abs() < 1e-9);
    let bytes = "the cat sat on the mat".len() + "habari ya asubuhi".len();
    let bpb = nll / std::f64::consts::LN_2 / bytes as f64;
    assert!((summary["bits_per_byte"].as_f64().unwrap() - bpb).abs() < 1e-9);
    assert!((summary["perplexity"].as_f64().unwrap() - (nll / tokens as f64).exp()).abs() < 1e-6);
    let saved = std::fs::read(&logits).unwrap();
    let saved = safetensors::SafeTensors::deserialize(&saved).unwrap();
    let vocab = 400;
    assert_eq!(saved.tensor("line.0").unwrap().shape()[1], vocab);
    assert_eq!(saved.tensor("line.1").unwrap().shape(), &[0, vocab]);
}

#[test]
fn generate_is_greedy_by_default_and_reproducible_when_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "generate",
            "--model",
            s(&model),
            "--prompt",
            "the cat",
            "--max-new-tokens",
            "6",
            "--json",
        ];
        args.extend(extra);
        json_lines(&args).remove(0)
    };
    let greedy = run(&[]);
    assert_eq!(greedy["ids"], run(&["--temperature", "0"])["ids"]);
    let sampled = run(&["--temperature", "1.2", "--seed", "5"]);
    assert_eq!(
        sampled["ids"],
        run(&["--temperature", "1.2", "--seed", "5"])["ids"]
    );
    let text = retarget_ok(&[
        "generate",
        "--model",
        s(&model),
        "--prompt",
        "the cat",
        "--max-new-tokens",
        "6",
    ]);
    assert_eq!(
        text.trim_end_matches('\n'),
        greedy["text"].as_str().unwrap()
    );
}

#[test]
fn inference_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let llama = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &llama).unwrap();
    let other = dir.path().join("gpt-neox");
    write_fixture(Fixture::LlamaTied, &other).unwrap();
    let config = std::fs::read_to_string(other.join("config.json")).unwrap();
    std::fs::write(
        other.join("config.json"),
        config.replace("\"llama\"", "\"gpt_neox\""),
    )
    .unwrap();
    let text = dir.path().join("text.txt");
    std::fs::write(&text, "the cat\n").unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let blank = dir.path().join("blank.txt");
    std::fs::write(&blank, "\n  \n").unwrap();
    let latin1 = dir.path().join("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9\n").unwrap();
    let long = dir.path().join("long.txt");
    std::fs::write(&long, format!("the cat\n{}\n", "word ".repeat(300))).unwrap();
    let long_prompt = "word ".repeat(300);
    assert_each_exits_2(
        &["score"],
        vec![
            (vec!["--model", s(&other), "-i", s(&text)], "model type `gpt_neox` is not supported for inference (supported: llama, mistral, qwen2, qwen3, gemma, m2m_100, marian, t5, mt5, bert, roberta, xlm-roberta)"),
            (vec!["--model", s(&llama), "-i", s(&empty)], "empty.txt"),
            (vec!["--model", s(&llama), "-i", s(&blank)], "no text to score"),
            (vec!["--model", s(&llama), "-i", s(&latin1)], "latin1.txt"),
            (vec!["--model", s(&llama), "-i", s(&long)], "long.txt: line 2: 900 tokens, longer than the model's context of 256"),
            (vec!["--model", s(&text), "-i", s(&text)], "text.txt"),
            (vec!["--model", "/nonexistent/model", "-i", s(&text)], "no such model folder or GGUF file"),
        ],
    );
    assert_each_exits_2(
        &["generate", "--model", s(&llama)],
        vec![
            (vec!["--prompt", &long_prompt], "the model's context is 256"),
            (vec!["--prompt", ""], "the prompt is empty"),
            (
                vec!["--prompt", "the", "--temperature=-1"],
                "temperature -1",
            ),
            (
                vec!["--prompt", "the", "--temperature", "1", "--top-p", "0"],
                "top-p 0",
            ),
            (
                vec!["--prompt", "the", "--device", "gpu"],
                "unknown device `gpu`: give cpu, cuda or cuda:N",
            ),
        ],
    );
    if !cfg!(feature = "cuda") {
        assert_each_exits_2(
            &["score", "--model", s(&llama), "-i", s(&text)],
            vec![(vec!["--device", "cuda"], "built without the `cuda` feature")],
        );
    }
}

#[test]
fn lens_reports_every_layer_caches_token_languages_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &model).unwrap();
    let cache = dir.path().join("cache");
    let lens = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_retarget"))
            .args([
                "lens",
                "--model",
                s(&model),
                "--prompt",
                "the cat sat",
                "--langs",
                "eng,swh",
            ])
            .args(extra)
            .env("XDG_CACHE_HOME", &cache)
            .output()
            .unwrap()
    };
    let out = lens(&["--json", "--top", "2"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let positions = report["prompt_ids"].as_array().unwrap().len();
    assert_eq!(
        report["readings"].as_array().unwrap().len(),
        3 * positions,
        "embeddings + 2 layers"
    );
    assert_eq!(report["languages"], serde_json::json!(["eng", "swh"]));
    let cached = std::path::PathBuf::from(report["token_languages"].as_str().unwrap());
    assert!(cached.starts_with(&cache), "{}", cached.display());
    let stamp = std::fs::metadata(&cached).unwrap().modified().unwrap();
    let table = lens(&[]);
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("layer") && text.lines().count() == 2 + 3,
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(&cached).unwrap().modified().unwrap(),
        stamp,
        "read from the cache"
    );
    assert_each_exits_2(
        &["lens", "--model", s(&model), "--prompt", "the"],
        vec![(
            vec!["--langs", "xx-nope"],
            "unknown language code 'xx-nope'",
        )],
    );
    let empty = Command::new(env!("CARGO_BIN_EXE_retarget"))
        .args(["lens", "--model", s(&model), "--prompt", ""])
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    assert_eq!(empty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("the prompt is empty"));
}

#[test]
fn translate_writes_lines_reports_the_off_target_rate_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let m2m = dir.path().join("m2m100");
    write_fixture(Fixture::M2m100, &m2m).unwrap();
    let llama = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &llama).unwrap();
    let input = dir.path().join("en.txt");
    std::fs::write(&input, "the cat sat on the mat\nhello world\n").unwrap();
    let output = dir.path().join("sw.txt");
    let report = retarget_ok(&[
        "translate",
        "--model",
        s(&m2m),
        "--src",
        "eng",
        "--tgt",
        "swh",
        "-i",
        s(&input),
        "-o",
        s(&output),
        "--beam",
        "2",
        "--max-new-tokens",
        "6",
    ]);
    assert_eq!(std::fs::read_to_string(&output).unwrap().lines().count(), 2);
    assert!(
        report.contains("off-target rate") && report.contains("swh"),
        "{report}"
    );
    let rows = json_lines(&[
        "translate",
        "--model",
        s(&m2m),
        "--src",
        "eng",
        "--tgt",
        "swh",
        "-i",
        s(&input),
        "--json",
        "--max-new-tokens",
        "4",
    ]);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2]["langid"]["lines"], 2);
    // A decoder-only model translates through a prompt.
    let prompted = retarget_ok(&[
        "translate",
        "--model",
        s(&llama),
        "--tgt",
        "swh",
        "-i",
        s(&input),
        "--max-new-tokens",
        "4",
    ]);
    assert_eq!(prompted.lines().count(), 2);
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();
    let swahili = ["--src", "eng", "--tgt", "swh", "-i", s(&input)];
    assert_each_exits_2(
        &["translate", "--model", s(&m2m)],
        vec![
            (vec!["--tgt", "swh", "-i", s(&input)], "give --src"),
            (
                vec!["--src", "eng", "--tgt", "deu", "-i", s(&input)],
                "no token for deu",
            ),
            (
                vec!["--src", "eng", "--tgt", "xx-nope", "-i", s(&input)],
                "unknown language code",
            ),
            (
                vec!["--src", "eng", "--tgt", "swh", "-i", s(&empty)],
                "empty.txt",
            ),
            (
                [&swahili[..], &["--device", "tpu"]].concat(),
                "unknown device `tpu`",
            ),
            ([&swahili[..], &["--beam", "0"]].concat(), "at least 1"),
        ],
    );
    assert!(!dir.path().join("out2.txt").exists());
    assert_each_exits_2(
        &["generate", "--model", s(&m2m), "--prompt", "hello"],
        vec![(vec![], "use `retarget translate`")],
    );
    assert_each_exits_2(
        &["score", "--model", s(&m2m), "-i", s(&input)],
        vec![
            (vec![], "give --source"),
            (vec!["--source", s(&empty), "--tgt", "swh"], "empty.txt"),
        ],
    );
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
