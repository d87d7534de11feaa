//! Running a planned merge: tensor by tensor over the memory-mapped inputs,
//! each merged on all cores and streamed into the foundation's atomic sharded
//! writer; then `config.json`, the tokenizer and the donor's small files.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use retarget_model::dtype::FloatType;
use retarget_model::output::OutputDir;
use retarget_model::progress::bytes_bar;
use retarget_model::writer::{write_weights, PlannedTensor, TensorBytes, DEFAULT_MAX_SHARD_BYTES};
use retarget_model::ModelError;
use serde_json::Value;

use crate::config::MergeConfig;
use crate::error::{MergeError, Result};
use crate::inputs::{InputModel, Inputs};
use crate::methods::{Method, Source, Sources, TensorSpec};
use crate::plan::{method_of, plan, MergePlan, PlannedMerge};

/// Options of `retarget merge` beyond the configuration.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// Largest output shard in bytes.
    pub max_shard_bytes: u64,
    /// Seed of the random sparsifications (DARE, DELLA).
    pub seed: u64,
    /// Output type, overriding the configuration's `out_dtype`/`dtype`.
    pub out_dtype: Option<FloatType>,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            max_shard_bytes: DEFAULT_MAX_SHARD_BYTES,
            seed: 0,
            out_dtype: None,
        }
    }
}

/// What a merge wrote.
#[derive(Debug, Clone)]
pub struct MergeSummary {
    /// The finished folder.
    pub output: PathBuf,
    /// Tensors written.
    pub tensors: usize,
    /// Weight files written.
    pub files: Vec<String>,
    /// Bytes of tensor data written.
    pub bytes: u64,
    /// Size of the merged vocabulary, when vocabularies were merged.
    pub vocabulary: Option<usize>,
}

/// Files that make up a tokenizer; replaced when the vocabulary is merged.
const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
];

/// Files of the donor that describe something else than the merged model.
const NOT_COPIED: &[&str] = &["config.json", "README.md", "mergekit_config.yml"];

/// FNV-1a, a fixed hash of tensor names for per-tensor random streams
/// (std's hasher is randomly seeded per process).
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// The input tensor `tensor` of `model`, to be read in chunks from its memory map.
fn mapped<'a>(model: &'a InputModel, tensor: &str, round: Option<FloatType>) -> Result<Source<'a>> {
    let t = model.tensor(tensor).ok_or_else(|| {
        MergeError::Internal(format!("tensor `{tensor}` vanished from {}", model.name))
    })?;
    let dtype = FloatType::of(t.entry.dtype)
        .ok_or_else(|| MergeError::Internal(format!("tensor `{tensor}` is not float")))?;
    Ok(Source::Mapped {
        bytes: t.data(),
        dtype,
        round,
    })
}

/// A passthrough of one unchanged tensor is a byte copy.
fn verbatim<'a>(plan: &MergePlan, p: &PlannedMerge, inputs: &'a Inputs) -> Option<TensorBytes<'a>> {
    if plan.method != Method::Passthrough
        || p.vocabulary
        || p.params
            .per_input
            .iter()
            .flatten()
            .any(|(_, v)| v.is_some())
    {
        return None;
    }
    let src = &p.sources[0];
    let t = inputs.models[src.model].tensor(&src.tensor)?;
    if FloatType::of(t.entry.dtype) != Some(p.dtype) || p.input_dtype.is_some_and(|d| d != p.dtype)
    {
        return None;
    }
    Some(TensorBytes::FileRange {
        path: t.file.path(),
        offset: (t.file.header().data_start() + t.entry.data_offsets.0) as u64,
        len: t.entry.byte_len() as u64,
    })
}

/// The inputs of one output tensor: read in place, except token-indexed
/// tensors whose rows are permuted onto a merged vocabulary (held in memory).
fn sources<'a>(plan: &MergePlan, p: &PlannedMerge, inputs: &'a Inputs) -> Result<Sources<'a>> {
    let mapped = p
        .sources
        .iter()
        .map(|s| mapped(&inputs.models[s.model], &s.tensor, p.input_dtype))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(vocabulary) = plan.vocabulary.as_ref().filter(|_| p.vocabulary) else {
        return Ok(Sources { inputs: mapped });
    };
    let tensors = mapped
        .iter()
        .map(|source| {
            let mut values = vec![0f32; source.len()];
            source.read(0, &mut values);
            values
        })
        .collect();
    let width: usize = p.shape[1..].iter().product();
    let group: Vec<usize> = p.sources.iter().map(|s| s.model).collect();
    let permuted = vocabulary.permute(&group, tensors, p.base_model, width)?;
    Ok(Sources {
        inputs: permuted.into_iter().map(Source::Owned).collect(),
    })
}

/// Prepares one output tensor and returns the stream that computes and writes it.
fn produce<'a>(
    plan: &'a MergePlan,
    p: &'a PlannedMerge,
    inputs: &'a Inputs,
    seed: u64,
) -> Result<TensorBytes<'a>> {
    let sources = sources(plan, p, inputs)?;
    let spec = TensorSpec {
        base: p.base,
        precision: p.precision,
        shape: &p.shape,
        params: &p.params,
        seed: seed ^ name_hash(&p.name),
    };
    let kernel = plan.method.prepare(&spec, &sources)?;
    let dtype = p.dtype;
    Ok(TensorBytes::Stream(Box::new(move |out| {
        sources
            .stream(kernel.as_ref(), dtype, out)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => {
                    ModelError::Usage(format!("tensor `{}`: {e}", p.name))
                }
                _ => ModelError::Internal(format!("writing tensor `{}`: {e}", p.name)),
            })
    })))
}

