//! `retarget vocab …`: arguments and rendering.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use retarget_model::writer::parse_size;
use retarget_vocab::usage::Selection;
use retarget_vocab::{trim, TrimOptions, TrimReport};

/// Vocabulary surgery.
#[derive(Debug, Subcommand)]
pub enum VocabCommand {
    /// Keep only the tokens a target-language corpus uses (plus special tokens and the base
    /// alphabet), slicing embedding and head rows and renumbering every token id.
    Trim {
        /// The HF model folder (with tokenizer.json).
        #[arg(long)]
        model: PathBuf,
        /// Target-language text, one segment per line (several files allowed).
        #[arg(long, required = true, num_args = 1..)]
        corpus: Vec<PathBuf>,
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
        /// The output folder (must not exist, or be empty).
        #[arg(long)]
        out: PathBuf,
        /// Largest shard, e.g. 5GB, 500MB, 2GiB.
        #[arg(long, default_value = "5GB")]
        max_shard_size: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
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

/// Runs one `vocab` command and returns what to print.
pub fn run(command: VocabCommand) -> Result<String> {
    match command {
        VocabCommand::Trim {
            model,
            corpus,
            keep_top,
            min_count,
            keep_tokens,
            pad_to_multiple,
            out,
            max_shard_size,
            json,
        } => {
            let selection = match keep_top {
                Some(n) => Selection::Top(n),
                None => Selection::MinCount(min_count.unwrap_or(1)),
            };
            let options = TrimOptions {
                corpus,
                selection,
                keep_tokens,
                pad_to_multiple,
                max_shard_bytes: parse_size(&max_shard_size)?,
            };
            let report = trim(&model, &out, &options)?;
            Ok(if json {
                serde_json::to_string_pretty(&report)? + "\n"
            } else {
                render(&report)
            })
        }
    }
}
