//! `retarget eval langid`: the language of every line and the off-target
//! rate.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use retarget_eval::langid::{
    check_expectable, distribution_key, summarize, Backend, LangidSummary,
};
use retarget_eval::language::Language;
use retarget_model::text::{read_lines, read_stdin_lines};
use serde_json::json;

/// Arguments of `retarget eval langid`.
#[derive(Debug, Args)]
pub struct LangidArgs {
    /// Text to identify, one segment per line (default: standard input).
    #[arg(short = 'i', long = "input")]
    input: Option<PathBuf>,
    /// The language the text should be in (sw, swh, swh_Latn, sw-Latn-TZ…);
    /// adds the off-target rate.
    #[arg(long)]
    expect: Option<String>,
    /// `lingua`, `lingua:low` (its low-accuracy mode: trigrams only, less
    /// accurate on short lines), or `fasttext:MODEL_PATH` for a fastText
    /// .bin/.ftz model (lid.176, GlotLID).
    #[arg(long, default_value = "lingua")]
    backend: String,
    /// lingua only: choose among these languages only (comma-separated
    /// codes, e.g. swh,eng,fra): faster, and no confusion with languages
    /// that cannot occur.
    #[arg(long, value_delimiter = ',')]
    langs: Vec<String>,
    /// Print one JSON object (lines and summary) instead of text.
    #[arg(long)]
    json: bool,
    /// Print only the summary.
    #[arg(long)]
    summary_only: bool,
}

/// Runs `eval langid` and returns what to print.
pub fn run(args: LangidArgs) -> Result<String> {
    let expected = args.expect.as_deref().map(Language::parse).transpose()?;
    let lines = match &args.input {
        Some(path) => read_lines(path)?,
        None => read_stdin_lines()?,
    };
    let langs: Vec<Language> = args
        .langs
        .iter()
        .map(|l| Language::parse(l))
        .collect::<Result<_, _>>()?;
    let backend = Backend::from_spec(&args.backend, &langs)?;
    if let Some(expected) = &expected {
        check_expectable(&backend, expected)?;
    }
    let ids = backend.identify_lines(&lines);
    let summary = summarize(&lines, &ids, expected.as_ref());
    if args.json {
        let per_line: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| match id {
                Some(id) => json!({"line": i + 1, "language": distribution_key(id), "label": id.label, "confidence": id.confidence}),
                None => json!({"line": i + 1, "language": null}),
            })
            .collect();
        let mut value = json!({"backend": backend.describe(), "summary": summary});
        if !args.summary_only {
            value["lines"] = serde_json::Value::Array(per_line);
        }
        return Ok(serde_json::to_string_pretty(&value)? + "\n");
    }
    let mut out = String::new();
    if !args.summary_only {
        for id in &ids {
            match id {
                Some(id) => writeln!(out, "{}\t{:.4}", distribution_key(id), id.confidence)?,
                None => writeln!(out, "-\t-")?,
            }
        }
    }
    out += &summary_text(&backend.describe(), &summary);
    Ok(out)
}

/// The summary as `#`-prefixed lines (so that per-line output stays easy to
/// cut).
fn summary_text(backend: &str, s: &LangidSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# backend: {backend}");
    let _ = writeln!(
        out,
        "# lines: {} (blank {}, undetermined {})",
        s.lines, s.blank, s.undetermined
    );
    let identified: usize = s.distribution.iter().map(|(_, n)| n).sum();
    for (lang, n) in s.distribution.iter().take(10) {
        let _ = writeln!(
            out,
            "#   {lang:<10} {n:>8}  {:6.2}%",
            100.0 * *n as f64 / identified.max(1) as f64
        );
    }
    if s.distribution.len() > 10 {
        let _ = writeln!(out, "#   … {} more languages", s.distribution.len() - 10);
    }
    if let (Some(expected), Some(on), Some(off)) = (&s.expected, s.on_target, s.off_target) {
        let rate = s
            .off_target_rate
            .map_or_else(|| "-".into(), |r| format!("{:.2}%", 100.0 * r));
        let _ = writeln!(
            out,
            "# expected {expected}: on-target {on}, off-target {off}, off-target rate {rate}"
        );
    }
    out
}
