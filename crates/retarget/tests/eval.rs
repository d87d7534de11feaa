//! `eval score`, `eval tokenizer`, `eval langid` and the sacrebleu tokenizers
//! end to end: sacrebleu's output, exit codes and messages naming the file.

mod common;

use std::process::Command;

use common::{assert_each_exits_2, retarget, s};
use retarget_fixtures::{write_fixture, Fixture};

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

/// `eval langid -i INPUT ARGS… --json`, which must succeed, as JSON.
fn langid_json(input: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut command = vec!["eval", "langid", "-i", s(input)];
    command.extend_from_slice(args);
    command.push("--json");
    let out = retarget(&command);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each line's language in `eval langid --json` output (`None`: not identified).
fn line_languages(json: &serde_json::Value) -> Vec<Option<&str>> {
    json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["language"].as_str())
        .collect()
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
    let json = langid_json(&input, &["--backend", &backend, "--expect", "swh_Latn"]);
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
    let json = langid_json(&input, &["--expect", "en"]);
    assert_eq!(
        line_languages(&json),
        [Some("eng"), Some("rus"), Some("swa"), Some("eus")]
    );
    assert_eq!(json["summary"]["off_target"], 3);

    // Restricted to two languages, a line is one of them or undetermined
    // (lingua has no candidate for Cyrillic text then).
    let json = langid_json(&input, &["--langs", "swh,en"]);
    assert_eq!(json["backend"], "lingua (2 languages)");
    let langs = line_languages(&json);
    assert_eq!(langs[..3], [Some("eng"), None, Some("swa")]);
    assert!(matches!(langs[3], None | Some("eng") | Some("swa")));
}

#[test]
fn eval_langid_lingua_low_accuracy_mode() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.txt");
    std::fs::write(
        &input,
        "All human beings are born free and equal in dignity and rights.\n\
         Все люди рождаются свободными и равными в своем достоинстве и правах.\n\
         Watu wote wamezaliwa huru, hadhi na haki zao ni sawa.\n\
         la\n",
    )
    .unwrap();
    let high_json = langid_json(&input, &["--backend", "lingua"]);
    let low_json = langid_json(&input, &["--backend", "lingua:low"]);
    assert_eq!(high_json["backend"], "lingua (75 languages)");
    assert_eq!(low_json["backend"], "lingua (75 languages, low accuracy)");
    let (high, low) = (line_languages(&high_json), line_languages(&low_json));
    assert_eq!(low[..3], high[..3]);
    // Too short for trigrams: the low-accuracy mode does not guess, the
    // high-accuracy one does (from unigrams and bigrams).
    assert!(high[3].is_some());
    assert_eq!(low[3], None);
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