fn write_config(
    plan: &MergePlan,
    config: &MergeConfig,
    inputs: &Inputs,
    out: &OutputDir,
    out_dtype: Option<FloatType>,
) -> Result<()> {
    let donor = &inputs.models[plan.donor];
    let Some(base_config) = donor.folder.config() else {
        return Err(MergeError::model(&donor.name, "has no config.json"));
    };
    let mut cfg = base_config.clone();
    if let Some(n) = plan.layer_count {
        for key in ["num_hidden_layers", "n_layer", "num_layers"] {
            if cfg.raw().contains_key(key) {
                cfg.set(key, Value::from(n));
            }
        }
    }
    if let Some(v) = &plan.vocabulary {
        cfg.set("vocab_size", Value::from(v.rows));
    }
    if let Some(d) = out_dtype.or(config.out_dtype).or(config.dtype) {
        cfg.set_dtype(d.torch_name());
    }
    if plan.unties_head {
        cfg.set("tie_word_embeddings", Value::Bool(false));
    }
    out.write_file(Path::new("config.json"), &cfg.to_json_bytes())?;
    Ok(())
}

fn write_small_files(
    plan: &MergePlan,
    config: &MergeConfig,
    inputs: &Inputs,
    out: &OutputDir,
) -> Result<()> {
    let donor = &inputs.models[plan.donor];
    let replaced = |name: &str| plan.vocabulary.is_some() && TOKENIZER_FILES.contains(&name);
    for rel in donor.folder.small_files()? {
        let name = rel.to_string_lossy();
        if NOT_COPIED.contains(&name.as_ref()) || replaced(&name) {
            continue;
        }
        out.copy_file(&donor.dir.join(&rel), &rel)?;
    }
    let tokenizer_dir = match &plan.vocabulary {
        Some(v) => {
            let json = v.tokenizer.to_string(true).map_err(|e| {
                MergeError::Internal(format!("cannot serialise the merged tokenizer: {e}"))
            })?;
            out.write_file(Path::new("tokenizer.json"), json.as_bytes())?;
            let source = &inputs.models[v.source_model].dir;
            for name in ["tokenizer_config.json", "special_tokens_map.json"] {
                if source.join(name).is_file() {
                    out.copy_file(&source.join(name), Path::new(name))?;
                }
            }
            source.clone()
        }
        None => donor.dir.clone(),
    };
    if let Some(template) = &config.chat_template {
        let path = tokenizer_dir.join("tokenizer_config.json");
        let mut tc: serde_json::Map<String, Value> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| ModelError::invalid(&path, format!("not a JSON object: {e}")))?,
            Err(_) => serde_json::Map::new(),
        };
        tc.insert("chat_template".into(), Value::String(template.clone()));
        let mut bytes = serde_json::to_vec_pretty(&tc).expect("JSON serialises");
        bytes.push(b'\n');
        out.write_file(Path::new("tokenizer_config.json"), &bytes)?;
    }
    out.write_file(Path::new("mergekit_config.yml"), config.text.as_bytes())?;
    Ok(())
}

/// Runs the merge `config` describes into the new folder `output`.
pub fn merge(config: &MergeConfig, output: &Path, options: &MergeOptions) -> Result<MergeSummary> {
    method_of(config)?;
    let references = config.referenced_models();
    let paths: Vec<&Path> = references
        .iter()
        .map(Path::new)
        .filter(|p| p.exists())
        .collect();
    let out = OutputDir::create(output, &paths)?;
    let scratch_parent = out.path().parent().unwrap_or(Path::new(".")).to_path_buf();
    let inputs = Inputs::open(&references, &scratch_parent)?;
    let plan = plan(config, &inputs, options.out_dtype)?;
    let planned: Vec<PlannedTensor> = plan
        .tensors
        .iter()
        .map(|p| PlannedTensor {
            name: p.name.clone(),
            dtype: p.dtype.dtype(),
            shape: p.shape.clone(),
        })
        .collect();
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let producer = |i: usize| -> retarget_model::Result<TensorBytes<'_>> {
        let p = &plan.tensors[i];
        if let Some(bytes) = verbatim(&plan, p, &inputs) {
            return Ok(bytes);
        }
        produce(&plan, p, &inputs, options.seed).map_err(|e| {
            let message = format!("output tensor `{}`: {e}", p.name);
            *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.clone());
            ModelError::Usage(message)
        })
    };
    let total: u64 = planned.iter().map(|t| t.byte_len() as u64).sum();
    let bar = bytes_bar(total, "merging");
    let written = write_weights(&out, &planned, options.max_shard_bytes, &producer, &bar);
    bar.finish_and_clear();
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            return Err(
                match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
                    Some(problem) => MergeError::config(&config.path, problem),
                    None => e.into(),
                },
            )
        }
    };
    write_config(&plan, config, &inputs, &out, options.out_dtype)?;
    write_small_files(&plan, config, &inputs, &out)?;
    let output = out.commit()?;
    Ok(MergeSummary {
        output,
        tensors: planned.len(),
        files: written.files,
        bytes: written.total_bytes,
        vocabulary: plan.vocabulary.as_ref().map(|v| v.len()),
    })
}
