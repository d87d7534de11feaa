//! `retarget score` and `retarget generate`: arguments and rendering.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use retarget_eval::language::Language;
use retarget_infer::device::parse_device;
use retarget_infer::dispatch::Sources;
use retarget_infer::generate::{Generation, GenerationOptions};
use retarget_infer::model::{open_model, AnyModel};
use retarget_infer::sampling::Sampling;
use retarget_infer::score::{logits_safetensors, read_text, ScoreSummary};
use retarget_infer::seq2seq::translate::TranslateOptions;
use retarget_infer::token_languages::TokenLanguages;
use retarget_infer::Device;
use retarget_infer::LanguageModel;

use retarget_model::output::OutputFile;

use crate::steer_args::SteerArgs;
use retarget_model::progress::count_bar;
use serde_json::json;

/// Which model to run, and where (shared by `score`, `generate` and `lens`).
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// An HF model folder or a .gguf file.
    #[arg(long)]
    model: PathBuf,
    /// GGUF input: run the quantized blocks through candle's quantized kernels (less
    /// memory, numbers close to the dequantized model's) instead of dequantizing to f32.
    #[arg(long)]
    quantized: bool,
    #[command(flatten)]
    device: DeviceArg,
    #[command(flatten)]
    steer: SteerArgs,
}

/// `--device`, for every command that runs a network.
#[derive(Debug, clap::Args)]
pub struct DeviceArg {
    /// Where the network runs: cpu, cuda or cuda:N (a GPU needs a build with the
    /// `cuda` feature).
    #[arg(long, default_value = "cpu")]
    device: String,
}

impl DeviceArg {
    /// The candle device named.
    pub fn open(&self) -> Result<Device> {
        Ok(parse_device(&self.device)?)
    }
}

impl ModelArgs {
    /// The model as given.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.model
    }

    /// Opens the model, from its quantized GGUF blocks when asked.
    fn open(&self) -> Result<AnyModel> {
        let device = self.device.open()?;
        let model = if self.quantized {
            AnyModel::Decoder(LanguageModel::open_gguf_quantized(&self.model, &device)?)
        } else {
            open_model(&self.model, &device)?
        };
        self.steer.install(model, &self.model)
    }

    /// Opens a decoder-only model (another kind is refused), from its
    /// quantized GGUF blocks when asked.
    pub(crate) fn open_decoder(&self) -> Result<LanguageModel> {
        Ok(self.open()?.into_decoder(&self.model)?)
    }
}

/// Arguments of `retarget score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Text to score, one segment per line (UTF-8).
    #[arg(short = 'i', long = "input")]
    input: PathBuf,
    /// Print JSON Lines: one object per line (`tokens`, `nll`), then a summary.
    #[arg(long)]
    json: bool,
    /// Also write every line's logits (`line.N`: tokens × vocabulary, f32) to this
    /// safetensors file.
    /// Never into the model folder or over an input; never over an existing file
    /// without --force.
    #[arg(long)]
    save_logits: Option<PathBuf>,
    /// Let --save-logits replace an existing file (never an input).
    #[arg(long, requires = "save_logits")]
    force: bool,
    /// Encoder-decoder models: the source lines whose translations -i holds (scored by
    /// teacher forcing, `</s>` and any forced language token included).
    #[arg(long)]
    source: Option<PathBuf>,
    /// Source language (encoder-decoder models that mark it: m2m_100, NLLB).
    #[arg(long)]
    src: Option<String>,
    /// Target language (encoder-decoder models).
    #[arg(long)]
    tgt: Option<String>,
}

/// Arguments of `retarget generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The text to continue.
    #[arg(long, required_unless_present = "input", conflicts_with = "input")]
    prompt: Option<String>,
    /// Prompts, one per line, generated in batches; prints one line per prompt
    /// (newlines in the output become spaces) or, with --json, one object per prompt.
    #[arg(short = 'i', long = "input")]
    input: Option<PathBuf>,
    /// Prompts generated together when reading --input.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    /// Keep generating after end-of-sequence tokens (benchmarks).
    #[arg(long)]
    ignore_eos: bool,
    /// Send each prompt as a user message through the model's chat template.
    #[arg(long)]
    chat: bool,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 128)]
    max_new_tokens: usize,
    /// Sampling temperature; 0 is greedy decoding.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    /// Nucleus sampling: keep the most likely tokens holding this much probability.
    #[arg(long, default_value_t = 1.0)]
    top_p: f64,
    /// Seed of the sampler (the same seed gives the same text).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object (token ids, text, timings) instead of streaming text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `retarget lens`.
#[derive(Debug, clap::Args)]
pub struct LensArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The text to look at.
    #[arg(long)]
    prompt: String,
    /// Languages to measure probability mass for (ISO 639 codes, comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "eng")]
    langs: Vec<String>,
    /// Most likely tokens kept per layer and position.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Print JSON (every layer and position) instead of the last position's table.
    #[arg(long)]
    json: bool,
}

/// Runs `retarget lens`; returns what to print.
pub fn run_lens(args: LensArgs) -> Result<String> {
    let languages = args
        .langs
        .iter()
        .map(|l| Language::parse(l))
        .collect::<retarget_eval::Result<Vec<_>>>()?;
    let model = args.model.open_decoder()?;
    let vocab = model.decoder.config().vocab_size;
    let (token_languages, cache) = TokenLanguages::cached(&model.tokenizer, vocab, &languages)?;
    let report = model.lens(&args.prompt, args.top, &token_languages)?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["token_languages"] = serde_json::json!(cache);
        return Ok(serde_json::to_string(&value)? + "\n");
    }
    Ok(render_lens(&report))
}

