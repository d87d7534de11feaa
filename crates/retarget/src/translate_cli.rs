//! `retarget translate`: arguments, the off-target check, rendering.

use std::path::{Path, PathBuf};

use anyhow::Result;
use retarget_eval::langid::{check_expectable, summarize, Backend, LangidSummary};
use retarget_infer::model::open_model;

use crate::steer_args::SteerArgs;
use retarget_infer::score::read_text;
use retarget_infer::seq2seq::translate::TranslateOptions;
use retarget_model::output::OutputFile;
use retarget_model::progress::count_bar;

use crate::infer_cli::DeviceArg;

/// Arguments of `retarget translate`.
#[derive(Debug, clap::Args)]
pub struct TranslateArgs {
    /// An HF model folder (m2m_100 / NLLB, marian, or a decoder-only model) or a .gguf file.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    device: DeviceArg,
    #[command(flatten)]
    steer: SteerArgs,
    /// Source language (ISO 639 code; m2m_100 / NLLB need it).
    #[arg(long)]
    src: Option<String>,
    /// Target language (ISO 639 code).
    #[arg(long)]
    tgt: String,
    /// Source text, one segment per line.
    #[arg(short = 'i', long = "input")]
    input: PathBuf,
    /// Write the translations here (else standard output). Never into the model folder
    /// or over an input; never over an existing file without --force.
    #[arg(short = 'o', long = "output")]
    output: Option<PathBuf>,
    /// Let -o replace an existing file (never an input).
    #[arg(long, requires = "output")]
    force: bool,
    /// Beams (default: the model's num_beams; 1 is greedy).
    #[arg(long)]
    beam: Option<usize>,
    /// Lines translated together.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Most generated tokens per line (default: the model's max_length − 1; 128 for
    /// decoder-only models).
    #[arg(long)]
    max_new_tokens: Option<usize>,
    /// Language identification for the off-target rate: lingua, lingua:low or fasttext:MODEL_PATH.
    #[arg(long, default_value = "lingua")]
    langid: String,
    /// Print JSON Lines (ids, text, score per line) and the language summary.
    #[arg(long)]
    json: bool,
}

/// Runs `retarget translate`; returns what to print.
pub fn run_translate(args: TranslateArgs) -> Result<String> {
    let options = TranslateOptions::new(
        args.src.as_deref(),
        Some(&args.tgt),
        args.beam,
        args.max_new_tokens,
        args.batch,
    )?;
    let output = match &args.output {
        Some(path) => {
            let mut inputs = vec![args.model.as_path(), args.input.as_path()];
            inputs.extend(args.langid.strip_prefix("fasttext:").map(Path::new));
            Some(OutputFile::create(path, &inputs, args.force)?)
        }
        None => None,
    };
    let backend = Backend::from_spec(&args.langid, &[])?;
    let expectable = check_expectable(&backend, &options.tgt);
    let lines = read_text(&args.input)?;
    let bar = count_bar(lines.len() as u64, "translating");
    let model = args
        .steer
        .install(open_model(&args.model, &args.device.open()?)?, &args.model)?;
    let translations = model.translate(&args.input, &lines, &options, &|done| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    let texts: Vec<String> = translations
        .iter()
        .map(|t| t.text.replace(['\n', '\r'], " "))
        .collect();
    let summary = expectable
        .map(|()| summarize(&texts, &backend.identify_lines(&texts), Some(&options.tgt)))
        .map_err(|e| e.to_string());
    let mut out = String::new();
    let to_file = output.is_some();
    if let Some(file) = output {
        let mut bytes = texts.join("\n").into_bytes();
        bytes.push(b'\n');
        file.write(&bytes)?;
    }
    if args.json {
        for t in &translations {
            out += &(serde_json::to_string(t)? + "\n");
        }
        let langid = match &summary {
            Ok(s) => serde_json::to_value(s)?,
            Err(reason) => serde_json::json!({ "not_measured": reason }),
        };
        out += &(serde_json::to_string(
            &serde_json::json!({ "backend": backend.describe(), "langid": langid }),
        )? + "\n");
        return Ok(out);
    }
    if !to_file {
        for text in &texts {
            out += text;
            out.push('\n');
        }
    }
    let report = render_off_target(&summary, &backend.describe());
    if !to_file {
        eprint!("{report}");
    } else {
        out += &report;
    }
    Ok(out)
}

fn render_off_target(
    summary: &std::result::Result<LangidSummary, String>,
    backend: &str,
) -> String {
    match summary {
        Ok(s) => format!(
            "off-target rate {} ({} of {} identified lines not in {}; {} undetermined; {backend})\n",
            s.off_target_rate.map_or("-".into(), |r| format!("{:.1}%", 100.0 * r)),
            s.off_target.unwrap_or(0),
            s.on_target.unwrap_or(0) + s.off_target.unwrap_or(0),
            s.expected.as_deref().unwrap_or("?"),
            s.undetermined,
        ),
        Err(reason) => format!("off-target rate not measured: {reason}\n"),
    }
}
