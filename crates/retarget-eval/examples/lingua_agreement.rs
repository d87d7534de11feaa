//! retarget's `lingua` backend against lingua's own detector on the lines of
//! a file, side by side: wall time of each (both on all cores, each run
//! twice: the first run also pages in the models) and every line whose
//! label differs. Exits 1 when any label differs.
//!
//! `cargo run --release -p retarget-eval --example lingua_agreement -- FILE [high|low]`

use std::time::Instant;

use lingua::LanguageDetectorBuilder;
use rayon::prelude::*;
use retarget_eval::langid::Backend;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: lingua_agreement FILE [high|low]");
        std::process::exit(2);
    };
    let low = match args.get(1).map(String::as_str) {
        None | Some("high") => false,
        Some("low") => true,
        Some(other) => {
            eprintln!("lingua_agreement: mode must be high or low, not {other}");
            std::process::exit(2);
        }
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        eprintln!("lingua_agreement: {path}: {e}");
        std::process::exit(2);
    });
    let lines: Vec<String> = text.lines().map(str::to_string).collect();

    let spec = if low { "lingua:low" } else { "lingua" };
    let ours = Backend::from_spec(spec, &[]).expect("lingua is compiled in");
    let mut builder = LanguageDetectorBuilder::from_all_languages();
    if low {
        builder.with_low_accuracy_mode();
    }
    let reference = builder.build();
    let reference_label = |line: &String| -> Option<(String, f64)> {
        if line.trim().is_empty() {
            return None;
        }
        let values = reference.compute_language_confidence_values(line.as_str());
        let &(best, confidence) = values.first()?;
        if values
            .get(1)
            .is_some_and(|&(_, second)| second == confidence)
        {
            return None;
        }
        Some((best.iso_code_639_3().to_string(), confidence))
    };

    let mut ours_labels = Vec::new();
    let mut reference_labels = Vec::new();
    for run in 1..=2 {
        let start = Instant::now();
        ours_labels = ours.identify_lines(&lines);
        let ours_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        reference_labels = lines.par_iter().map(reference_label).collect::<Vec<_>>();
        let reference_s = start.elapsed().as_secs_f64();
        println!(
            "run {run}: {} lines, retarget {ours_s:.3} s ({:.0} lines/s), lingua {reference_s:.3} s ({:.0} lines/s), {:.2}x",
            lines.len(),
            lines.len() as f64 / ours_s,
            lines.len() as f64 / reference_s,
            reference_s / ours_s
        );
    }

    let mut differing = 0usize;
    let mut largest_delta = 0.0f64;
    for (i, (a, b)) in ours_labels.iter().zip(&reference_labels).enumerate() {
        let a = a.as_ref().map(|id| (id.label.clone(), id.confidence));
        match (&a, b) {
            (Some((la, ca)), Some((lb, cb))) if la == lb => {
                largest_delta = largest_delta.max((ca - cb).abs());
            }
            (None, None) => {}
            _ => {
                differing += 1;
                if differing <= 10 {
                    println!("line {}: retarget {a:?}, lingua {b:?}: {}", i + 1, lines[i]);
                }
            }
        }
    }
    println!(
        "labels: {} of {} lines differ; largest confidence difference where equal: {largest_delta:.3e}",
        differing,
        lines.len()
    );
    if differing > 0 {
        std::process::exit(1);
    }
}
