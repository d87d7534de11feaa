//! `retarget capture`: arguments and rendering.

use std::path::PathBuf;

use anyhow::Result;
use retarget_control::capture::{self, Pool};
use retarget_control::ControlError;
use retarget_infer::probe::Site;
use retarget_infer::score::read_text;
use retarget_model::output::OutputFile;
use retarget_model::progress::count_bar;

use crate::infer_cli::ModelArgs;

/// Arguments of `retarget capture`.
#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Text, one segment per line; each line runs alone (with the tokenizer's special
    /// tokens).
    #[arg(short = 'i', long = "input")]
    input: PathBuf,
    /// A site to capture (repeatable): residual:N (0 = embeddings, N = after layer N),
    /// attention:I, mlp:I or mlp-activation:I (layer I from 0).
    #[arg(long = "site", value_name = "SITE", required = true)]
    sites: Vec<String>,
    /// none: every token's state; mean: the mean over each line's tokens; last: each
    /// line's last token.
    #[arg(long, default_value = "none", value_parser = ["none", "mean", "last"])]
    pool: String,
    /// The file to write (safetensors: one rows × width tensor per site, named as the
    /// site, and `tokens`, the tokens of each line).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite an existing output file.
    #[arg(long)]
    force: bool,
}

/// Runs `retarget capture`; returns what to print.
pub fn run_capture(args: CaptureArgs) -> Result<String> {
    let pool = Pool::parse(&args.pool).expect("clap checked the pooling");
    let out = OutputFile::create(&args.out, &[&args.input, args.model.path()], args.force)?;
    let lines: Vec<String> = read_text(&args.input)?
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let model = args.model.open_decoder()?;
    let layers = model.decoder.config().num_layers;
    let mut sites: Vec<Site> = Vec::with_capacity(args.sites.len());
    for name in &args.sites {
        let site = Site::parse(name, layers).map_err(ControlError::Usage)?;
        if sites.contains(&site) {
            return Err(ControlError::Usage(format!("--site {name} is given twice")).into());
        }
        sites.push(site);
    }
    let bar = count_bar(lines.len() as u64, "capturing states");
    let captured = capture::capture(&model, &args.input, &lines, &sites, pool, || bar.inc(1))?;
    bar.finish_and_clear();
    let metadata = [
        ("model", args.model.path().display().to_string()),
        ("input", args.input.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    out.write(&capture::to_bytes(&captured, metadata)?)?;
    let tokens: usize = captured.tokens.iter().sum();
    Ok(format!(
        "wrote {}: {} site(s) over {} lines ({tokens} tokens), pooled {}\n",
        args.out.display(),
        sites.len(),
        lines.len(),
        pool.name()
    ))
}
