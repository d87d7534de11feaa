//! A Hugging Face model folder: `config.json`, `tokenizer.json`, the weights,
//! and the small files that travel with them.

use std::path::{Path, PathBuf};

use crate::config::ModelConfig;
use crate::consistency;
use crate::error::{ModelError, Result};
use crate::tensor_roles::Architecture;
use crate::weights::Weights;

/// File names (or name patterns) that hold weights; everything else in a
/// model folder is a small file copied verbatim.
pub fn is_weight_file(name: &str) -> bool {
    name.ends_with(".safetensors")
        || name == crate::weights::INDEX_FILE
        || (name.starts_with("pytorch_model")
            && (name.ends_with(".bin") || name.ends_with(".bin.index.json")))
        || name == "tf_model.h5"
        || name == "flax_model.msgpack"
        || name.ends_with(".gguf")
        || name.ends_with(".onnx")
}

/// An opened HF model folder.
#[derive(Debug)]
pub struct HfFolder {
    dir: PathBuf,
    config: Option<ModelConfig>,
    tokenizer: Option<tokenizers::Tokenizer>,
    weights: Weights,
}

/// Loads a `tokenizer.json`, or the one inside an HF model folder: the one
/// place every crate loads a tokenizer file.
pub fn load_tokenizer(path: &Path) -> Result<tokenizers::Tokenizer> {
    let file = if path.is_dir() {
        path.join("tokenizer.json")
    } else {
        path.to_path_buf()
    };
    if !file.is_file() {
        return Err(ModelError::io(
            file,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no tokenizer.json"),
        ));
    }
    tokenizers::Tokenizer::from_file(&file)
        .map_err(|e| ModelError::invalid(&file, format!("cannot load tokenizer: {e}")))
}

impl HfFolder {
    /// Opens `dir`: parses `config.json` and `tokenizer.json` when present and
    /// memory-maps and validates the weights.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, true, None)
    }

    /// Opens `dir` like [`Self::open`] but without building its tokenizer
    /// ([`Self::tokenizer`] is then `None`), for a caller that reads
    /// `tokenizer.json` itself and found `tokens` ids in it (checked against
    /// the config and the weights).
    pub fn open_without_tokenizer(dir: &Path, tokens: Option<usize>) -> Result<Self> {
        Self::open_with(dir, false, tokens)
    }

    fn open_with(dir: &Path, build_tokenizer: bool, tokens: Option<usize>) -> Result<Self> {
        if !dir.is_dir() {
            return Err(ModelError::invalid(dir, "not a folder"));
        }
        let config_path = dir.join("config.json");
        let config = if config_path.is_file() {
            Some(ModelConfig::read(&config_path)?)
        } else {
            None
        };
        let tokenizer_path = dir.join("tokenizer.json");
        let tokenizer = if build_tokenizer && tokenizer_path.is_file() {
            Some(load_tokenizer(&tokenizer_path)?)
        } else {
            None
        };
        let weights = Weights::open_dir(dir)?;
        if let Some(c) = &config {
            let tokens = tokenizer
                .as_ref()
                .map(|t| t.get_vocab_size(true))
                .or(tokens);
            consistency::check(
                &config_path,
                c,
                &weights,
                tokens.map(|n| (tokenizer_path.as_path(), n)),
            )?;
        }
        Ok(HfFolder {
            dir: dir.to_path_buf(),
            config,
            tokenizer,
            weights,
        })
    }

    /// `config.json`, if present.
    pub fn config(&self) -> Option<&ModelConfig> {
        self.config.as_ref()
    }

    /// `tokenizer.json`, if present.
    pub fn tokenizer(&self) -> Option<&tokenizers::Tokenizer> {
        self.tokenizer.as_ref()
    }

    /// The weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The tensor-role table row for this model's `model_type`.
    pub fn architecture(&self) -> Option<&'static Architecture> {
        Architecture::for_model_type(self.config.as_ref()?.model_type()?)
    }

    /// Every non-weight file, as paths relative to the folder (recursing into
    /// sub-folders such as sentence-transformers' `1_Pooling/`).
    pub fn small_files(&self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        collect_small_files(&self.dir, Path::new(""), &mut out)?;
        out.sort();
        Ok(out)
    }
}

fn collect_small_files(root: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let dir = root.join(relative);
    for entry in std::fs::read_dir(&dir).map_err(|e| ModelError::io(&dir, e))? {
        let entry = entry.map_err(|e| ModelError::io(&dir, e))?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        let rel = relative.join(&name);
        let file_type = entry
            .file_type()
            .map_err(|e| ModelError::io(entry.path(), e))?;
        if name_str == ".git" || name_str.starts_with(".cache") {
            continue;
        }
        if file_type.is_dir() {
            collect_small_files(root, &rel, out)?;
        } else if !is_weight_file(&name_str) {
            out.push(rel);
        }
    }
    Ok(())
}
