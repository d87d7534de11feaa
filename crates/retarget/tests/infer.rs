//! `score`, `generate`, `lens` and `translate` end to end: output formats,
//! exit codes and messages.

mod common;

use std::process::Command;

use common::{assert_each_exits_2, json_lines, retarget_ok, s};
use retarget_fixtures::{write_fixture, Fixture};

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
            (vec!["--model", s(&other), "-i", s(&text)], "model type `gpt_neox` is not supported for inference (supported: llama, mistral, qwen2, qwen3, gemma, gemma3_text, bert, xlm-roberta, roberta, t5, mt5, marian, m2m_100)"),
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
