//! The files `retarget-control` writes and reads back as steers: written
//! with [`serialize`] (safetensors with a `format` in the metadata), read
//! with [`open`] through retarget-model's one safetensors reader.

use std::collections::HashMap;
use std::path::Path;

use retarget_model::dtype::{to_f32, FloatType};
use retarget_model::safetensors_file::SafetensorsFile;
use retarget_model::ModelError;
use safetensors::tensor::TensorView;
use safetensors::Dtype;

use crate::error::{ControlError, Result};

/// One tensor to write: name, type, shape, little-endian bytes.
pub(crate) type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

/// The bytes of a safetensors file of `tensors`, with `metadata` and
/// `format` (what [`open`] checks) in its metadata.
pub(crate) fn serialize(
    tensors: &[Entry],
    format: &str,
    mut metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| ControlError::Usage(format!("cannot lay out {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    metadata.insert("format".into(), format.into());
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| ControlError::Usage(format!("cannot serialize {format}: {e}")))
}

/// A steer file opened and checked: a safetensors file whose metadata says
/// `format`.
pub(crate) struct SteerFile {
    pub(crate) file: SafetensorsFile,
    pub(crate) metadata: HashMap<String, String>,
}

impl SteerFile {
    /// Opens `path`, refusing what is not a safetensors file of `format`
    /// (`what` the file is called, `made_by` the command that writes it).
    pub(crate) fn open(path: &Path, format: &str, what: &str, made_by: &str) -> Result<Self> {
        let file = SafetensorsFile::open(path).map_err(|e| match e {
            ModelError::Invalid { path, problem } => ModelError::Invalid {
                path,
                problem: format!("not a safetensors file: {problem}"),
            },
            other => other,
        })?;
        let metadata = file.header().metadata.clone().unwrap_or_default();
        if metadata.get("format").map(String::as_str) != Some(format) {
            return Err(Self::invalid(
                path,
                format!(
                    "not a {what} file (`{made_by}` writes them; its metadata has format = {format})"
                ),
            ));
        }
        Ok(SteerFile { file, metadata })
    }

    /// The error `path: problem` (bad input).
    pub(crate) fn invalid(path: &Path, problem: String) -> ControlError {
        ModelError::invalid(path, problem).into()
    }

    /// Tensor `name`'s type, shape and bytes, if present.
    pub(crate) fn tensor(&self, name: &str) -> Option<(Dtype, &[usize], &[u8])> {
        self.file
            .entry(name)
            .map(|e| (e.dtype, e.shape.as_slice(), self.file.data(e)))
    }

    /// Tensor `name` as f32 values, if it is an f32 tensor.
    pub(crate) fn f32_tensor(&self, name: &str) -> Option<(&[usize], Vec<f32>)> {
        match self.tensor(name)? {
            (Dtype::F32, shape, bytes) => Some((shape, to_f32(FloatType::F32, bytes))),
            _ => None,
        }
    }
}