/// The last position's readings, one row per layer.
fn render_lens(report: &retarget_infer::lens::LensReport) -> String {
    let last = report.prompt_ids.len() - 1;
    let mut out = format!(
        "next token after {:?} (position {last}); probability mass per language:\n{:<7}",
        report.prompt_tokens[last], "layer"
    );
    for language in &report.languages {
        out += &format!("{language:>9}");
    }
    out += "  top tokens\n";
    for reading in report.readings.iter().filter(|r| r.position == last) {
        out += &format!("{:<7}", reading.layer);
        for mass in &reading.language_mass {
            out += &format!("{mass:>9.3}");
        }
        let tops: Vec<String> = reading
            .top
            .iter()
            .map(|t| format!("{:?} {:.3}", t.text, t.probability))
            .collect();
        out += &format!("  {}\n", tops.join("  "));
    }
    out
}

/// Runs `retarget score`; returns what to print.
pub fn run_score(args: ScoreArgs) -> Result<String> {
    let logits_file = match &args.save_logits {
        Some(path) => {
            let mut inputs = vec![args.model.model.as_path(), args.input.as_path()];
            inputs.extend(args.source.as_deref());
            Some(OutputFile::create(path, &inputs, args.force)?)
        }
        None => None,
    };
    let lines = read_text(&args.input)?;
    let keep_logits = logits_file.is_some();
    let bar = count_bar(lines.len() as u64, "scoring lines");
    let model = args.model.open()?;
    let source = match &args.source {
        Some(path) => Some((
            path,
            read_text(path)?,
            TranslateOptions::new(args.src.as_deref(), args.tgt.as_deref(), None, None, 1)?,
        )),
        None => None,
    };
    let sources = source.as_ref().map(|(path, lines, options)| Sources {
        path,
        lines,
        options,
    });
    let (scores, logits) =
        model.score_lines(&args.input, &lines, sources, keep_logits, &|| bar.inc(1))?;
    bar.finish_and_clear();
    if let Some(file) = logits_file {
        file.write(&logits_safetensors(&logits)?)?;
    }
    let summary = ScoreSummary::of(&lines, &scores);
    if args.json {
        let mut out = String::new();
        for score in &scores {
            out += &serde_json::to_string(score)?;
            out.push('\n');
        }
        out += &serde_json::to_string(&summary)?;
        out.push('\n');
        return Ok(out);
    }
    Ok(format!(
        "lines          {}\ntokens scored  {}\nbytes          {}\nNLL (nats)     {:.4}\nperplexity     {:.4}\nbits per byte  {:.4}\n",
        lines.len(),
        summary.total_tokens,
        summary.total_bytes,
        summary.total_nll,
        summary.perplexity,
        summary.bits_per_byte
    ))
}

/// Runs `retarget generate`, streaming text to standard output for one
/// `--prompt` without `--json`; returns what is left to print.
pub fn run_generate(args: GenerateArgs) -> Result<String> {
    if args.batch == 0 {
        anyhow::bail!(retarget_infer::InferError::Request(
            "--batch must be at least 1".into()
        ));
    }
    let prompts = match &args.input {
        Some(path) => Some(read_text(path)?),
        None => None,
    };
    let model = args.model.open_decoder()?;
    let options = GenerationOptions {
        max_new_tokens: args.max_new_tokens,
        sampling: Sampling {
            temperature: args.temperature,
            top_p: args.top_p,
            seed: args.seed,
        },
        ignore_eos: args.ignore_eos,
        chat: args.chat,
    };
    if let Some(prompts) = prompts {
        let bar = count_bar(prompts.len() as u64, "generating");
        let mut out = String::new();
        for chunk in prompts.chunks(args.batch) {
            for generation in model.generate_batch(chunk, options)? {
                if args.json {
                    out += &(serde_json::to_string(&generation_json(&generation))? + "\n");
                } else {
                    out += &(generation.text.replace(['\n', '\r'], " ") + "\n");
                }
            }
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        return Ok(out);
    }
    let prompt = args.prompt.unwrap_or_default();
    let json = args.json;
    let mut stdout = std::io::stdout();
    let generation = model.generate(&prompt, options, &mut |piece| {
        if !json {
            // A closed pipe only loses the rest of the stream.
            let _ = stdout.write_all(piece.as_bytes());
            let _ = stdout.flush();
        }
    })?;
    if json {
        return Ok(serde_json::to_string(&generation_json(&generation))? + "\n");
    }
    eprintln!(
        "\n[{} prompt tokens in {:.2} s; {} generated at {:.1} tokens/s; stopped: {:?}]",
        generation.prompt_ids.len(),
        generation.prompt_seconds,
        generation.ids.len(),
        per_second(generation.ids.len(), generation.generation_seconds),
        generation.stop
    );
    Ok("\n".into())
}

fn per_second(count: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

fn generation_json(g: &Generation) -> serde_json::Value {
    json!({
        "prompt_ids": g.prompt_ids,
        "ids": g.ids,
        "text": g.text,
        "stop": g.stop,
        "prompt_seconds": g.prompt_seconds,
        "generation_seconds": g.generation_seconds,
        "prompt_tokens_per_second": per_second(g.prompt_ids.len(), g.prompt_seconds),
        "tokens_per_second": per_second(g.ids.len(), g.generation_seconds),
    })
}
