//! `retarget translate`: arguments, the off-target check, rendering.

use std::path::{Path, PathBuf};

use anyhow::Result;
use retarget_eval::langid::{check_expectable, summarize, Backend, LangidSummary};
use retarget_eval::language::Language;
use retarget_infer::generate::GenerationOptions;
use retarget_infer::model::{open_model, AnyModel};
use retarget_infer::sampling::Sampling;
use retarget_infer::score::read_text;
use retarget_infer::seq2seq::translate::{TranslateOptions, Translation};
use retarget_infer::InferError;
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
    /// Language identification for the off-target rate: lingua or fasttext:MODEL_PATH.
    #[arg(long, default_value = "lingua")]
    langid: String,
    /// Print JSON Lines (ids, text, score per line) and the language summary.
    #[arg(long)]
    json: bool,
}

/// Most beams a search may keep (far beyond the 4–12 translation uses).
const MAX_BEAMS: usize = 256;

/// Parses the language options shared by `translate` and `score --source`.
pub fn options(
    src: Option<&str>,
    tgt: Option<&str>,
    beams: Option<usize>,
    max_new_tokens: Option<usize>,
    batch: usize,
) -> Result<TranslateOptions> {
    let tgt =
        tgt.ok_or_else(|| InferError::Request("give the target language with --tgt".into()))?;
    if batch == 0 || beams == Some(0) {
        anyhow::bail!(InferError::Request(
            "--batch and --beam must be at least 1".into()
        ));
    }
    if beams.is_some_and(|b| b > MAX_BEAMS) {
        anyhow::bail!(InferError::Request(format!(
            "--beam {} is more than {MAX_BEAMS}: every beam holds a copy of the decoder's cache",
            beams.unwrap_or_default()
        )));
    }
    Ok(TranslateOptions {
        src: src.map(Language::parse).transpose()?,
        tgt: Language::parse(tgt)?,
        beams,
        max_new_tokens,
        batch,
    })
}

/// The prompt a decoder-only model translates with (sent through its chat
/// template when it has one).
fn prompt(text: &str, src: Option<&Language>, tgt: &Language) -> String {
    let from = src
        .map(|l| format!(" from {}", l.name()))
        .unwrap_or_default();
    format!(
        "Translate the following text{from} to {}.\nText: {text}\nTranslation:",
        tgt.name()
    )
}

/// Runs `retarget translate`; returns what to print.
pub fn run_translate(args: TranslateArgs) -> Result<String> {
    let options = options(
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
    let translations: Vec<Translation> = match open_model(&args.model, &args.device.open()?)? {
        AnyModel::Seq2Seq(model) => model.translate(&args.input, &lines, &options, &|done| {
            bar.set_position(done as u64)
        })?,
        AnyModel::Encoder(_) => anyhow::bail!(InferError::model(
            &args.model,
            "a masked language model does not generate text; translate with an encoder-decoder or decoder-only model"
        )),
        AnyModel::Decoder(model) => {
            if options.beams.is_some_and(|b| b > 1) {
                anyhow::bail!(InferError::Request(
                    "beam search is implemented for encoder-decoder models; use --beam 1".into()
                ));
            }
            let generation = GenerationOptions {
                max_new_tokens: options.max_new_tokens.unwrap_or(128),
                sampling: Sampling::greedy(),
                ignore_eos: false,
                // Instruction-tuned models get the prompt as a chat message.
                chat: model.chat_template.is_some(),
            };
            let mut out = Vec::with_capacity(lines.len());
            for chunk in lines.chunks(options.batch) {
                let prompts: Vec<String> = chunk
                    .iter()
                    .map(|l| prompt(l, options.src.as_ref(), &options.tgt))
                    .collect();
                for g in model.generate_batch(&prompts, generation)? {
                    // The answer is the first line of what follows the prompt.
                    let text = g
                        .text
                        .trim_start()
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    out.push(Translation {
                        source_ids: g.prompt_ids,
                        ids: g.ids,
                        text,
                        score: 0.0,
                    });
                }
                bar.set_position(out.len() as u64);
            }
            out
        }
    };
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
