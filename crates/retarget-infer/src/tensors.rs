//! candle tensors from a model folder's weights: a `VarBuilder` backend over
//! the foundation's validated, memory-mapped safetensors files (so sharded
//! folders, lying headers and dtype problems are reported the way every other
//! retarget command reports them), converting each tensor to f32 on load.

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;
use retarget_model::dtype::{to_f32, FloatType};
use retarget_model::weights::Weights;

/// The weights of one model folder, served to candle by tensor name.
pub(crate) struct FolderTensors<'w> {
    weights: &'w Weights,
}

impl<'w> FolderTensors<'w> {
    /// A `VarBuilder` reading f32 tensors onto `device`. Its errors name the
    /// tensor; the caller adds the folder.
    pub(crate) fn var_builder(weights: &'w Weights, device: &Device) -> VarBuilder<'w> {
        let backend: Box<dyn SimpleBackend + 'w> = Box::new(FolderTensors { weights });
        VarBuilder::from_backend(backend, DType::F32, device.clone())
    }

    fn load(&self, name: &str, dtype: DType, device: &Device) -> candle_core::Result<Tensor> {
        let tensor = self
            .weights
            .get(name)
            .ok_or_else(|| candle_core::Error::Msg(format!("tensor `{name}` is missing")))?;
        let float = FloatType::of(tensor.entry.dtype).ok_or_else(|| {
            candle_core::Error::Msg(format!(
                "tensor `{name}` has dtype {:?}; inference reads F32, F16 and BF16",
                tensor.entry.dtype
            ))
        })?;
        let values = to_f32(float, tensor.data());
        Tensor::from_vec(values, tensor.entry.shape.clone(), device)?.to_dtype(dtype)
    }
}

impl SimpleBackend for FolderTensors<'_> {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _init: candle_nn::Init,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let tensor = self.load(name, dtype, device)?;
        if tensor.shape() != &shape {
            return Err(candle_core::Error::Msg(format!(
                "tensor `{name}` has shape {:?}, the configuration implies {:?}",
                tensor.dims(),
                shape.dims()
            )));
        }
        Ok(tensor)
    }

    fn get_unchecked(
        &self,
        name: &str,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        self.load(name, dtype, device)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.weights.contains(name)
    }
}
