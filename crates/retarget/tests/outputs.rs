//! Every file a command writes follows one rule: never into or over an input,
//! never over an existing file without `--force`, checked before the work and
//! written atomically; signals and kills leave no debris for long.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_exits_2, retarget, retarget_ok, s, temporaries};
use retarget_fixtures::broken::safetensors_bytes;
use retarget_fixtures::{write_fixture, Fixture};

/// A llama fixture, a text to score, and an unrelated existing file.
struct Setup {
    dir: tempfile::TempDir,
    model: PathBuf,
    input: PathBuf,
    existing: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("llama");
        write_fixture(Fixture::LlamaTied, &model).unwrap();
        let input = dir.path().join("text.txt");
        std::fs::write(&input, "the cat sat on the mat\n").unwrap();
        let existing = dir.path().join("notes.txt");
        std::fs::write(&existing, "a user's notes\n").unwrap();
        Setup {
            dir,
            model,
            input,
            existing,
        }
    }

    /// Every file of the setup, with its bytes.
    fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = vec![self.input.clone(), self.existing.clone()];
        for entry in std::fs::read_dir(&self.model).unwrap() {
            files.push(entry.unwrap().path());
        }
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).unwrap();
                (p, bytes)
            })
            .collect()
    }

    /// Destinations that must be refused with the message expected, with and
    /// without --force.
    fn refused(&self) -> Vec<(PathBuf, bool, &'static str)> {
        let m = &self.model;
        vec![
            (m.join("model.safetensors"), true, "inside the input folder"),
            (m.join("tokenizer.json"), true, "inside the input folder"),
            (m.join("new-file.txt"), true, "inside the input folder"),
            (self.input.clone(), true, "is the input"),
            (self.existing.clone(), false, "pass --force"),
            (self.dir.path().to_path_buf(), true, "is a folder"),
            (
                self.dir.path().join("no/such/dir.txt"),
                false,
                "does not exist",
            ),
        ]
    }
}

#[test]
fn score_save_logits_never_overwrites_inputs_or_existing_files() {
    let t = Setup::new();
    let before = t.snapshot();
    let base = ["score", "--model", s(&t.model), "-i", s(&t.input)];
    for (dest, force, message) in t.refused() {
        let mut args = base.to_vec();
        args.extend(["--save-logits", s(&dest)]);
        if force {
            args.push("--force");
        }
        assert_exits_2(&args, message);
    }
    assert_eq!(t.snapshot(), before, "an input or existing file changed");
    // --force replaces a file that is not an input, atomically.
    let mut args = base.to_vec();
    args.extend(["--save-logits", s(&t.existing), "--force"]);
    retarget_ok(&args);
    let saved = std::fs::read(&t.existing).unwrap();
    assert!(safetensors::SafeTensors::deserialize(&saved).is_ok());
    assert!(temporaries(t.dir.path()).is_empty());
}

#[test]
fn translate_output_never_overwrites_inputs_or_existing_files() {
    let t = Setup::new();
    let before = t.snapshot();
    let base = [
        "translate",
        "--model",
        s(&t.model),
        "--tgt",
        "swh",
        "-i",
        s(&t.input),
        "--max-new-tokens",
        "2",
    ];
    for (dest, force, message) in t.refused() {
        let mut args = base.to_vec();
        args.extend(["-o", s(&dest)]);
        if force {
            args.push("--force");
        }
        assert_exits_2(&args, message);
    }
    assert_eq!(t.snapshot(), before, "an input or existing file changed");
    let mut args = base.to_vec();
    args.extend(["-o", s(&t.existing), "--force"]);
    retarget_ok(&args);
    assert_ne!(std::fs::read(&t.existing).unwrap(), b"a user's notes\n");
    assert!(temporaries(t.dir.path()).is_empty());
}

#[test]
fn folder_outputs_refuse_dangling_links_before_the_work() {
    let t = Setup::new();
    let link = t.dir.path().join("out");
    std::os::unix::fs::symlink(t.dir.path().join("gone"), &link).unwrap();
    assert_exits_2(&["convert", s(&t.model), s(&link)], "which does not exist");
    assert_exits_2(
        &[
            "vocab",
            "trim",
            "--model",
            s(&t.model),
            "--corpus",
            s(&t.input),
            "--out",
            s(&link),
        ],
        "which does not exist",
    );
    assert!(temporaries(t.dir.path()).is_empty());
}

