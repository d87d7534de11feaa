//! Several systems against the same references, optionally with a paired
//! significance test against the first, reported as sacrebleu's multi-system
//! mode prints it (`-i SYS1 SYS2 …`, `--paired-bs` / `--paired-ar`): a table
//! or a JSON list.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::corpus::ParallelText;
use crate::error::{EvalError, Result};
use crate::score::py_float_repr;
use crate::significance::{paired_test, PairedReport, PairedResult, PairedTest};
use crate::Metrics;

/// How to run and print a multi-system evaluation.
pub struct SystemsOptions {
    /// The paired test and its number of samples, if any.
    pub test: Option<(PairedTest, usize)>,
    /// Seed of the test's random generator.
    pub seed: u64,
    /// sacrebleu's JSON list instead of a table.
    pub json: bool,
    /// Decimal places.
    pub width: usize,
}

/// Scores every system (the first is the baseline) and returns sacrebleu's
/// multi-system report.
pub fn evaluate(
    options: &SystemsOptions,
    inputs: &[PathBuf],
    refs: &[&Path],
    metrics: &Metrics,
) -> Result<String> {
    if options.test.is_some() && inputs.len() < 2 {
        return Err(EvalError::Usage(
            "paired tests need at least two systems: -i BASELINE SYSTEM…".into(),
        ));
    }
    let paths: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let text = ParallelText::read_systems(&paths, refs)?;
    let report = paired_test(
        &text.hypotheses,
        &text.references,
        metrics,
        options.test,
        options.seed,
    );
    let mut names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    if options.test.is_some() {
        names[0] = format!("Baseline: {}", names[0]);
    }
    Ok(if options.json {
        json_report(&names, &report, options)
    } else {
        text_report(&names, &report, options)
    })
}

/// sacrebleu's `-f json` list, as Python's `json.dumps(indent=4)` prints it:
/// with a test, every result as an object; without, the score as a string
/// rounded to the width.
fn json_report(names: &[String], report: &PairedReport, options: &SystemsOptions) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("strings serialise");
    let number = |x: Option<f64>| x.map_or_else(|| "null".to_string(), py_float_repr);
    let systems: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(s, name)| {
            let mut fields = vec![format!("        \"system\": {}", quote(name))];
            for (metric, results) in report.metrics.iter().zip(&report.results) {
                let r = results[s];
                let value = if options.test.is_some() {
                    format!(
                        "{{\n            \"score\": {},\n            \"p_value\": {},\n            \"mean\": {},\n            \"ci\": {}\n        }}",
                        number(Some(r.score)),
                        number(r.p_value),
                        number(r.mean),
                        number(r.ci)
                    )
                } else {
                    quote(&format!("{:.*}", options.width, r.score))
                };
                fields.push(format!("        {}: {value}", quote(metric)));
            }
            format!("    {{\n{}\n    }}", fields.join(",\n"))
        })
        .collect();
    format!("[\n{}\n]\n", systems.join(",\n"))
}

/// A plain table in sacrebleu's layout, then the test's description and the
/// signatures.
fn text_report(names: &[String], report: &PairedReport, options: &SystemsOptions) -> String {
    let w = options.width;
    let bootstrap = matches!(options.test, Some((PairedTest::Bootstrap, _)));
    let cell = |r: &PairedResult| -> (String, String) {
        let mut first = format!("{:.w$}", r.score);
        if let (Some(mean), Some(ci)) = (r.mean, r.ci) {
            let _ = write!(first, " ({mean:.w$} ± {ci:.w$})");
        }
        let second = r
            .p_value
            .map(|p| format!("(p = {p:.4}){}", if p <= 0.05 { "*" } else { "" }))
            .unwrap_or_default();
        (first, second)
    };
    let mut header = vec!["System".to_string()];
    header.extend(report.metrics.iter().map(|m| {
        if bootstrap {
            format!("{m} (μ ± 95% CI)")
        } else {
            m.clone()
        }
    }));
    let mut lines: Vec<Vec<String>> = vec![header];
    for (s, name) in names.iter().enumerate() {
        let cells: Vec<(String, String)> = report.results.iter().map(|r| cell(&r[s])).collect();
        let mut first = vec![name.clone()];
        first.extend(cells.iter().map(|c| c.0.clone()));
        lines.push(first);
        if cells.iter().any(|c| !c.1.is_empty()) {
            let mut second = vec![String::new()];
            second.extend(cells.iter().map(|c| c.1.clone()));
            lines.push(second);
        }
    }
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (text, &width))| {
                if c == 0 {
                    format!("{text:>width$}")
                } else {
                    format!("{text:^width$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join(" | ").trim_end());
    }
    out.push('\n');
    if let Some((test, samples)) = options.test {
        let title = match test {
            PairedTest::Bootstrap => {
                format!("Paired bootstrap resampling test with {samples} resampling trials")
            }
            PairedTest::ApproximateRandomization => {
                format!("Paired approximate randomization test with {samples} trials")
            }
        };
        let rule = "-".repeat(title.chars().count());
        let _ = writeln!(out, "{rule}\n{title}\n{rule}");
        let _ = writeln!(out, " - Each system is pairwise compared to {}.", names[0]);
        let _ = writeln!(
            out,
            " - p-values below 0.05 are marked with \"*\": the score difference is unlikely to be due to chance.\n"
        );
    }
    let _ = writeln!(
        out,
        "-----------------\nMetric signatures\n-----------------"
    );
    for (metric, signature) in report.metrics.iter().zip(&report.signatures) {
        let _ = writeln!(out, " - {metric:<10} {}", signature.format());
    }
    out
}
