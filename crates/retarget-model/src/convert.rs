//! `retarget convert`: GGUF → HF and HF → HF (dtype change, resharding),
//! streamed tensor by tensor into an atomically committed folder.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;

use crate::config::ModelConfig;
use crate::dtype::{convert_bytes, from_f32, FloatType};
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::gguf_convert::{check_architecture, layout, unpermute_rows};
use crate::gguf_tokenizer;
use crate::hf_folder::HfFolder;
use crate::output::{OutputDir, ScratchDir};
use crate::progress::bytes_bar;
use crate::writer::{
    write_weights, PlannedTensor, TensorBytes, WrittenWeights, DEFAULT_MAX_SHARD_BYTES,
};

/// Options of `retarget convert`.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// Convert floating-point tensors to this type (others pass through).
    /// GGUF input defaults to F32.
    pub dtype: Option<FloatType>,
    /// Largest shard in bytes.
    pub max_shard_bytes: u64,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            dtype: None,
            max_shard_bytes: DEFAULT_MAX_SHARD_BYTES,
        }
    }
}

/// What `convert` wrote.
#[derive(Debug, Clone)]
pub struct ConvertSummary {
    /// The finished output folder.
    pub output: PathBuf,
    /// Tensors written.
    pub tensors: usize,
    /// Weight files written.
    pub files: Vec<String>,
    /// Bytes of tensor data written.
    pub bytes: u64,
}

/// Converts `input` (an HF folder or a GGUF file) into the HF folder `output`.
/// `make_progress` receives the total byte count and returns the bar to use.
pub fn convert(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
    make_progress: &dyn Fn(u64) -> ProgressBar,
) -> Result<ConvertSummary> {
    if input.is_dir() {
        convert_hf(input, output, options, make_progress)
    } else if input.is_file() {
        convert_gguf(input, output, options, make_progress)
    } else {
        Err(ModelError::io(
            input,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ))
    }
}

/// A model as an HF folder: the folder given, or a GGUF file's conversion
/// (f32) inside a scratch folder that is removed when this is dropped.
#[derive(Debug)]
pub struct ModelFolder {
    path: PathBuf,
    _scratch: Option<ScratchDir>,
}

impl ModelFolder {
    /// The HF folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether it was converted from a GGUF file.
    pub fn converted(&self) -> bool {
        self._scratch.is_some()
    }
}

/// Opens `path` as an HF folder: a folder as it is, a GGUF file converted
/// into a scratch folder named after `label` inside `scratch_parent`, with a
/// progress bar. Every command that reads HF folders takes GGUF files this way.
pub fn open_or_convert(path: &Path, scratch_parent: &Path, label: &str) -> Result<ModelFolder> {
    if !path.is_file() {
        return Ok(ModelFolder {
            path: path.to_path_buf(),
            _scratch: None,
        });
    }
    let scratch = ScratchDir::new(scratch_parent, label)?;
    let converted = scratch.path().join("model");
    convert(path, &converted, &ConvertOptions::default(), &|total| {
        bytes_bar(total, "converting GGUF")
    })?;
    Ok(ModelFolder {
        path: converted,
        _scratch: Some(scratch),
    })
}

fn convert_hf(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
    make_progress: &dyn Fn(u64) -> ProgressBar,
) -> Result<ConvertSummary> {
    let folder = HfFolder::open(input)?;
    let small_files = folder.small_files()?;
    let out = OutputDir::create(output, &[input])?;
    let weights = folder.weights();
    let sources: Vec<_> = weights.iter().collect();
    let plan: Vec<PlannedTensor> = sources
        .iter()
        .map(|t| {
            let dtype = match (options.dtype, FloatType::of(t.entry.dtype)) {
                (Some(target), Some(_)) => target.dtype(),
                _ => t.entry.dtype,
            };
            PlannedTensor {
                name: t.entry.name.clone(),
                dtype,
                shape: t.entry.shape.clone(),
            }
        })
        .collect();
    let total = plan.iter().map(|t| t.byte_len() as u64).sum();
    let progress = make_progress(total);
    let producer = |i: usize| -> Result<TensorBytes<'_>> {
        let t = &sources[i];
        let converted = options
            .dtype
            .map(|target| convert_bytes(t.entry.dtype, target, t.data()))
            .filter(|bytes| matches!(bytes, Cow::Owned(_)));
        Ok(match converted {
            Some(bytes) => TensorBytes::Memory(bytes),
            None => TensorBytes::FileRange {
                path: t.file.path(),
                offset: (t.file.header().data_start() + t.entry.data_offsets.0) as u64,
                len: t.entry.byte_len() as u64,
            },
        })
    };
    let written = write_weights(&out, &plan, options.max_shard_bytes, &producer, &progress)?;
    for rel in &small_files {
        let source = input.join(rel);
        match (rel.to_str(), options.dtype, folder.config()) {
            (Some("config.json"), Some(target), Some(config)) => {
                let mut config = config.clone();
                config.set_dtype(target.torch_name());
                out.write_file(rel, &config.to_json_bytes())?;
            }
            _ => out.copy_file(&source, rel)?,
        }
    }
    commit(out, plan.len(), written, &progress)
}

