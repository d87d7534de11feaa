//! Every numeric option at its extremes: each run ends with success or a
//! clear bad-input error (exit 2), never a panic, an overflow or a hang.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::s;
use retarget_fixtures::{write_fixture, Fixture};

/// Integers and floats no option should choke on.
const INTEGERS: &[&str] = &[
    "0",
    "1",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
];
const FLOATS: &[&str] = &["0", "-1", "1e308", "inf", "NaN", "-0"];

/// Runs `retarget ARGS` for at most `limit`; returns the exit code and
/// standard error, or fails the test on a hang.
fn run_bounded(args: &[String], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_retarget"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into(),
            );
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{args:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `base` with `option value` for every value, out folders made fresh.
fn check(dir: &Path, base: &[&str], option: &str, values: &[&str]) {
    for (i, value) in values.iter().enumerate() {
        let mut args: Vec<String> = base.iter().map(|a| a.to_string()).collect();
        let out = dir.join(format!("out-{}-{i}", option.trim_start_matches('-')));
        for a in &mut args {
            if a == "OUT" {
                *a = s(&out).to_string();
            }
        }
        args.push(option.to_string());
        args.push(value.to_string());
        let (code, stderr) = run_bounded(&args, Duration::from_secs(120));
        assert!(
            matches!(code, Some(0) | Some(2)) && !stderr.contains("panicked"),
            "{args:?} → {code:?}: {stderr}"
        );
    }
}

#[test]
fn numeric_options_at_their_extremes_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let llama = dir.path().join("llama");
    write_fixture(Fixture::LlamaTied, &llama).unwrap();
    let m2m = dir.path().join("m2m");
    write_fixture(Fixture::M2m100, &m2m).unwrap();
    let text = dir.path().join("text.txt");
    std::fs::write(&text, retarget_fixtures::corpus::lines().join("\n")).unwrap();
    let hyp = dir.path().join("hyp.txt");
    std::fs::write(&hyp, "the cat sat\na dog ran\n").unwrap();
    let reference = dir.path().join("ref.txt");
    std::fs::write(&reference, "the cat sat down\na dog ran off\n").unwrap();
    let (l, t) = (s(&llama), s(&text));

    let generate = [
        "generate",
        "--model",
        l,
        "--prompt",
        "the cat",
        "--max-new-tokens",
        "3",
    ];
    for option in ["--max-new-tokens", "--batch", "--seed"] {
        let mut base = generate.to_vec();
        if option == "--max-new-tokens" {
            base.truncate(5);
        }
        check(dir.path(), &base, option, INTEGERS);
    }
    for option in ["--temperature", "--top-p"] {
        check(dir.path(), &generate, option, FLOATS);
    }
    let translate = [
        "translate",
        "--model",
        s(&m2m),
        "--src",
        "eng",
        "--tgt",
        "swh",
        "-i",
        s(&hyp),
    ];
    for option in ["--beam", "--batch", "--max-new-tokens"] {
        check(dir.path(), &translate, option, INTEGERS);
    }
    check(
        dir.path(),
        &["lens", "--model", l, "--prompt", "the cat"],
        "--top",
        INTEGERS,
    );

    let score = ["eval", "score", s(&reference), "-i", s(&hyp)];
    for option in ["-w", "-cc", "-cw", "--chrf-beta", "--seed"] {
        let mut base = score.to_vec();
        base.extend(["-m", "bleu", "chrf"]);
        check(dir.path(), &base, option, INTEGERS);
    }
    let mut paired = score.to_vec();
    paired.push(s(&reference));
    for option in ["-pbsn", "-parn"] {
        let mut base = paired.clone();
        base.push(if option == "-pbsn" { "-pbs" } else { "-par" });
        check(
            dir.path(),
            &base,
            option,
            &["0", "1", "-1", "18446744073709551616"],
        );
    }
    check(
        dir.path(),
        &[&score[..], &["-s", "floor"]].concat(),
        "-sv",
        FLOATS,
    );

    let trim = ["vocab", "trim", "--model", l, "--corpus", t, "--out", "OUT"];
    for option in ["--keep-top", "--min-count", "--pad-to-multiple"] {
        check(dir.path(), &trim, option, INTEGERS);
    }
    let expand = [
        "vocab", "expand", "--model", l, "--corpus", t, "--out", "OUT",
    ];
    check(dir.path(), &expand, "--add", INTEGERS);
    check(
        dir.path(),
        &[&expand[..], &["--add", "5"]].concat(),
        "--seed",
        INTEGERS,
    );
    check(
        dir.path(),
        &[&expand[..], &["--replace"]].concat(),
        "--vocab-size",
        INTEGERS,
    );
    let adapt = [
        "adapt", "--model", l, "--lang", "swh", "--corpus", t, "--out", "OUT",
    ];
    check(
        dir.path(),
        &adapt,
        "--add",
        &["0", "-1", "18446744073709551616"],
    );

    let convert = ["convert", l, "OUT"];
    check(
        dir.path(),
        &convert,
        "--max-shard-size",
        &["0", "1", "1e400", "-5GB", "99999999999999999999GB"],
    );
}
