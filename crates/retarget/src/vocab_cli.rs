//! `retarget vocab …`: arguments and rendering.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use retarget_model::writer::parse_size;
use retarget_vocab::tokenizer::usage::Selection;
use retarget_vocab::trim::read_corpus;
use retarget_vocab::VocabError;
use retarget_vocab::{
    expand, replace, trim, ExpandOptions, ExpandReport, Init, InitInputs, InitKind, ReplaceOptions,
    ReplaceReport, Replacement, TrimOptions, TrimReport, VocabModel, WechselInputs,
};

/// How `vocab expand` initialises new rows.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InitMethod {
    /// FVT: the mean of the old rows of the old tokenizer's pieces of the new token.
    Mean,
    /// N(mean, std) of the old rows, per dimension.
    Random,
    /// Trans-tokenization: the mean of the old rows of the source tokens a parallel corpus
    /// aligns with the new token (IBM Model 1 + diagonal prior), weighted by alignment counts.
    Transtok,
    /// CLP-Transfer (with --replace): the shared tokens' rows weighted by cosine similarity in
    /// a helper model (--helper) that uses the new tokenizer.
    Clp,
    /// FOCUS (with --replace): the shared tokens' rows weighted by the sparsemax of cosine
    /// similarities of auxiliary token vectors (--aux-vectors).
    Focus,
    /// WECHSEL (with --replace): the rows of the nearest old tokens in aligned fastText spaces
    /// (--source-vectors, --target-vectors, --dictionary).
    Wechsel,
    /// OFA-style (with --replace): WECHSEL's rule in one multilingual fastText space (--vectors).
    Ofa,
}

/// Vocabulary replacement: where the new vocabulary comes from and what the
/// initialisations need.
#[derive(Debug, clap::Args)]
pub struct ReplaceArgs {
    /// Replace the whole vocabulary with a target-language tokenizer (as WECHSEL, FOCUS and
    /// CLP do) instead of adding tokens: shared tokens keep their rows, the others are
    /// initialised.
    #[arg(long, conflicts_with = "add")]
    replace: bool,
    /// The new tokenizer.json for --replace (default: the --helper model's, or one trained
    /// like the old on the corpus).
    #[arg(long)]
    tokenizer: Option<PathBuf>,
    /// Size of the tokenizer --replace trains on the corpus (default: the old vocabulary's).
    #[arg(long)]
    vocab_size: Option<usize>,
    /// CLP's helper model (--init clp): an HF folder that uses the new tokenizer.
    #[arg(long)]
    helper: Option<PathBuf>,
    /// FOCUS's auxiliary vectors (--init focus): a fastText .vec file of the new tokens
    /// (default: trained on the corpus tokenized with the new tokenizer, skip-gram with
    /// character n-grams).
    #[arg(long)]
    aux_vectors: Option<PathBuf>,
    #[command(flatten)]
    wechsel: WechselArgs,
}

impl ReplaceArgs {
    /// The replacement asked for; its options without --replace are refused.
    pub fn replacement(&self) -> Result<Option<Replacement>, VocabError> {
        let wechsel = self.wechsel.inputs();
        let given = self.tokenizer.is_some()
            || self.vocab_size.is_some()
            || self.helper.is_some()
            || self.aux_vectors.is_some()
            || wechsel.is_some();
        match (self.replace, given) {
            (true, _) => Ok(Some(Replacement {
                tokenizer: self.tokenizer.clone(),
                vocab_size: self.vocab_size,
                helper: self.helper.clone(),
            })),
            (false, false) => Ok(None),
            (false, true) => Err(VocabError::Usage(
                "--tokenizer, --vocab-size, --helper, --aux-vectors, --vectors and --source-vectors/--target-vectors go with --replace".into(),
            )),
        }
    }
}

/// WECHSEL's inputs.
#[derive(Debug, clap::Args)]
pub struct WechselArgs {
    /// OFA: one multilingual fastText model (.bin, or .vec without n-grams) for both
    /// vocabularies.
    #[arg(long, conflicts_with_all = ["source_vectors", "target_vectors", "dictionary"])]
    vectors: Option<PathBuf>,
    /// WECHSEL: the source language's fastText model (.bin, or .vec without n-grams).
    #[arg(long, requires = "target_vectors")]
    source_vectors: Option<PathBuf>,
    /// WECHSEL: the target language's fastText model (.bin or .vec); the same file as
    /// --source-vectors for one multilingual space.
    #[arg(long, requires = "source_vectors")]
    target_vectors: Option<PathBuf>,
    /// WECHSEL: a bilingual dictionary (source<TAB>target per line) to align the two spaces;
    /// without it they are taken as aligned.
    #[arg(long, requires = "source_vectors")]
    dictionary: Option<PathBuf>,
    /// WECHSEL: old tokens each new row is built from.
    #[arg(long, default_value_t = 10)]
    neighbors: usize,
    /// WECHSEL: softmax temperature.
    #[arg(long, default_value_t = 0.1)]
    temperature: f64,
}