fn convert_gguf(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
    make_progress: &dyn Fn(u64) -> ProgressBar,
) -> Result<ConvertSummary> {
    let file = GgufFile::open(input)?;
    let target = options.dtype.unwrap_or(FloatType::F32);
    // The architecture is checked (and refused by name) before the tokenizer.
    check_architecture(&file)?;
    let tokenizer = gguf_tokenizer::rebuild(&file)?;
    let layout = layout(&file, tokenizer.vocab_size, target.torch_name())?;
    let mapping = &layout.mapping;
    let out = OutputDir::create(output, &[input])?;

    let tensors: Vec<_> = mapping
        .iter()
        .map(|m| {
            file.tensor(&m.gguf_name)
                .expect("mapped from the file's own tensors")
        })
        .collect();
    let plan: Vec<PlannedTensor> = mapping
        .iter()
        .zip(&tensors)
        .map(|(m, t)| PlannedTensor {
            name: m.hf_name.clone(),
            dtype: target.dtype(),
            shape: t.shape.clone(),
        })
        .collect();
    if let Some(embedding) = file.tensor("token_embd.weight") {
        if embedding.shape.first() != Some(&tokenizer.vocab_size) {
            return Err(ModelError::invalid(
                input,
                format!(
                    "vocabulary mismatch: {} tokenizer tokens but token_embd.weight has shape {:?}",
                    tokenizer.vocab_size, embedding.shape
                ),
            ));
        }
    }
    let total = plan.iter().map(|t| t.byte_len() as u64).sum();
    let progress = make_progress(total);
    let producer = |i: usize| -> Result<TensorBytes<'_>> {
        let t = tensors[i];
        let mut values = file.dequantize(t)?;
        if let Some(heads) = mapping[i].unpermute_heads {
            values = unpermute_rows(&values, t.shape[0], heads);
        }
        if mapping[i].minus_one {
            values.iter_mut().for_each(|v| *v -= 1.0);
        }
        Ok(TensorBytes::Memory(Cow::Owned(from_f32(target, &values))))
    };
    let written = write_weights(&out, &plan, options.max_shard_bytes, &producer, &progress)?;

    let config = ModelConfig::from_map(layout.config);
    out.write_file(Path::new("config.json"), &config.to_json_bytes())?;
    let mut generation = serde_json::Map::new();
    for key in ["bos_token_id", "eos_token_id", "pad_token_id"] {
        if let Some(v) = config.raw().get(key) {
            generation.insert(key.into(), v.clone());
        }
    }
    write_json(
        &out,
        "generation_config.json",
        &serde_json::Value::Object(generation),
    )?;
    write_json(&out, "tokenizer.json", &tokenizer.tokenizer_json)?;
    write_json(&out, "tokenizer_config.json", &tokenizer.tokenizer_config)?;
    write_json(
        &out,
        "special_tokens_map.json",
        &tokenizer.special_tokens_map,
    )?;
    commit(out, plan.len(), written, &progress)
}

/// Moves the finished output into place and summarises it.
fn commit(
    out: OutputDir,
    tensors: usize,
    written: WrittenWeights,
    progress: &ProgressBar,
) -> Result<ConvertSummary> {
    progress.finish_and_clear();
    Ok(ConvertSummary {
        output: out.commit()?,
        tensors,
        files: written.files,
        bytes: written.total_bytes,
    })
}

fn write_json(out: &OutputDir, name: &str, value: &serde_json::Value) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("JSON serialises");
    bytes.push(b'\n');
    out.write_file(Path::new(name), &bytes)
}
