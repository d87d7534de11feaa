//! `retarget adapt`: the pipeline — expand the vocabulary with
//! target-language tokens, initialise their rows, optionally trim to what the
//! target language uses — and a report (`report.json` in the output folder)
//! of vocabulary, size, fertility and continued words before and after on
//! held-out target-language text.

use std::path::{Path, PathBuf};

use retarget_eval::fertility::{Counter, Fairness, TextCounts};
use retarget_eval::language::Language;
use retarget_infer::model::{open_model, AnyModel};
use retarget_infer::score::{LineScore, ScoreSummary};
use retarget_infer::Device;
use retarget_infer::InferError;
use retarget_model::convert::open_or_convert;
use retarget_model::hf_folder::load_tokenizer;
use retarget_model::output::{OutputDir, ScratchDir};
use retarget_model::progress::count_bar;
use retarget_model::ModelError;

use retarget_vocab::tokenizer::new_tokens::{learn, train_replacement};
use retarget_vocab::tokenizer::usage::Selection;
use retarget_vocab::trim::read_corpus;
use retarget_vocab::{
    expand, replace, trim, ExpandOptions, Init, InitInputs, InitKind, ReplaceOptions, Replacement,
    TrimOptions, VocabModel,
};

use crate::error::{AdaptError, Result};
use crate::report::{
    total, warn_if_unclear, AdaptReport, Deltas, HeldOut, InitScore, ModelSide, Stopwatch,
    TrimmingEffect, Uncertainty,
};

/// Options of `retarget adapt`.
#[derive(Debug, Clone)]
pub struct AdaptOptions {
    /// The target language (any ISO 639 / BCP-47 code).
    pub lang: String,
    /// Target-language text, one segment per line.
    pub corpus: Vec<PathBuf>,
    /// Held-out text for the report; without it the last tenth of the corpus is held out.
    pub held_out: Option<PathBuf>,
    /// The held-out text in a reference language (usually English), line
    /// by line, for tokenizer parity; needs `held_out`.
    pub parallel_ref: Option<PathBuf>,
    /// Tokens to add.
    pub add: usize,
    /// Initialisation of the new rows.
    pub init: InitKind,
    /// What the initialisations take (the chosen one and every other one
    /// the report compares, where these inputs allow it).
    pub inputs: InitInputs,
    /// Trim the expanded vocabulary to what the corpus uses.
    pub trim: bool,
    /// Replace the vocabulary instead of expanding it.
    pub replace: Option<Replacement>,
    /// Largest output shard in bytes.
    pub max_shard_bytes: u64,
}

/// Scores the held-out text with each model; turns itself off (with the
/// reason) at the first model whose architecture inference does not support.
struct HeldOutScorer<'t> {
    held_out: &'t [String],
    /// The file the held-out text came from, named in errors.
    source: &'t Path,
    skipped: Option<String>,
}

impl<'t> HeldOutScorer<'t> {
    fn new(held_out: &'t [String], source: &'t Path) -> Self {
        HeldOutScorer {
            held_out,
            source,
            skipped: None,
        }
    }

    fn enabled(&self) -> bool {
        self.skipped.is_none()
    }

    /// The negative log-likelihood of each held-out line under the model in
    /// `dir` (nats), unless scoring is off.
    fn nll(&mut self, dir: &Path, label: &str) -> Result<Option<Vec<f64>>> {
        if !self.enabled() {
            return Ok(None);
        }
        let model = match open_model(dir, &Device::Cpu) {
            Ok(model @ AnyModel::Decoder(_)) => model,
            Ok(_) => {
                self.skipped = Some(format!(
                    "{}: bits per byte of target-language text need a decoder-only model (use `retarget score --source` for translation models)",
                    dir.display()
                ));
                return Ok(None);
            }
            Err(err @ InferError::UnsupportedArchitecture { .. }) => {
                self.skipped = Some(err.to_string());
                return Ok(None);
            }
            Err(err) => return Err(err.into()),
        };
        let bar = count_bar(
            self.held_out.len() as u64,
            &format!("scoring held-out text: {label}"),
        );
        let (scores, _) =
            model.score_lines(self.source, self.held_out, None, false, &|| bar.inc(1))?;
        bar.finish_and_clear();
        Ok(Some(scores.iter().map(|s| s.nll).collect()))
    }
}

