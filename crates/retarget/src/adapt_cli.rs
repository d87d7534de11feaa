//! `retarget adapt`: arguments and the rendering of its report.

use std::path::PathBuf;

use anyhow::Result;
use retarget_adapt::{adapt, AdaptOptions, AdaptReport};
use retarget_eval::bootstrap::Delta;

use crate::vocab_cli::{output, InitArgs, OutputArgs, ReplaceArgs};

/// Arguments of `retarget adapt`.
#[derive(Debug, clap::Args)]
pub struct AdaptArgs {
    /// The model: an HF folder or a GGUF file.
    #[arg(long)]
    model: PathBuf,
    /// The target language (ISO 639-1/639-3 or BCP-47, e.g. sw, swh, eu, tt).
    #[arg(long)]
    lang: String,
    /// Target-language text, one segment per line (several files allowed).
    #[arg(long, required = true, num_args = 1..)]
    corpus: Vec<PathBuf>,
    /// Held-out target-language text for the report (default: the corpus' last tenth).
    #[arg(long)]
    held_out: Option<PathBuf>,
    /// The held-out text in a reference language (e.g. English), line by line: parity =
    /// held-out tokens ÷ the reference's tokens under the input model's tokenizer.
    #[arg(long, requires = "held_out")]
    parallel_ref: Option<PathBuf>,
    /// Number of tokens to add.
    #[arg(long, default_value_t = 1000)]
    add: usize,
    #[command(flatten)]
    replace: ReplaceArgs,
    #[command(flatten)]
    init: InitArgs,
    /// Then trim the vocabulary to what the corpus uses.
    #[arg(long)]
    trim: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// `+0.1234 [+0.0500, +0.2000]`: a difference and its 95 % interval.
fn delta(d: Option<Delta>, digits: usize) -> String {
    d.map_or_else(String::new, |d| {
        format!(
            "{:+.digits$} [{:+.digits$}, {:+.digits$}]",
            d.value, d.low, d.high
        )
    })
}

fn render_adapt(r: &AdaptReport) -> String {
    let (b, a) = (&r.before, &r.after);
    let row = |name: &str, before: String, after: String, change: String| {
        format!("{name:<26}{before:>14}{after:>14}   {change}\n").replace("   \n", "\n")
    };
    let bpb = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    let mut out = format!(
        "wrote {} (report.json inside)\n\
         {} ({}): {} ({} rows){}; {} lines learnt from, {} held out\n",
        r.output.display(),
        r.language,
        r.lang,
        if r.replaced {
            "vocabulary replaced".to_string()
        } else {
            format!("{} tokens added", r.added)
        },
        r.init,
        if r.trimmed { ", then trimmed" } else { "" },
        r.lines.0,
        r.lines.1,
    );
    out += &row(
        "",
        "before".into(),
        "after".into(),
        "after − before [95% interval]".into(),
    );
    out += &row(
        "vocabulary",
        b.tokens.to_string(),
        a.tokens.to_string(),
        String::new(),
    );
    out += &row(
        "weight bytes",
        b.weight_bytes.to_string(),
        a.weight_bytes.to_string(),
        String::new(),
    );
    let fertility = format!("fertility (tokens/{:?})", b.held_out.unit).to_lowercase();
    out += &row(
        &fertility,
        format!("{:.3}", b.held_out.fertility),
        format!("{:.3}", a.held_out.fertility),
        delta(Some(r.deltas.fertility), 3),
    );
    out += &row(
        "continued words",
        format!("{:.3}", b.held_out.continued_words),
        format!("{:.3}", a.held_out.continued_words),
        String::new(),
    );
    if let (Some(pb), Some(pa)) = (b.held_out.parity, a.held_out.parity) {
        out += &row(
            "parity (vs reference)",
            format!("{pb:.3}"),
            format!("{pa:.3}"),
            delta(r.deltas.parity, 3),
        );
    }
    let untrimmed = if r.trimmed {
        "bits per byte (untrimmed)"
    } else {
        "bits per byte"
    };
    out += &row(
        untrimmed,
        bpb(b.bits_per_byte),
        bpb(a.bits_per_byte),
        delta(r.deltas.bits_per_byte, 4),
    );
    if let Some(t) = &r.trimming {
        out += &row(
            "bits per byte (trimmed)",
            String::new(),
            bpb(t.bits_per_byte),
            delta(t.delta, 4).replace(']', "] vs untrimmed"),
        );
        out += &format!("  trimmed: {}\n", t.note);
    }
    match &r.scoring {
        Some(reason) => out += &format!("bits per byte not measured: {reason}\n"),
        None => {
            out += "held-out bits per byte of the new rows before any training, by initialisation (a ranking of starting points, not of finished models):\n";
            for init in &r.initialisations {
                out += &format!(
                    "  {:<24}{:>14}   {}\n",
                    init.init,
                    bpb(init.bits_per_byte),
                    delta(init.delta, 4)
                );
            }
        }
    }
    for warning in &r.warnings {
        out += &format!("warning: {warning}\n");
    }
    out
}

/// Runs `retarget adapt` and returns what to print.
pub fn run_adapt(args: AdaptArgs) -> Result<String> {
    let options = AdaptOptions {
        lang: args.lang,
        corpus: args.corpus,
        held_out: args.held_out,
        parallel_ref: args.parallel_ref,
        add: args.add,
        init: args.init.kind(),
        inputs: args.init.inputs(&args.replace),
        trim: args.trim,
        replace: args.replace.replacement()?,
        max_shard_bytes: args.output.max_shard_bytes()?,
    };
    let report = adapt(&args.model, &args.output.out, &options)?;
    output(args.output.json, &report, render_adapt)
}
