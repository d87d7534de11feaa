//! `retarget steer fit …`: arguments and rendering.

use std::path::PathBuf;

use anyhow::Result;
use retarget_control::capture::{capture, Pool};
use retarget_control::incline::{self, RepresentationSite};
use retarget_control::itlc::{self, Group, Method, Units};
use retarget_control::ControlError;
use retarget_infer::probe::Site;
use retarget_infer::score::read_text;
use retarget_model::output::OutputFile;
use retarget_model::progress::count_bar;

use crate::control_cli::parse_texts;
use crate::infer_cli::ModelArgs;

/// `retarget steer …`.
#[derive(Debug, clap::Subcommand)]
pub enum SteerCommand {
    /// Fit a steer from text and write it to a file for --steer.
    Fit {
        #[command(subcommand)]
        method: FitCommand,
    },
}

/// The steers `retarget steer fit` makes.
#[derive(Debug, clap::Subcommand)]
pub enum FitCommand {
    /// INCLINE: per layer, the least-squares map from source-language sentence
    /// representations to their translations' (apply with --steer FILE:incline=ALPHA).
    Incline(InclineArgs),
    /// ITLC language vectors (standard scaling + LDA of a middle layer's mean hidden
    /// states), or plain mean vectors (apply with --steer FILE:shift=SRC>TGT,alpha=A).
    Itlc(ItlcArgs),
}

/// Arguments of `retarget steer fit incline`.
#[derive(Debug, clap::Args)]
pub struct InclineArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Source-language text and its translation (e.g. into English), line by line.
    #[arg(long, num_args = 2, value_names = ["SOURCE", "TARGET"], required = true)]
    parallel: Vec<PathBuf>,
    /// Where a sentence is represented: each layer's MLP output averaged over its
    /// tokens (the released code), or the hidden state after each layer (the paper's
    /// best variant).
    #[arg(long, default_value = "mlp", value_parser = ["mlp", "residual"])]
    site: String,
    /// The file to write (safetensors: map.{layer}, hidden × hidden).
    #[arg(long)]
    out: PathBuf,
    /// Also store every line's representations (source.{layer}, target.{layer}).
    #[arg(long)]
    keep_representations: bool,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
}

/// Arguments of `retarget steer fit itlc`.
#[derive(Debug, clap::Args)]
pub struct ItlcArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// A language's text, one sentence per line: LANG=FILE (two or more languages;
    /// blank lines are skipped).
    #[arg(long = "text", value_name = "LANG=FILE", required = true, num_args = 1)]
    texts: Vec<String>,
    /// The layer whose output is represented and shifted (1..=layers; default: the
    /// middle one, layers / 2, as the reference).
    #[arg(long)]
    layer: Option<usize>,
    /// lda: ITLC (standard scaling, LDA, class means mapped back); mean: each
    /// language's mean representation (shift = difference of means).
    #[arg(long, default_value = "lda", value_parser = ["lda", "mean"])]
    method: String,
    /// Units of LDA vectors: standardized (as the reference adds them) or model
    /// (multiplied back by the features' standard deviations).
    #[arg(long, default_value = "standardized", value_parser = ["standardized", "model"])]
    units: String,
    /// At most this many lines per language.
    #[arg(long)]
    max_lines: Option<usize>,
    /// The file to write (safetensors: vector.{LANG}, hidden wide).
    #[arg(long)]
    out: PathBuf,
    /// Also store the representations and their language labels (features, labels).
    #[arg(long)]
    keep_features: bool,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
}

/// Runs `retarget steer …`; returns what to print.
pub fn run_steer(command: SteerCommand) -> Result<String> {
    match command {
        SteerCommand::Fit {
            method: FitCommand::Incline(args),
        } => fit_incline(args),
        SteerCommand::Fit {
            method: FitCommand::Itlc(args),
        } => fit_itlc(args),
    }
}

