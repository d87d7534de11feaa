//! `retarget inspect`: what a model file or folder holds, validated.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{ModelError, Result};
use crate::gguf::{ggml_dtype_name, GgufFile};
use crate::hf_folder::HfFolder;
use crate::tensor_roles::{Architecture, TensorRole};
use crate::weights::Weights;

/// Tensors, parameters and bytes of one dtype.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DtypeStats {
    /// Number of tensors.
    pub tensors: usize,
    /// Number of elements.
    pub elements: u64,
    /// Bytes of data.
    pub bytes: u64,
}

/// Vocabulary sizes as seen by each part of the model.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct VocabSizes {
    /// `vocab_size` in the config (or GGUF metadata).
    pub config: Option<usize>,
    /// Tokens in the tokenizer, added tokens included.
    pub tokenizer: Option<usize>,
    /// Rows of the input embedding.
    pub embedding_rows: Option<usize>,
    /// Rows of the output head, when stored separately.
    pub head_rows: Option<usize>,
}

/// One weight file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileInfo {
    /// File name.
    pub file: String,
    /// Tensors in it.
    pub tensors: usize,
    /// Size in bytes.
    pub bytes: u64,
}

/// Everything `retarget inspect` reports.
#[derive(Debug, Clone, Serialize)]
pub struct InspectReport {
    /// What was inspected.
    pub path: PathBuf,
    /// `hf-folder`, `safetensors` or `gguf`.
    pub format: String,
    /// GGUF version, for GGUF files.
    pub gguf_version: Option<u32>,
    /// `model_type` (HF) or `general.architecture` (GGUF).
    pub model_type: Option<String>,
    /// `architectures` from the config.
    pub architectures: Vec<String>,
    /// The tensor-role family retarget matched, if any.
    pub family: Option<String>,
    /// Parameters, counted as `transformers`' `num_parameters()` does
    /// (buffers and tied duplicates excluded).
    pub parameters: u64,
    /// Tensors stored.
    pub tensors: usize,
    /// Per-dtype statistics.
    pub dtypes: BTreeMap<String, DtypeStats>,
    /// Hidden size, when known.
    pub hidden_size: Option<usize>,
    /// Layers, when known.
    pub layers: Option<usize>,
    /// Vocabulary sizes.
    pub vocab: VocabSizes,
    /// Whether the output head is tied to the input embedding.
    pub tied_embeddings: Option<bool>,
    /// Name of the input embedding tensor.
    pub embedding_tensor: Option<String>,
    /// Name of the output head tensor, when stored.
    pub head_tensor: Option<String>,
    /// Weight files.
    pub files: Vec<FileInfo>,
    /// Total bytes of the weight files.
    pub bytes: u64,
    /// Inconsistencies that deserve attention (vocabulary mismatches, index
    /// oddities).
    pub warnings: Vec<String>,
}

/// Inspects an HF folder, a `.safetensors` file or a `.gguf` file.
pub fn inspect(path: &Path) -> Result<InspectReport> {
    if path.is_dir() {
        return inspect_folder(path);
    }
    if !path.exists() {
        return Err(ModelError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        ));
    }
    if is_gguf(path)? {
        return inspect_gguf(path);
    }
    let weights = Weights::open_file(path)?;
    let mut report = weights_report(path, "safetensors", &weights, None, None, None);
    report.files[0].file = path.display().to_string();
    Ok(report)
}

fn is_gguf(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let mut f = std::fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
    let n = f.read(&mut magic).map_err(|e| ModelError::io(path, e))?;
    Ok(n == 4 && &magic == b"GGUF")
}

fn inspect_folder(dir: &Path) -> Result<InspectReport> {
    let folder = HfFolder::open(dir)?;
    let config = folder.config();
    let tokenizer_size = folder.tokenizer().map(|t| t.get_vocab_size(true));
    let mut report = weights_report(
        dir,
        "hf-folder",
        folder.weights(),
        folder.architecture(),
        config,
        tokenizer_size,
    );
    if let Some(c) = config {
        report.model_type = c.model_type().map(str::to_string);
        report.architectures = c.architectures();
        report.hidden_size = c.hidden_size();
        report.layers = c.num_hidden_layers();
        report.vocab.config = c.vocab_size();
        if folder.architecture().is_none() {
            report.warnings.push(format!(
                "model_type `{}` is not in retarget's tensor-role table; known: {}",
                c.model_type().unwrap_or("(none)"),
                Architecture::known_model_types().join(", ")
            ));
        }
    } else {
        report.warnings.push("no config.json".into());
    }
    check_vocab(&mut report);
    Ok(report)
}

