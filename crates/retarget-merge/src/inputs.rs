//! The input models of a merge: HF folders opened in place (memory-mapped),
//! GGUF files converted once into a scratch folder beside the output with the
//! foundation's converter.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use retarget_model::convert::{open_or_convert, ModelFolder};
use retarget_model::hf_folder::HfFolder;
use retarget_model::tensor_roles::{Architecture, TensorRole};
use retarget_model::weights::TensorRef;

use crate::error::{MergeError, Result};

/// One opened input model.
#[derive(Debug)]
pub struct InputModel {
    /// The reference as written in the configuration.
    pub name: String,
    /// The folder read (the converted one for GGUF input).
    pub dir: PathBuf,
    /// The opened folder.
    pub folder: HfFolder,
    /// Its architecture's tensor roles.
    pub arch: &'static Architecture,
    /// Number of layers of each layer stack.
    pub layers: BTreeMap<&'static str, usize>,
}

impl InputModel {
    /// A tensor by name.
    pub fn tensor(&self, name: &str) -> Option<TensorRef<'_>> {
        self.folder.weights().get(name)
    }

    /// Whether the head is tied to the embedding.
    pub fn is_tied(&self) -> bool {
        self.arch
            .is_tied(self.folder.config().and_then(|c| c.tie_word_embeddings()))
    }

    /// Rows of the embedding (the model's real vocabulary size).
    pub fn embedding_rows(&self) -> Option<usize> {
        let weights = self.folder.weights();
        let name = self
            .arch
            .find_embedding(&mut weights.iter().map(|t| t.entry.name.as_str()))?;
        weights
            .get(name)
            .and_then(|t| t.entry.shape.first().copied())
    }
}

/// All input models, in the order the configuration first names them.
#[derive(Debug)]
pub struct Inputs {
    /// The models.
    pub models: Vec<InputModel>,
    /// GGUF inputs converted to HF folders; removed when dropped.
    _converted: Vec<ModelFolder>,
}

impl Inputs {
    /// Opens every referenced model; GGUF files are converted into scratch
    /// folders inside `scratch_parent`.
    pub fn open(references: &[String], scratch_parent: &Path) -> Result<Self> {
        let mut converted = Vec::new();
        let mut models = Vec::new();
        for name in references {
            let path = Path::new(name);
            let dir = if path.is_file() {
                let label = format!("merge-input-{}", models.len());
                let folder = open_or_convert(path, scratch_parent, &label)?;
                let dir = folder.path().to_path_buf();
                converted.push(folder);
                dir
            } else if path.is_dir() {
                path.to_path_buf()
            } else {
                return Err(MergeError::model(
                    name,
                    "no such folder or file (models are local HF folders or GGUF files; retarget downloads nothing)",
                ));
            };
            models.push(open_model(name, &dir)?);
        }
        Ok(Inputs {
            models,
            _converted: converted,
        })
    }

    /// The index of the model called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.models.iter().position(|m| m.name == name)
    }
}

fn open_model(name: &str, dir: &Path) -> Result<InputModel> {
    let folder = HfFolder::open(dir)?;
    let model_type = folder
        .config()
        .and_then(|c| c.model_type())
        .ok_or_else(|| MergeError::model(name, "config.json has no `model_type`"))?
        .to_string();
    let arch = Architecture::for_model_type(&model_type).ok_or_else(|| {
        MergeError::model(
            name,
            format!(
                "model_type `{model_type}` is not supported (supported: {})",
                Architecture::known_model_types().join(", ")
            ),
        )
    })?;
    let mut layers: BTreeMap<&'static str, usize> = BTreeMap::new();
    for t in folder.weights().iter() {
        if let TensorRole::Layer { stack, index } = arch.role(&t.entry.name) {
            let count = layers.entry(stack).or_default();
            *count = (*count).max(index + 1);
        }
    }
    Ok(InputModel {
        name: name.to_string(),
        dir: dir.to_path_buf(),
        folder,
        arch,
        layers,
    })
}