impl WechselArgs {
    fn inputs(&self) -> Option<WechselInputs> {
        if let Some(vectors) = &self.vectors {
            return Some(WechselInputs {
                source_vectors: vectors.clone(),
                target_vectors: vectors.clone(),
                dictionary: None,
                neighbors: self.neighbors,
                temperature: self.temperature,
            });
        }
        Some(WechselInputs {
            source_vectors: self.source_vectors.clone()?,
            target_vectors: self.target_vectors.clone()?,
            dictionary: self.dictionary.clone(),
            neighbors: self.neighbors,
            temperature: self.temperature,
        })
    }
}

/// Where and how a vocabulary command writes its model and report.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// The output folder (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Largest shard, e.g. 5GB, 500MB, 2GiB.
    #[arg(long, default_value = "5GB")]
    max_shard_size: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

impl OutputArgs {
    pub fn max_shard_bytes(&self) -> Result<u64> {
        Ok(parse_size(&self.max_shard_size)?)
    }
}

/// How new rows are initialised.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Initialisation of the new rows.
    #[arg(long, value_enum, default_value = "mean")]
    init: InitMethod,
    /// Seed of `--init random`.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Parallel corpus for `--init transtok`: source-language text and its translation
    /// into the target language, line by line.
    #[arg(long, num_args = 2, value_names = ["SOURCE", "TARGET"])]
    parallel: Option<Vec<PathBuf>>,
}

impl InitArgs {
    /// The initialisation asked for.
    pub fn kind(&self) -> InitKind {
        match self.init {
            InitMethod::Mean => InitKind::Mean,
            InitMethod::Random => InitKind::Random,
            InitMethod::Transtok => InitKind::TransTok,
            InitMethod::Clp => InitKind::Clp,
            InitMethod::Focus => InitKind::Focus,
            InitMethod::Wechsel => InitKind::Wechsel,
            InitMethod::Ofa => InitKind::Ofa,
        }
    }

    /// Every initialisation input given, here and with the replacement's arguments.
    pub fn inputs(&self, replace: &ReplaceArgs) -> InitInputs {
        InitInputs {
            replacing: replace.replace,
            seed: self.seed,
            parallel: self.parallel.as_ref().map(|p| (p[0].clone(), p[1].clone())),
            helper: replace.helper.clone(),
            aux_vectors: replace.aux_vectors.clone(),
            wechsel: replace.wechsel.inputs(),
        }
    }
}

