//! `retarget neurons`: arguments and rendering.

use std::path::PathBuf;

use anyhow::Result;
use retarget_control::lape::{self, Settings, MIN_TOKENS};
use retarget_control::neurons_file::{self, Provenance, Summary};
use retarget_control::ControlError;
use retarget_infer::score::read_text;
use retarget_model::output::OutputFile;
use retarget_model::progress::count_bar;

use crate::infer_cli::ModelArgs;

/// Arguments of `retarget neurons`.
#[derive(Debug, clap::Args)]
pub struct NeuronsArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// A language's text, one segment per line: LANG=FILE (two or more languages).
    #[arg(long = "text", value_name = "LANG=FILE", required = true, num_args = 1)]
    texts: Vec<String>,
    /// The neurons file to write (safetensors: counts, token totals and masks per language).
    #[arg(long)]
    out: PathBuf,
    /// Also write the masks in the reference code's layout, as JSON: per language, per
    /// layer, the neuron indices.
    #[arg(long, value_name = "FILE")]
    reference_layout: Option<PathBuf>,
    /// Tokens per forward pass (each language's text is concatenated and cut into windows).
    #[arg(long, default_value_t = 512)]
    window: usize,
    /// At most this many tokens per language.
    #[arg(long)]
    max_tokens: Option<usize>,
    /// Share of all neurons kept, lowest entropy first.
    #[arg(long, default_value_t = Settings::default().top_rate)]
    top_rate: f64,
    /// Quantile of all activation probabilities a neuron must pass in some language.
    #[arg(long, default_value_t = Settings::default().filter_rate)]
    filter_rate: f64,
    /// Quantile a kept neuron's probability must pass for a language to own it.
    #[arg(long, default_value_t = Settings::default().activation_bar_rate)]
    activation_bar_rate: f64,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `retarget neurons`; returns what to print.
pub fn run_neurons(args: NeuronsArgs) -> Result<String> {
    let settings = Settings {
        top_rate: args.top_rate,
        filter_rate: args.filter_rate,
        activation_bar_rate: args.activation_bar_rate,
    };
    for (name, rate) in [
        ("--top-rate", settings.top_rate),
        ("--filter-rate", settings.filter_rate),
        ("--activation-bar-rate", settings.activation_bar_rate),
    ] {
        if !(rate > 0.0 && rate <= 1.0) {
            return Err(ControlError::Usage(format!("{name} {rate} must lie in (0, 1]")).into());
        }
    }
    let texts = parse_texts(&args.texts, "language-specific neurons")?;
    let mut inputs: Vec<&std::path::Path> = texts.iter().map(|(_, path)| path.as_path()).collect();
    inputs.push(args.model.path());
    let out = OutputFile::create(&args.out, &inputs, args.force)?;
    let layout_out = args
        .reference_layout
        .as_ref()
        .map(|path| OutputFile::create(path, &inputs, args.force))
        .transpose()?;
    let model = args.model.open_decoder()?;
    let mut ids = Vec::with_capacity(texts.len());
    for (language, path) in &texts {
        let lines = read_text(path)?;
        let language_ids = lape::token_ids(&model, &lines, args.max_tokens)?;
        if language_ids.len() < MIN_TOKENS {
            return Err(ControlError::Usage(format!(
                "{}: the {language} text has {} tokens; language-specific neurons need at least {MIN_TOKENS} per language for stable statistics",
                path.display(),
                language_ids.len()
            ))
            .into());
        }
        ids.push(language_ids);
    }
    let windows: usize = ids
        .iter()
        .map(|i| i.len().div_ceil(args.window.max(1)))
        .sum();
    let bar = count_bar(windows as u64, "counting activations");
    let counts = ids
        .iter()
        .map(|language_ids| {
            lape::count_activations(&model, language_ids, args.window, || bar.inc(1))
        })
        .collect::<retarget_control::Result<Vec<_>>>()?;
    bar.finish_and_clear();
    let selection = lape::select(&counts, &settings)?;
    let provenance = Provenance {
        model: args.model.path().display().to_string(),
        languages: texts.iter().map(|(l, _)| l.clone()).collect(),
        window: args.window,
        settings,
    };
    out.write(&neurons_file::to_bytes(&provenance, &counts, &selection)?)?;
    if let Some(layout_out) = layout_out {
        layout_out.write(serde_json::to_string(&selection.neurons)?.as_bytes())?;
    }
    let summary = neurons_file::summary(provenance, &counts, &selection);
    if args.json {
        return Ok(serde_json::to_string_pretty(&summary)? + "\n");
    }
    Ok(render(&summary, counts[0].layers, counts[0].neurons))
}

/// `LANG=FILE` arguments as (language, file); a language given twice, or
/// fewer than two, is refused (`what` names what compares languages).
pub(crate) fn parse_texts(texts: &[String], what: &str) -> Result<Vec<(String, PathBuf)>> {
    let mut parsed: Vec<(String, PathBuf)> = Vec::new();
    for text in texts {
        let Some((language, path)) = text
            .split_once('=')
            .filter(|(l, p)| !l.is_empty() && !p.is_empty())
        else {
            return Err(ControlError::Usage(format!("--text {text}: expected LANG=FILE")).into());
        };
        if parsed.iter().any(|(l, _)| l == language) {
            return Err(
                ControlError::Usage(format!("--text: language {language} is given twice")).into(),
            );
        }
        parsed.push((language.to_string(), PathBuf::from(path)));
    }
    if parsed.len() < 2 {
        return Err(ControlError::Usage(format!(
            "{what} compare languages: give --text LANG=FILE for two or more"
        ))
        .into());
    }
    Ok(parsed)
}

/// The summary as a table: neurons per language, in all and per layer.
fn render(summary: &Summary, layers: usize, neurons: usize) -> String {
    let mut out = format!(
        "language-specific neurons (LAPE) of {}: {layers} layers × {neurons} MLP neurons, {} kept by entropy; filter {:.4}, bar {:.4}\n",
        summary.provenance.model, summary.candidates, summary.filter_value, summary.activation_bar
    );
    out += &format!(
        "{:<10} {:>9} {:>8}  per layer (1..{layers})\n",
        "language", "tokens", "neurons"
    );
    for (language, tokens) in summary.per_language.iter().zip(&summary.tokens) {
        let per_layer: Vec<String> = language.per_layer.iter().map(|n| n.to_string()).collect();
        out += &format!(
            "{:<10} {:>9} {:>8}  {}\n",
            language.language,
            tokens,
            language.total,
            per_layer.join(" ")
        );
    }
    out
}
