//! Helpers shared by the binary's test files.
#![allow(dead_code)] // each test file uses its own share of them

use std::path::Path;
use std::process::{Command, Output};

/// Runs `retarget ARGS` to completion.
pub fn retarget(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_retarget"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Runs `retarget ARGS`, fails the test with its standard error unless it
/// succeeds, and returns its standard output.
pub fn retarget_ok(args: &[&str]) -> String {
    let out = retarget(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs `retarget ARGS` and asserts exit code 2 with `message` on standard
/// error, which must be a single line.
pub fn assert_exits_2(args: &[&str], message: &str) {
    let out = retarget(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
}

/// A path as `&str` (tests make UTF-8 paths).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The names in `dir` that are retarget temporaries.
pub fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("retarget-partial"))
        .collect()
}

/// The JSON Lines a successful `retarget ARGS` prints.
pub fn json_lines(args: &[&str]) -> Vec<serde_json::Value> {
    retarget_ok(args)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Runs `command` followed by each case's arguments and asserts exit code 2
/// with the case's message on standard error.
pub fn assert_each_exits_2(command: &[&str], cases: Vec<(Vec<&str>, &str)>) {
    for (args, message) in cases {
        let mut full = command.to_vec();
        full.extend(args);
        let out = retarget(&full);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{full:?}: {stderr}");
        assert!(stderr.contains(message), "{full:?}: {stderr}");
    }
}

pub fn assert_nothing_written(parent: &Path, out: &Path) {
    assert!(!out.exists(), "{} was created", out.display());
    let partial: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("retarget-partial"))
        .collect();
    assert!(partial.is_empty(), "left behind: {partial:?}");
}