fn weights_report(
    path: &Path,
    format: &str,
    weights: &Weights,
    arch: Option<&'static Architecture>,
    config: Option<&crate::config::ModelConfig>,
    tokenizer_size: Option<usize>,
) -> InspectReport {
    let mut dtypes: BTreeMap<String, DtypeStats> = BTreeMap::new();
    let mut parameters = 0u64;
    let names: Vec<&str> = weights.iter().map(|t| t.entry.name.as_str()).collect();
    let embedding = arch.and_then(|a| a.find_embedding(&mut names.iter().copied()));
    let head = arch.and_then(|a| a.find_head(&mut names.iter().copied()));
    let tied = arch.map(|a| a.is_tied(config.and_then(|c| c.tie_word_embeddings())));
    for t in weights.iter() {
        let e = t.entry;
        let stats = dtypes.entry(format!("{:?}", e.dtype)).or_default();
        stats.tensors += 1;
        stats.elements += e.numel() as u64;
        stats.bytes += e.byte_len() as u64;
        let counted = match arch.map(|a| a.role(&e.name)) {
            Some(TensorRole::Buffer) => false,
            Some(TensorRole::TiedAlias) => embedding.is_none(),
            Some(TensorRole::OutputHead) => !(tied == Some(true) && embedding.is_some()),
            _ => true,
        };
        if counted {
            parameters += e.numel() as u64;
        }
    }
    let rows = |name: Option<&str>| {
        name.and_then(|n| weights.get(n))
            .and_then(|t| t.entry.shape.first().copied())
    };
    let files = weights
        .files()
        .iter()
        .map(|f| FileInfo {
            file: f
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tensors: f.tensors().len(),
            bytes: f.file_len() as u64,
        })
        .collect();
    InspectReport {
        path: path.to_path_buf(),
        format: format.into(),
        gguf_version: None,
        model_type: None,
        architectures: Vec::new(),
        family: arch.map(|a| a.family.to_string()),
        parameters,
        tensors: weights.len(),
        dtypes,
        hidden_size: None,
        layers: None,
        vocab: VocabSizes {
            config: None,
            tokenizer: tokenizer_size,
            embedding_rows: rows(embedding),
            head_rows: rows(head),
        },
        tied_embeddings: tied,
        embedding_tensor: embedding.map(str::to_string),
        head_tensor: head.map(str::to_string),
        files,
        bytes: weights.file_bytes(),
        warnings: weights.warnings().to_vec(),
    }
}

fn inspect_gguf(path: &Path) -> Result<InspectReport> {
    let file = GgufFile::open(path)?;
    let arch = file.architecture().map(str::to_string);
    let mut dtypes: BTreeMap<String, DtypeStats> = BTreeMap::new();
    let mut parameters = 0u64;
    for t in file.tensors() {
        let stats = dtypes
            .entry(ggml_dtype_name(t.dtype).to_string())
            .or_default();
        stats.tensors += 1;
        stats.elements += t.numel() as u64;
        stats.bytes += t.byte_len;
        // llama.cpp's precomputed rotary frequencies are not a parameter.
        if t.name != "rope_freqs.weight" {
            parameters += t.numel() as u64;
        }
    }
    let key = |k: &str| {
        arch.as_ref()
            .and_then(|a| file.meta_u64(&format!("{a}.{k}")))
    };
    let rows = |n: &str| file.tensor(n).and_then(|t| t.shape.first().copied());
    let mut report = InspectReport {
        path: path.to_path_buf(),
        format: "gguf".into(),
        gguf_version: Some(file.version()),
        model_type: arch.clone(),
        architectures: Vec::new(),
        family: arch
            .as_deref()
            .and_then(Architecture::for_model_type)
            .map(|a| a.family.to_string()),
        parameters,
        tensors: file.tensors().len(),
        dtypes,
        hidden_size: key("embedding_length").map(|v| v as usize),
        layers: key("block_count").map(|v| v as usize),
        vocab: VocabSizes {
            config: key("vocab_size").map(|v| v as usize),
            tokenizer: file.meta_array("tokenizer.ggml.tokens").map(<[_]>::len),
            embedding_rows: rows("token_embd.weight"),
            head_rows: rows("output.weight"),
        },
        tied_embeddings: Some(file.tensor("output.weight").is_none()),
        embedding_tensor: file.tensor("token_embd.weight").map(|t| t.name.clone()),
        head_tensor: file.tensor("output.weight").map(|t| t.name.clone()),
        files: vec![FileInfo {
            file: path.display().to_string(),
            tensors: file.tensors().len(),
            bytes: file.file_len(),
        }],
        bytes: file.file_len(),
        warnings: Vec::new(),
    };
    check_vocab(&mut report);
    Ok(report)
}

/// Flags disagreements between config, tokenizer, embedding and head sizes.
fn check_vocab(report: &mut InspectReport) {
    let v = report.vocab.clone();
    if let (Some(c), Some(e)) = (v.config, v.embedding_rows) {
        if c != e {
            report.warnings.push(format!(
                "vocabulary mismatch: config says {c} but the embedding has {e} rows"
            ));
        }
    }
    if let (Some(t), Some(e)) = (v.tokenizer, v.embedding_rows) {
        if t > e {
            report.warnings.push(format!(
                "vocabulary mismatch: the tokenizer has {t} tokens but the embedding only {e} rows; ids {e}..{t} have no embedding"
            ));
        } else if t < e {
            report.warnings.push(format!(
                "the embedding has {e} rows for {t} tokenizer tokens ({} padding rows)",
                e - t
            ));
        }
    }
    if let (Some(h), Some(e)) = (v.head_rows, v.embedding_rows) {
        if h != e {
            report.warnings.push(format!(
                "vocabulary mismatch: the output head has {h} rows but the embedding {e}"
            ));
        }
    }
}
