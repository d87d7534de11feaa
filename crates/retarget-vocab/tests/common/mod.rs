//! What the vocabulary tests share.

use std::path::Path;

use retarget_vocab::{ExpandOptions, ExpandReport, VocabModel};
use safetensors::SafeTensors;

/// `retarget_vocab::expand` of the model folder `model` (opened here).
#[allow(dead_code)] // not every test file expands
pub fn expand(
    model: &Path,
    out: &Path,
    options: &ExpandOptions,
) -> retarget_vocab::Result<ExpandReport> {
    retarget_vocab::expand(&VocabModel::open(model, "expansion")?, out, options)
}

/// Shape and values of the f32 tensor `name` in `dir/model.safetensors`.
pub fn f32_tensor(dir: &Path, name: &str) -> (Vec<usize>, Vec<f32>) {
    let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor(name).unwrap();
    let values = t
        .data()
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (t.shape().to_vec(), values)
}