fn fit_incline(args: InclineArgs) -> Result<String> {
    let site = RepresentationSite::parse(&args.site).expect("clap checked the site");
    let (source_path, target_path) = (&args.parallel[0], &args.parallel[1]);
    let inputs = [
        source_path.as_path(),
        target_path.as_path(),
        args.model.path(),
    ];
    let out = OutputFile::create(&args.out, &inputs, args.force)?;
    let source_lines = read_text(source_path)?;
    let target_lines = read_text(target_path)?;
    if source_lines.len() != target_lines.len() {
        return Err(ControlError::Usage(format!(
            "--parallel: {} has {} lines but {} has {}; parallel texts pair line by line",
            source_path.display(),
            source_lines.len(),
            target_path.display(),
            target_lines.len()
        ))
        .into());
    }
    let model = args.model.open_decoder()?;
    let bar = count_bar(2 * source_lines.len() as u64, "representing sentences");
    let source = incline::representations(&model, source_path, &source_lines, site, || bar.inc(1))?;
    let target = incline::representations(&model, target_path, &target_lines, site, || bar.inc(1))?;
    bar.finish_and_clear();
    let maps = incline::fit(&source, &target)?;
    let metadata = [
        ("model", args.model.path().display().to_string()),
        ("site", site.name().to_string()),
        ("source", source_path.display().to_string()),
        ("target", target_path.display().to_string()),
        ("pairs", source.lines.to_string()),
        ("layers", maps.len().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let kept = args.keep_representations.then_some((&source, &target));
    out.write(&incline::to_bytes(&maps, source.hidden, kept, metadata)?)?;
    Ok(format!(
        "wrote {}: INCLINE maps of {} layers ({} × {}), site {}, fitted on {} pairs\n",
        args.out.display(),
        maps.len(),
        source.hidden,
        source.hidden,
        site.name(),
        source.lines
    ))
}

fn fit_itlc(args: ItlcArgs) -> Result<String> {
    let method = match (args.method.as_str(), args.units.as_str()) {
        ("mean", _) => Method::Mean,
        (_, "model") => Method::Lda(Units::Model),
        _ => Method::Lda(Units::Standardized),
    };
    let texts = parse_texts(&args.texts, "language vectors")?;
    let mut inputs: Vec<&std::path::Path> = texts.iter().map(|(_, path)| path.as_path()).collect();
    inputs.push(args.model.path());
    let out = OutputFile::create(&args.out, &inputs, args.force)?;
    let mut lines = Vec::with_capacity(texts.len());
    for (language, path) in &texts {
        let mut kept: Vec<String> = read_text(path)?
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect();
        kept.truncate(args.max_lines.unwrap_or(usize::MAX));
        if kept.len() < itlc::MIN_LINES {
            return Err(ControlError::Usage(format!(
                "{}: the {language} text has {} non-blank line(s); language vectors need at least {} per language",
                path.display(),
                kept.len(),
                itlc::MIN_LINES
            ))
            .into());
        }
        lines.push(kept);
    }
    let model = args.model.open_decoder()?;
    let (layers, hidden) = (
        model.decoder.config().num_layers,
        model.decoder.config().hidden_size,
    );
    let layer = args.layer.unwrap_or(layers / 2);
    if layer == 0 || layer > layers {
        return Err(ControlError::Usage(format!(
            "--layer {layer} is out of range: this model has layers 1..={layers}"
        ))
        .into());
    }
    let total: usize = lines.iter().map(Vec::len).sum();
    let bar = count_bar(total as u64, "representing sentences");
    let mut groups = Vec::with_capacity(texts.len());
    for ((language, path), lines) in texts.iter().zip(&lines) {
        let captured = capture(
            &model,
            path,
            lines,
            &[Site::Residual(layer)],
            Pool::Mean,
            || bar.inc(1),
        )?;
        let rows = captured
            .sites
            .into_iter()
            .next()
            .map_or(Vec::new(), |c| c.rows);
        groups.push(Group {
            language: language.clone(),
            rows,
        });
    }
    bar.finish_and_clear();
    let fitted = itlc::fit(&groups, hidden, method)?;
    let languages: Vec<String> = texts.iter().map(|(l, _)| l.clone()).collect();
    let metadata = [
        ("model", args.model.path().display().to_string()),
        ("method", method.name().to_string()),
        ("layer", layer.to_string()),
        ("languages", serde_json::to_string(&languages)?),
        (
            "lines",
            serde_json::to_string(&lines.iter().map(Vec::len).collect::<Vec<_>>())?,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let features: Vec<f32> = groups.iter().flat_map(|g| g.rows.iter().copied()).collect();
    let labels: Vec<i64> = lines
        .iter()
        .enumerate()
        .flat_map(|(k, l)| std::iter::repeat_n(k as i64, l.len()))
        .collect();
    let kept = args
        .keep_features
        .then_some((features.as_slice(), labels.as_slice(), hidden));
    out.write(&itlc::to_bytes(&languages, &fitted, kept, metadata)?)?;
    let components = fitted.lda.as_ref().map_or(String::new(), |l| {
        format!(", {} LDA components", l.components)
    });
    Ok(format!(
        "wrote {}: {} vectors of {} languages at layer {layer} ({hidden} wide{components}), from {total} lines\n",
        args.out.display(),
        method.name(),
        languages.len(),
    ))
}
