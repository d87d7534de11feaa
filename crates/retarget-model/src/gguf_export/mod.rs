//! Exporting an HF decoder folder to one GGUF file for llama.cpp: names,
//! layouts and metadata as `convert_hf_to_gguf.py` writes them ([`arch`],
//! [`vocab`]), tensors stored in the requested type as `llama-quantize
//! --pure` would (one-dimensional tensors — norms, biases — in f32; a
//! tensor whose rows the type's blocks do not divide falls back as
//! llama.cpp's `llama_tensor_get_type` does), quantized with
//! [`crate::gguf_write`]'s reference quantizers. Streamed tensor by tensor
//! from the memory map into a temporary file renamed at the end.

pub mod arch;
mod vocab;

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;

use crate::dtype::{to_f32, FloatType};
use crate::error::{ModelError, Result};
use crate::gguf_write::{self, GgufTensorPlan, GgufType, MetaValue};
use crate::hf_folder::HfFolder;
use crate::output::OutputFile;

pub use arch::EXPORTABLE;

/// Options of a GGUF export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The type of two-dimensional tensors.
    pub quant: GgufType,
    /// GGUF tensor names (`*` matches any run of characters) kept in f32.
    pub keep_f32: Vec<String>,
    /// Replace an existing output file.
    pub force: bool,
}

/// A tensor stored in another type than asked, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// GGUF tensor name.
    pub tensor: String,
    /// The type asked for.
    pub wanted: GgufType,
    /// The type written.
    pub written: GgufType,
    /// Its row length, which the wanted type's blocks do not divide.
    pub row: usize,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// The GGUF file.
    pub output: PathBuf,
    /// llama.cpp's architecture.
    pub arch: &'static str,
    /// Tensors written per type.
    pub per_type: Vec<(GgufType, usize)>,
    /// Tensors stored in another type than asked.
    pub fallbacks: Vec<Fallback>,
    /// Bytes of the file.
    pub bytes: u64,
}

/// Whether `name` matches `pattern`, where `*` matches any run of characters.
fn matches(pattern: &str, name: &str) -> bool {
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches(name))
}

/// Exports the HF folder `input` to the GGUF file `output`.
/// `make_progress` receives the total byte count and returns the bar to use.
pub fn export(
    input: &Path,
    output: &Path,
    options: &ExportOptions,
    make_progress: &dyn Fn(u64) -> ProgressBar,
) -> Result<ExportSummary> {
    for pattern in &options.keep_f32 {
        glob::Pattern::new(pattern).map_err(|e| {
            ModelError::Usage(format!("--keep-f32 {pattern}: not a name pattern ({e})"))
        })?;
    }
    let out = OutputFile::create(output, &[input], options.force)?;
    let folder = HfFolder::open(input)?;
    let config_path = input.join("config.json");
    let config = folder
        .config()
        .ok_or_else(|| ModelError::invalid(input, "no config.json"))?;
    let arch = arch::ExportConfig::read(&config_path, config.raw())?;
    let weights = folder.weights();
    let names: Vec<&str> = weights.iter().map(|t| t.entry.name.as_str()).collect();
    let tensors = arch.tensors(input, &names)?;
    let embedding = weights
        .get("model.embed_tokens.weight")
        .ok_or_else(|| ModelError::invalid(input, "no model.embed_tokens.weight"))?;
    let rows = embedding.entry.shape.first().copied().unwrap_or(0);
    let mut fallbacks = Vec::new();
    let mut plans = Vec::with_capacity(tensors.len());
    for tensor in &tensors {
        let entry = weights.get(&tensor.hf).expect("listed").entry;
        if FloatType::of(entry.dtype).is_none() {
            return Err(ModelError::unsupported(
                weights.get(&tensor.hf).expect("listed").file.path(),
                format!(
                    "tensor `{}` of type {:?} in a GGUF export",
                    tensor.hf, entry.dtype
                ),
            ));
        }
        let row = entry.shape.last().copied().unwrap_or(1);
        let dtype =
            if entry.shape.len() < 2 || options.keep_f32.iter().any(|p| matches(p, &tensor.gguf)) {
                GgufType::F32
            } else {
                let written = options.quant.fallback(row);
                if written != options.quant {
                    fallbacks.push(Fallback {
                        tensor: tensor.gguf.clone(),
                        wanted: options.quant,
                        written,
                        row,
                    });
                }
                written
            };
        plans.push(GgufTensorPlan {
            name: tensor.gguf.clone(),
            shape: entry.shape.clone(),
            dtype,
        });
    }
    let name = input
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "model".into());
    let mut metadata = vec![
        (
            "general.architecture".to_string(),
            MetaValue::String(arch.arch.into()),
        ),
        (
            "general.type".to_string(),
            MetaValue::String("model".into()),
        ),
        ("general.name".to_string(), MetaValue::String(name)),
    ];
    metadata.extend(arch.metadata(rows));
    metadata.push((
        "general.file_type".into(),
        MetaValue::U32(options.quant.file_type()),
    ));
    metadata.push(("general.quantization_version".into(), MetaValue::U32(2)));
    metadata.extend(vocab::metadata(input, rows)?);
    let bytes = gguf_write::file_len(&metadata, &plans);
    let bar = make_progress(bytes);
    out.write_with(|file, temp| {
        gguf_write::write(
            file,
            &metadata,
            &plans,
            |i| {
                let tensor = &tensors[i];
                let source = weights.get(&tensor.hf).expect("listed");
                let ty = FloatType::of(source.entry.dtype).expect("checked");
                let mut values = to_f32(ty, source.data());
                if tensor.plus_one {
                    values.iter_mut().for_each(|v| *v += 1.0);
                }
                Ok(match tensor.permute_heads {
                    Some(heads) => arch::permute_rows(&values, source.entry.shape[0], heads),
                    None => values,
                })
            },
            |e| ModelError::io(temp, e),
            |written| bar.inc(written),
        )
    })?;
    bar.finish_and_clear();
    let mut per_type: Vec<(GgufType, usize)> = Vec::new();
    for plan in &plans {
        match per_type.iter_mut().find(|(t, _)| *t == plan.dtype) {
            Some((_, n)) => *n += 1,
            None => per_type.push((plan.dtype, 1)),
        }
    }
    Ok(ExportSummary {
        output: output.to_path_buf(),
        arch: arch.arch,
        per_type,
        fallbacks,
        bytes,
    })
}