/// Arguments every vocabulary command takes.
#[derive(Debug, clap::Args)]
pub struct SurgeryArgs {
    /// The HF model folder (with tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// Target-language text, one segment per line (several files allowed). With --replace it
    /// trains the new tokenizer (unless --tokenizer or --helper gives one) and FOCUS's vectors
    /// (unless --aux-vectors), and measures the token counts.
    #[arg(long, num_args = 1..)]
    corpus: Vec<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Vocabulary surgery.
#[derive(Debug, Subcommand)]
pub enum VocabCommand {
    /// Add target-language tokens to a BPE, Unigram or WordPiece vocabulary as real tokens (old ids and rows
    /// unchanged), or replace the vocabulary (--replace), and initialise the new embedding and
    /// head rows.
    Expand {
        #[command(flatten)]
        io: SurgeryArgs,
        /// Number of tokens to add.
        #[arg(long, required_unless_present = "replace")]
        add: Option<usize>,
        #[command(flatten)]
        replace: ReplaceArgs,
        #[command(flatten)]
        init: InitArgs,
    },
    /// Keep only the tokens a target-language corpus uses (plus special tokens and the base
    /// alphabet), slicing embedding and head rows and renumbering every token id.
    Trim {
        #[command(flatten)]
        io: SurgeryArgs,
        /// Keep the N most frequent corpus tokens.
        #[arg(long, conflicts_with = "min_count")]
        keep_top: Option<usize>,
        /// Keep corpus tokens seen at least K times (default 1).
        #[arg(long)]
        min_count: Option<u64>,
        /// Also keep the tokens listed in this file, one per line.
        #[arg(long)]
        keep_tokens: Option<PathBuf>,
        /// Pad the vocabulary to a multiple of N rows (new rows: the mean row).
        #[arg(long)]
        pad_to_multiple: Option<usize>,
    },
}

fn render(report: &TrimReport) -> String {
    let k = &report.kept;
    let mut out = format!("wrote {}\n", report.output.display());
    out += &format!(
        "tokenizer {}: {} → {} tokens; embedding rows {} → {}; weights {} → {} bytes\n",
        report.tokenizer,
        report.tokens_before,
        report.tokens_after,
        report.rows_before,
        report.rows_after,
        report.weight_bytes_before,
        report.weight_bytes_after
    );
    out += &format!(
        "kept: {} structural (special, unknown, alphabet), {} named in configs, {} requested, {} used in the corpus ({} lines, {} tokens), {} for BPE merges\n",
        k.structural, k.config, k.requested, k.used, report.corpus_lines, report.corpus_tokens, k.merge_closure
    );
    if !report.dropped_files.is_empty() {
        out += &format!(
            "left out (tokenizer.json replaces them): {}\n",
            report.dropped_files.join(", ")
        );
    }
    out
}

fn render_expand(report: &ExpandReport) -> String {
    let aligned = report
        .aligned_tokens
        .map(|n| {
            format!(
                "{n} of {} new rows from alignments, the others FVT\n",
                report.tokens_after - report.tokens_before
            )
        })
        .unwrap_or_default();
    format!(
        "wrote {}\n{} → {} tokens; embedding rows {} → {}; corpus {} → {} tokens\nfirst new tokens: {}\n{aligned}",
        report.output.display(),
        report.tokens_before,
        report.tokens_after,
        report.rows_before,
        report.rows_after,
        report.corpus_tokens.0,
        report.corpus_tokens.1,
        report.first_new_tokens.join(" ")
    )
}

fn render_replace(report: &ReplaceReport) -> String {
    let mut out = format!(
        "wrote {}\n{} → {} tokens ({} shared, their rows copied); embedding rows {} → {}\n",
        report.output.display(),
        report.tokens_before,
        report.tokens_after,
        report.shared_tokens,
        report.rows_before,
        report.rows_after,
    );
    if let Some(n) = report.aligned_tokens {
        out += &format!("{n} new rows from alignments, the others FVT\n");
    }
    if report.random_rows > 0 {
        out += &format!("{} new rows random\n", report.random_rows);
    }
    if let Some((before, after)) = report.corpus_tokens {
        out += &format!("corpus {before} → {after} tokens\n");
    }
    if !report.dropped_files.is_empty() {
        out += &format!("left out: {}\n", report.dropped_files.join(", "));
    }
    out
}

/// The report as JSON or as text.
pub fn output<R: serde::Serialize>(
    json: bool,
    report: &R,
    text: fn(&R) -> String,
) -> Result<String> {
    Ok(if json {
        serde_json::to_string_pretty(report)? + "\n"
    } else {
        text(report)
    })
}

/// Runs one `vocab` command and returns what to print.
pub fn run(command: VocabCommand) -> Result<String> {
    match command {
        VocabCommand::Expand {
            io,
            add,
            replace: replacing,
            init,
        } => {
            let replacement = replacing.replacement()?;
            let init_method = Init::new(init.kind(), &init.inputs(&replacing))?;
            let max_shard_bytes = io.output.max_shard_bytes()?;
            match replacement {
                Some(replacement) => {
                    let options = ReplaceOptions {
                        replacement,
                        init: init_method,
                        corpus: if io.corpus.is_empty() {
                            Vec::new()
                        } else {
                            read_corpus(&io.corpus)?
                        },
                        max_shard_bytes,
                    };
                    let source = VocabModel::open(&io.model, "vocabulary replacement")?;
                    let report = replace(&source, &io.output.out, &options)?;
                    source.release();
                    output(io.output.json, &report, render_replace)
                }
                None => {
                    let options = ExpandOptions {
                        corpus: read_corpus(&io.corpus)?,
                        // clap requires --add without --replace.
                        add: add.unwrap_or_default(),
                        tokens: None,
                        init: init_method,
                        max_shard_bytes,
                    };
                    let source = VocabModel::open(&io.model, "expansion")?;
                    let report = expand(&source, &io.output.out, &options)?;
                    source.release();
                    output(io.output.json, &report, render_expand)
                }
            }
        }
        VocabCommand::Trim {
            io,
            keep_top,
            min_count,
            keep_tokens,
            pad_to_multiple,
        } => {
            let selection = match keep_top {
                Some(n) => Selection::Top(n),
                None => Selection::MinCount(min_count.unwrap_or(1)),
            };
            let options = TrimOptions {
                corpus: read_corpus(&io.corpus)?,
                selection,
                keep_tokens,
                pad_to_multiple,
                max_shard_bytes: io.output.max_shard_bytes()?,
            };
            let report = trim(&io.model, &io.output.out, &options)?;
            output(io.output.json, &report, render)
        }
    }
}
