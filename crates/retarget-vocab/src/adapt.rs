//! `retarget adapt`: the pipeline — expand the vocabulary with
//! target-language tokens, initialise their rows, optionally trim to what the
//! target language uses — and a report (`report.json` in the output folder)
//! of vocabulary, size, fertility and continued words before and after on
//! held-out target-language text.

use std::path::{Path, PathBuf};

use retarget_eval::fertility::{Counter, Fairness};
use retarget_eval::language::Language;
use retarget_model::convert::{convert, ConvertOptions};
use retarget_model::progress::bytes_bar;
use retarget_model::ModelError;

use crate::error::{Result, VocabError};
use crate::expand::{expand, ExpandOptions, Init};
use crate::trim::{read_corpus, trim, TrimOptions};
use crate::usage::Selection;

/// Options of `retarget adapt`.
#[derive(Debug, Clone)]
pub struct AdaptOptions {
    /// The target language (any ISO 639 / BCP-47 code).
    pub lang: String,
    /// Target-language text, one segment per line.
    pub corpus: Vec<PathBuf>,
    /// Held-out text for the report; without it the last tenth of the corpus is held out.
    pub held_out: Option<PathBuf>,
    /// Tokens to add.
    pub add: usize,
    /// Initialisation of the new rows.
    pub init: Init,
    /// Trim the expanded vocabulary to what the corpus uses.
    pub trim: bool,
    /// Largest output shard in bytes.
    pub max_shard_bytes: u64,
}

/// One side of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelSide {
    /// Tokens in the vocabulary.
    pub tokens: usize,
    /// Bytes of the weight files.
    pub weight_bytes: u64,
    /// Tokenizer fairness on the held-out text.
    pub held_out: Fairness,
}

/// What `adapt` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AdaptReport {
    /// The output folder.
    pub output: PathBuf,
    /// Target language (ISO 639-3) and its name.
    pub lang: String,
    /// Its English name.
    pub language: String,
    /// Lines used to learn tokens, and lines held out.
    pub lines: (usize, usize),
    /// Tokens added and how their rows were initialised.
    pub added: usize,
    /// `mean` (FVT) or `random`.
    pub init: String,
    /// Whether the vocabulary was trimmed afterwards.
    pub trimmed: bool,
    /// The input model.
    pub before: ModelSide,
    /// The adapted model.
    pub after: ModelSide,
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

fn side(dir: &Path, lang: &str, held_out: &[String]) -> Result<ModelSide> {
    let path = dir.join("tokenizer.json");
    let tokenizer = tokenizers::Tokenizer::from_file(&path)
        .map_err(|e| VocabError::invalid(&path, format!("cannot load the tokenizer: {e}")))?;
    let counts = Counter::new(&tokenizer)
        .count(held_out)
        .map_err(|e| VocabError::invalid(&path, format!("encoding the held-out text: {e}")))?;
    Ok(ModelSide {
        tokens: tokenizer.get_vocab_size(true),
        weight_bytes: weight_bytes(dir),
        held_out: Fairness::new(&path.display().to_string(), lang, counts, None),
    })
}

/// Adapts the model `model` (HF folder or GGUF file) into the new folder `output`.
pub fn adapt(model: &Path, output: &Path, options: &AdaptOptions) -> Result<AdaptReport> {
    let language = Language::parse(&options.lang)?;
    let mut lines = read_corpus(&options.corpus)?;
    let held_out = match &options.held_out {
        Some(path) => read_corpus(std::slice::from_ref(path))?,
        None => {
            let keep = lines.len() - (lines.len() / 10).max(1);
            if keep == 0 {
                return Err(VocabError::invalid(
                    &options.corpus[0],
                    "too little text to hold some out; give more lines or --held-out",
                ));
            }
            lines.split_off(keep)
        }
    };
    let parent = std::path::absolute(output)
        .map_err(|e| ModelError::io(output, e))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).map_err(|e| ModelError::io(&parent, e))?;
    let scratch = tempfile::Builder::new()
        .prefix(".retarget-adapt-")
        .tempdir_in(&parent)
        .map_err(|e| ModelError::io(&parent, e))?;
    let base = if model.is_file() {
        let converted = scratch.path().join("base");
        convert(model, &converted, &ConvertOptions::default(), &|total| {
            bytes_bar(total, "converting GGUF")
        })?;
        converted
    } else {
        model.to_path_buf()
    };
    let corpus = scratch.path().join("corpus.txt");
    std::fs::write(&corpus, lines.join("\n") + "\n").map_err(|e| ModelError::io(&corpus, e))?;
    let code = language.code().to_string();
    let before = side(&base, &code, &held_out)?;
    let expanded = if options.trim {
        scratch.path().join("expanded")
    } else {
        output.to_path_buf()
    };
    let expand_options = ExpandOptions {
        corpus: vec![corpus.clone()],
        add: options.add,
        init: options.init,
        max_shard_bytes: options.max_shard_bytes,
    };
    expand(&base, &expanded, &expand_options)?;
    if options.trim {
        let trim_options = TrimOptions {
            corpus: vec![corpus],
            selection: Selection::MinCount(1),
            keep_tokens: None,
            pad_to_multiple: None,
            max_shard_bytes: options.max_shard_bytes,
        };
        trim(&expanded, output, &trim_options)?;
    }
    let after = side(output, &code, &held_out)?;
    let report = AdaptReport {
        output: output.to_path_buf(),
        lang: code,
        language: language.name().to_string(),
        lines: (lines.len(), held_out.len()),
        added: options.add,
        init: match options.init {
            Init::Mean => "mean".into(),
            Init::Random { .. } => "random".into(),
        },
        trimmed: options.trim,
        before,
        after,
    };
    // report.json joins the finished folder atomically (temporary file, then rename).
    let path = output.join("report.json");
    let temp = output.join(".report.json.partial");
    let mut bytes = serde_json::to_vec_pretty(&report).expect("the report serialises");
    bytes.push(b'\n');
    std::fs::write(&temp, bytes).map_err(|e| ModelError::io(&temp, e))?;
    std::fs::rename(&temp, &path).map_err(|e| ModelError::io(&path, e))?;
    Ok(report)
}