/// A model folder big enough (128 MB of f32) that converting it to f16 takes
/// a while in a test build.
fn big_model(dir: &Path) -> PathBuf {
    let model = dir.join("big");
    std::fs::create_dir(&model).unwrap();
    std::fs::write(
        model.join("config.json"),
        r#"{"model_type": "llama", "vocab_size": 2, "hidden_size": 16777216}"#,
    )
    .unwrap();
    let len = 2 * 16_777_216 * 4;
    let header = format!(
        r#"{{"model.embed_tokens.weight":{{"dtype":"F32","shape":[2,16777216],"data_offsets":[0,{len}]}}}}"#
    );
    std::fs::write(
        model.join("model.safetensors"),
        safetensors_bytes(&header, len),
    )
    .unwrap();
    model
}

/// Starts `retarget convert MODEL OUT --dtype f16`, waits until its temporary
/// output exists, sends `signal`, and returns the exit status.
fn convert_and_signal(model: &Path, out: &Path, signal: &str) -> std::process::ExitStatus {
    let parent = out.parent().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_retarget"))
        .args(["convert", s(model), s(out), "--dtype", "f16"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while temporaries(parent).is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "convert ended before it was signalled"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    child.wait().unwrap()
}

#[test]
fn signals_remove_temporaries_and_kills_are_cleaned_up_by_the_next_run() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let model = big_model(dir.path());
    let out = dir.path().join("out");
    for (signal, code) in [("-TERM", 143), ("-INT", 130)] {
        let status = convert_and_signal(&model, &out, signal);
        assert_eq!(status.code(), Some(code), "{signal}: {status:?}");
        assert!(!out.exists());
        assert!(temporaries(dir.path()).is_empty(), "{signal} left debris");
    }
    // SIGKILL cannot be handled: the temporary stays until the next run
    // beside it, which removes it and says so.
    let status = convert_and_signal(&model, &out, "-KILL");
    assert_eq!(status.signal(), Some(9));
    let left = temporaries(dir.path());
    assert_eq!(left.len(), 1, "{left:?}");
    let tiny = dir.path().join("tiny");
    write_fixture(Fixture::LlamaTied, &tiny).unwrap();
    let next = retarget(&["convert", s(&tiny), s(&dir.path().join("tiny-copy"))]);
    assert!(next.status.success());
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert!(
        stderr.contains(&left[0]) && stderr.contains("no longer runs"),
        "{stderr}"
    );
    assert!(temporaries(dir.path()).is_empty());
}

/// Runs `retarget ARGS`, reads one byte of its standard output and closes
/// the pipe, then asserts it ended without a panic.
fn close_stdout_early(args: &[&str]) {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_retarget"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
}

#[test]
fn a_closed_standard_output_ends_quietly() {
    let t = Setup::new();
    // Far more than a pipe holds, so the writes after the close fail.
    let big = t.dir.path().join("big.txt");
    std::fs::write(&big, "the cat sat on the mat.\n".repeat(40_000)).unwrap();
    close_stdout_early(&["eval", "tokenize", "-i", s(&big)]);
    close_stdout_early(&[
        "generate",
        "--model",
        s(&t.model),
        "--prompt",
        "the cat",
        "--max-new-tokens",
        "200",
        "--ignore-eos",
    ]);
}

#[test]
fn an_empty_output_folder_is_replaced_and_reports_name_only_existing_paths() {
    let t = Setup::new();
    let out = t.dir.path().join("adapted");
    std::fs::create_dir(&out).unwrap();
    let corpus = t.dir.path().join("corpus.txt");
    std::fs::write(&corpus, retarget_fixtures::corpus::lines().join("\n")).unwrap();
    let gguf_free = [
        "adapt",
        "--model",
        s(&t.model),
        "--lang",
        "swh",
        "--corpus",
        s(&corpus),
        "--add",
        "5",
        "--trim",
        "--out",
        s(&out),
    ];
    retarget_ok(&gguf_free);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    fn paths<'v>(value: &'v serde_json::Value, found: &mut Vec<&'v str>) {
        match value {
            serde_json::Value::String(s) if s.starts_with('/') => found.push(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| paths(v, found)),
            serde_json::Value::Object(map) => map.values().for_each(|v| paths(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    paths(&report, &mut found);
    assert!(found.len() >= 3, "{found:?}");
    for path in found {
        assert!(
            Path::new(path).exists(),
            "report.json names {path}, which does not exist"
        );
    }
    assert!(temporaries(t.dir.path()).is_empty());
    // A folder that is not empty is never replaced.
    assert_exits_2(&gguf_free, "already exists");
}