fn weight_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".safetensors"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Vocabulary, size and tokenizer fairness of the model in `dir` (whose
/// tokenizer counted the held-out text as `counts`, line by line); parity
/// against `reference_tokens`, the token count of the same text in the
/// reference language under the *input* model's tokenizer (so that the
/// number says what the target language costs relative to what the
/// reference cost originally; a trimmed tokenizer that no longer knows the
/// reference language does not distort it). The report names the tokenizer
/// by `shown`, where it is after the run (never the scratch folder).
fn side(
    dir: &Path,
    shown: &Path,
    tokenizer: &tokenizers::Tokenizer,
    lang: &str,
    counts: &[TextCounts],
    reference_tokens: Option<u64>,
) -> ModelSide {
    ModelSide {
        tokens: tokenizer.get_vocab_size(true),
        weight_bytes: weight_bytes(dir),
        held_out: Fairness::new(
            &shown.display().to_string(),
            lang,
            total(counts),
            reference_tokens,
        ),
        bits_per_byte: None,
    }
}

/// Counts each held-out line with `tokenizer` (the file in `dir`).
fn count_each(
    dir: &Path,
    tokenizer: &tokenizers::Tokenizer,
    lines: &[String],
    what: &str,
) -> Result<Vec<TextCounts>> {
    Counter::new(tokenizer).count_each(lines).map_err(|e| {
        AdaptError::invalid(
            dir.join("tokenizer.json"),
            format!("encoding the {what}: {e}"),
        )
    })
}

/// Bits per byte of `lines` given each line's negative log-likelihood.
fn bits_per_byte(lines: &[String], nll: &[f64]) -> f64 {
    let scores: Vec<LineScore> = nll
        .iter()
        .map(|&nll| LineScore { tokens: 0, nll })
        .collect();
    ScoreSummary::of(lines, &scores).bits_per_byte
}

/// Adapts the model `model` (HF folder or GGUF file) into the new folder `output`.
pub fn adapt(model: &Path, output: &Path, options: &AdaptOptions) -> Result<AdaptReport> {
    let language = Language::parse(&options.lang)?;
    let inputs = InitInputs {
        replacing: options.replace.is_some(),
        ..options.inputs.clone()
    };
    let chosen = Init::new(options.init, &inputs)?;
    let mut clock = Stopwatch::start();
    let mut lines = read_corpus(&options.corpus)?;
    let held_out = match &options.held_out {
        Some(path) => read_corpus(std::slice::from_ref(path))?,
        None => {
            let keep = lines.len() - (lines.len() / 10).max(1);
            if keep == 0 {
                return Err(AdaptError::invalid(
                    &options.corpus[0],
                    "too little text to hold some out; give more lines or --held-out",
                ));
            }
            lines.split_off(keep)
        }
    };
    let reference = match (&options.parallel_ref, &options.held_out) {
        (Some(_), None) => {
            return Err(AdaptError::Usage(
                "--parallel-ref needs --held-out: the reference must be parallel to the held-out text line by line".into(),
            ))
        }
        (Some(path), Some(_)) => {
            let reference = read_corpus(std::slice::from_ref(path))?;
            if reference.len() != held_out.len() {
                return Err(AdaptError::invalid(
                    path,
                    format!(
                        "{} lines of text, but the held-out text has {}; parity needs them parallel",
                        reference.len(),
                        held_out.len()
                    ),
                ));
            }
            Some(reference)
        }
        (None, _) => None,
    };
    let parent = std::path::absolute(output)
        .map_err(|e| ModelError::io(output, e))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    clock.lap("read text");
    let destination = OutputDir::create(output, &[model])?;
    let scratch = ScratchDir::new(&parent, "adapt")?;
    let base_folder = open_or_convert(model, scratch.path(), "base")?;
    clock.lap(if base_folder.converted() {
        "convert GGUF"
    } else {
        "open model"
    });
    let base = base_folder.path().to_path_buf();
    let code = language.code().to_string();
    let source = VocabModel::open(&base, "adaptation")?;
    let base_tokenizer = source.tokenizer()?;
    let reference_counts = match &reference {
        Some(lines) => Some(count_each(&base, base_tokenizer, lines, "reference text")?),
        None => None,
    };
    let reference_tokens = reference_counts.as_deref().map(|c| total(c).tokens);
    let before_counts = count_each(&base, base_tokenizer, &held_out, "held-out text")?;
    let measures = HeldOut::new(&held_out, &before_counts, reference_counts.as_deref());
    // A GGUF input's tokenizer lives in the scratch conversion: name the GGUF.
    let base_shown = if base_folder.converted() {
        model.to_path_buf()
    } else {
        model.join("tokenizer.json")
    };
    let mut before = side(
        &base,
        &base_shown,
        base_tokenizer,
        &code,
        &before_counts,
        reference_tokens,
    );
    let held_out_source = options.held_out.as_ref().unwrap_or(&options.corpus[0]);
    clock.lap("count tokens before");
    let mut scores = HeldOutScorer::new(&held_out, held_out_source);
    let base_nll = scores.nll(&base, "base model")?;
    clock.lap("score base");
    before.bits_per_byte = base_nll.as_deref().map(|n| bits_per_byte(&held_out, n));
    // Bits per byte of a model (per-line NLL `nll`), and its difference
    // from the model scored as `against`.
    let compared = |nll: &Option<Vec<f64>>, against: &Option<Vec<f64>>| match (nll, against) {
        (Some(n), Some(b)) => (
            Some(bits_per_byte(&held_out, n)),
            Some(measures.bits_delta(n, b)),
        ),
        _ => (None, None),
    };
    // A replacement tokenizer is trained once, so that every initialisation
    // compared starts from the same vocabulary.
    let base_file = &source.file;
    let new_tokenizer = match &options.replace {
        Some(r) if r.tokenizer.is_none() && r.helper.is_none() => {
            let size = r.vocab_size.unwrap_or(base_file.len());
            let trained = train_replacement(base_file, base_tokenizer, &lines, size)?;
            let path = scratch.path().join("new-tokenizer.json");
            std::fs::write(&path, trained.to_json_bytes()).map_err(|e| ModelError::io(&path, e))?;
            Some(path)
        }
        Some(r) => r.tokenizer.clone(),
        None => None,
    };
    // Likewise the tokens an expansion appends are learnt once.
    let tokens = match &options.replace {
        None => Some(learn(base_file, base_tokenizer, &lines, options.add)?),
        Some(_) => None,
    };
    clock.lap(if options.replace.is_some() {
        "train tokenizer"
    } else {
        "learn tokens"
    });
    let action = if options.replace.is_some() {
        "replace"
    } else {
        "expand"
    };
    let adapt_with = |init: Init, name: &str| -> Result<PathBuf> {
        let dir = scratch.path().join(format!("adapted-{name}"));
        match &options.replace {
            None => {
                let expand_options = ExpandOptions {
                    corpus: lines.clone(),
                    add: options.add,
                    tokens: tokens.clone(),
                    init,
                    max_shard_bytes: options.max_shard_bytes,
                };
                expand(&source, &dir, &expand_options)?;
            }
            Some(r) => {
                let replace_options = ReplaceOptions {
                    replacement: Replacement {
                        tokenizer: new_tokenizer.clone(),
                        ..r.clone()
                    },
                    init,
                    corpus: lines.clone(),
                    max_shard_bytes: options.max_shard_bytes,
                };
                replace(&source, &dir, &replace_options)?;
            }
        }
        Ok(dir)
    };
    let name = chosen.name();
    let expanded = adapt_with(chosen, name)?;
    clock.lap(format!("{action} ({name})"));
    let expanded_nll = scores.nll(&expanded, &format!("expanded ({name})"))?;
    clock.lap(format!("score ({name})"));
    let (expanded_bits, bits_delta) = compared(&expanded_nll, &base_nll);
    let mut initialisations = vec![InitScore {
        init: name.to_string(),
        bits_per_byte: expanded_bits,
        delta: bits_delta,
    }];
    // Every other initialisation these inputs allow, for comparison (not
    // written); random rows with seed 0. OFA is WECHSEL's rule on one
    // space: compared only when asked for.
    if scores.enabled() {
        let others = [
            InitKind::Mean,
            InitKind::Random,
            InitKind::TransTok,
            InitKind::Clp,
            InitKind::Focus,
            InitKind::Wechsel,
        ];
        let inputs = InitInputs { seed: 0, ..inputs };
        for other in others.into_iter().filter(|&k| k != options.init) {
            let Ok(init) = Init::new(other, &inputs) else {
                continue;
            };
            let name = other.name();
            let dir = adapt_with(init, name)?;
            clock.lap(format!("{action} ({name}, compared)"));
            let (bits_per_byte, delta) =
                compared(&scores.nll(&dir, &format!("expanded ({name})"))?, &base_nll);
            initialisations.push(InitScore {
                init: name.to_string(),
                bits_per_byte,
                delta,
            });
            std::fs::remove_dir_all(&dir).map_err(|e| ModelError::io(&dir, e))?;
            clock.lap(format!("score ({name}, compared)"));
        }
    }
    let finished = if options.trim {
        let trimmed = scratch.path().join("trimmed");
        let trim_options = TrimOptions {
            corpus: lines.clone(),
            selection: Selection::MinCount(1),
            keep_tokens: None,
            pad_to_multiple: None,
            max_shard_bytes: options.max_shard_bytes,
        };
        trim(&expanded, &trimmed, &trim_options)?;
        clock.lap("trim");
        trimmed
    } else {
        expanded
    };
    let finished_tokenizer = load_tokenizer(&finished)?;
    let after_counts = count_each(&finished, &finished_tokenizer, &held_out, "held-out text")?;
    clock.lap("count tokens after");
    let mut after = side(
        &finished,
        &output.join("tokenizer.json"),
        &finished_tokenizer,
        &code,
        &after_counts,
        reference_tokens,
    );
    after.bits_per_byte = expanded_bits;
    let (fertility, parity) = measures.token_deltas(&after_counts, &before_counts);
    let trimming = if options.trim {
        let (bits_per_byte, delta) =
            compared(&scores.nll(&finished, "trimmed model")?, &expanded_nll);
        clock.lap("score trimmed");
        Some(TrimmingEffect {
            tokens: after.tokens,
            bits_per_byte,
            delta,
            note: format!(
                "the trimmed model's softmax is renormalised over its {} kept tokens, which by itself lowers bits per byte of text made of them, while text that needs a dropped token is spelled in other (often byte) pieces, which raises it; neither is better or worse modelling, and the number is not comparable with the input's bits per byte",
                after.tokens
            ),
        })
    } else {
        None
    };
    let deltas = Deltas {
        fertility,
        parity,
        bits_per_byte: bits_delta,
    };
    let n = held_out.len();
    let mut warnings: Vec<String> = [
        Some(("Δ fertility", Some(deltas.fertility))),
        Some(("Δ parity", deltas.parity)),
        Some(("Δ bits per byte", deltas.bits_per_byte)),
        trimming
            .as_ref()
            .map(|t| ("Δ bits per byte from trimming", t.delta)),
    ]
    .into_iter()
    .flatten()
    .filter_map(|(name, delta)| warn_if_unclear(name, &delta?, n))
    .collect();
    let unclear: Vec<&str> = initialisations
        .iter()
        .filter(|i| i.delta.is_some_and(|d| !d.excludes_zero))
        .map(|i| i.init.as_str())
        .collect();
    if !unclear.is_empty() {
        warnings.push(format!(
            "initialisations whose bits per byte {n} held-out lines cannot tell from the input's: {}",
            unclear.join(", ")
        ));
    }
    let mut report = AdaptReport {
        output: output.to_path_buf(),
        lang: code,
        language: language.name().to_string(),
        lines: (lines.len(), n),
        added: if options.replace.is_some() {
            0
        } else {
            options.add
        },
        replaced: options.replace.is_some(),
        init: name.to_string(),
        trimmed: options.trim,
        before,
        after,
        deltas,
        trimming,
        initialisations,
        uncertainty: Uncertainty::of(n),
        scoring: scores.skipped,
        warnings,
        timings: Vec::new(),
    };
    for entry in std::fs::read_dir(&finished).map_err(|e| ModelError::io(&finished, e))? {
        let entry = entry.map_err(|e| ModelError::io(&finished, e))?;
        let target = destination.path().join(entry.file_name());
        std::fs::rename(entry.path(), &target).map_err(|e| ModelError::io(&target, e))?;
    }
    clock.lap("move output");
    report.timings = clock.stages();
    let mut bytes = serde_json::to_vec_pretty(&report).expect("the report serialises");
    bytes.push(b'\n');
    destination.write_file(Path::new("report.json"), &bytes)?;
    destination.commit()?;
    Ok(report)
}
