//! Argument definitions and dispatch.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};
use retarget_merge::{merge, MergeConfig, MergeOptions};
use retarget_model::convert::{convert, ConvertOptions};
use retarget_model::dtype::FloatType;
use retarget_model::gguf_export::{export, ExportOptions};
use retarget_model::gguf_write::GgufType;
use retarget_model::progress::bytes_bar;
use retarget_model::writer::parse_size;
use retarget_model::ModelError;

use crate::adapt_cli::{self, AdaptArgs};
use crate::capture_cli::{self, CaptureArgs};
use crate::control_cli::{self, NeuronsArgs};
use crate::eval_cli::{self, EvalCommand};
use crate::infer_cli::{self, GenerateArgs, LensArgs, ScoreArgs};
use crate::render;
use crate::steer_cli::{self, SteerCommand};
use crate::translate_cli::{self, TranslateArgs};
use crate::vocab_cli::{self, VocabCommand};

/// Bring a pretrained language model to a new target language, and measure
/// whether it got there.
#[derive(Debug, Parser)]
#[command(name = "retarget", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show and validate what a model folder, safetensors file or GGUF file holds.
    Inspect {
        /// An HF model folder, a .safetensors file or a .gguf file.
        path: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Convert GGUF → HF folder, or HF → HF (dtype change, resharding).
    Convert {
        /// An HF model folder or a llama-architecture .gguf file.
        input: PathBuf,
        /// The output folder (must not exist, or be empty), or with --to gguf the .gguf file.
        output: PathBuf,
        /// hf: an HF folder; gguf: one GGUF file for llama.cpp (from an HF folder of a
        /// llama, mistral, qwen2 or qwen3 decoder with a byte-level BPE vocabulary, or a
        /// gemma or gemma3_text one with its SentencePiece vocabulary).
        #[arg(long, default_value = "hf", value_parser = ["hf", "gguf"])]
        to: String,
        /// Convert floating-point tensors to this type (GGUF input defaults to f32).
        #[arg(long, value_parser = parse_float_type)]
        dtype: Option<FloatType>,
        /// Largest shard, e.g. 5GB, 500MB, 2GiB.
        #[arg(long, default_value = "5GB")]
        max_shard_size: String,
        /// With --to gguf: the type of two-dimensional tensors (f32, f16, bf16, q8_0, q4_0,
        /// q4_1, q5_0, q5_1, q4_k, q5_k, q6_k; block for block llama.cpp's reference
        /// quantizers, as `llama-quantize --pure`); norms and biases stay f32.
        #[arg(long)]
        quant: Option<String>,
        /// With --to gguf: GGUF tensor names kept in f32 (`*` matches any run of
        /// characters), e.g. 'token_embd.weight' or 'blk.*.attn_v.weight'. Repeatable.
        #[arg(long, value_name = "PATTERN")]
        keep_f32: Vec<String>,
        /// With --to gguf: replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// Merge models as a mergekit YAML configuration says (linear, task_arithmetic,
    /// ties, dare_ties, dare_linear, breadcrumbs, breadcrumbs_ties, della,
    /// della_linear, slerp, model_stock, passthrough).
    Merge {
        /// The mergekit configuration (YAML).
        config: PathBuf,
        /// The output folder (must not exist, or be empty).
        output: PathBuf,
        /// Largest shard, e.g. 5GB, 500MB, 2GiB.
        #[arg(long, default_value = "5GB")]
        max_shard_size: String,
        /// Seed of the random methods (DARE, DELLA); the same seed gives the same model.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Type of the written tensors (overrides the configuration's out_dtype/dtype).
        #[arg(long, value_parser = parse_float_type)]
        dtype: Option<FloatType>,
    },
    /// Adapt a model to a target language: add target-language tokens, initialise their rows,
    /// optionally trim, and report vocabulary, size and fertility before and after.
    Adapt(AdaptArgs),
    /// Vocabulary surgery: trim a vocabulary to a target language, or expand it.
    Vocab {
        #[command(subcommand)]
        command: VocabCommand,
    },
    /// Score text with a model: negative log-likelihood per line, perplexity, bits per byte.
    Score(ScoreArgs),
    /// Generate text after a prompt (greedy by default), streamed to the terminal.
    Generate(GenerateArgs),
    /// Translate lines into a target language (m2m_100 / NLLB, marian, or a decoder-only
    /// model with a prompt), batched with beam search, then report the off-target rate.
    Translate(TranslateArgs),
    /// The logit lens: decode every layer's hidden state through the output head, with the
    /// probability mass per language ("which language does the model think in").
    Lens(LensArgs),
    /// Find the language-specific neurons of a decoder (LAPE): per language, how often each MLP neuron fires; the neurons whose firing is concentrated in few languages.
    Neurons(NeuronsArgs),
    /// Capture hidden states (residual stream, attention and MLP outputs, MLP neurons) of
    /// every line of a text, per token or pooled per line, into a safetensors file.
    Capture(CaptureArgs),
    /// Fit steers (INCLINE maps, ITLC language vectors) for --steer.
    Steer {
        #[command(subcommand)]
        command: SteerCommand,
    },
    /// Evaluate: translation metrics equal to sacrebleu's, language identification, tokenizer fairness.
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
}

fn parse_float_type(s: &str) -> Result<FloatType, String> {
    s.parse()
}

/// Reports a written model folder.
fn print_written(output: &Path, tensors: usize, bytes: u64, files: &[String], extra: &str) {
    println!(
        "wrote {} ({tensors} tensors, {bytes} bytes in {}{extra})",
        output.display(),
        files.join(", ")
    );
}

/// Runs one parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Inspect { path, json } => {
            let report = retarget_model::inspect::inspect(&path)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", render::inspect_table(&report));
            }
        }
        Command::Convert {
            input,
            output,
            to,
            dtype,
            quant,
            keep_f32,
            force,
            ..
        } if to == "gguf" => {
            if dtype.is_some() {
                return Err(ModelError::Usage(
                    "--dtype is for HF output; with --to gguf give --quant".into(),
                )
                .into());
            }
            let quant = match quant {
                Some(name) => GgufType::parse(&name).ok_or_else(|| {
                    ModelError::Usage(format!(
                        "--quant {name}: expected one of {}",
                        GgufType::ALL.map(GgufType::name).join(", ")
                    ))
                })?,
                None => GgufType::F16,
            };
            let options = ExportOptions {
                quant,
                keep_f32,
                force,
            };
            let summary = export(&input, &output, &options, &|total| {
                bytes_bar(total, "exporting")
            })?;
            print!("{}", render::export_summary(&summary));
        }
        Command::Convert {
            input,
            output,
            dtype,
            max_shard_size,
            quant,
            keep_f32,
            force,
            ..
        } => {
            if quant.is_some() || !keep_f32.is_empty() || force {
                return Err(ModelError::Usage(
                    "--quant, --keep-f32 and --force go with --to gguf".into(),
                )
                .into());
            }
            let options = ConvertOptions {
                dtype,
                max_shard_bytes: parse_size(&max_shard_size)?,
            };
            let summary = convert(&input, &output, &options, &|total| {
                bytes_bar(total, "converting")
            })?;
            print_written(
                &summary.output,
                summary.tensors,
                summary.bytes,
                &summary.files,
                "",
            );
        }
        Command::Merge {
            config,
            output,
            max_shard_size,
            seed,
            dtype,
        } => {
            let config = MergeConfig::read(&config)?;
            let options = MergeOptions {
                max_shard_bytes: parse_size(&max_shard_size)?,
                seed,
                out_dtype: dtype,
            };
            let summary = merge(&config, &output, &options)?;
            let vocabulary = summary
                .vocabulary
                .map(|n| format!(", vocabulary of {n} tokens"))
                .unwrap_or_default();
            print_written(
                &summary.output,
                summary.tensors,
                summary.bytes,
                &summary.files,
                &vocabulary,
            );
        }
        Command::Adapt(args) => print!("{}", adapt_cli::run_adapt(args)?),
        Command::Vocab { command } => print!("{}", vocab_cli::run(command)?),
        Command::Eval { command } => print!("{}", eval_cli::run(command)?),
        Command::Score(args) => print!("{}", infer_cli::run_score(args)?),
        Command::Generate(args) => print!("{}", infer_cli::run_generate(args)?),
        Command::Lens(args) => print!("{}", infer_cli::run_lens(args)?),
        Command::Neurons(args) => print!("{}", control_cli::run_neurons(args)?),
        Command::Capture(args) => print!("{}", capture_cli::run_capture(args)?),
        Command::Steer { command } => print!("{}", steer_cli::run_steer(command)?),
        Command::Translate(args) => print!("{}", translate_cli::run_translate(args)?),
    }
    Ok(())
}
