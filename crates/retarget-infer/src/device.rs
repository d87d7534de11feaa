//! Where the networks run: the CPU (the default), or an NVIDIA GPU when
//! retarget is built with the `cuda` feature.

use candle_core::Device;

use crate::error::{InferError, Result};

/// The device named by `--device`: `cpu`, `cuda` (the first GPU) or
/// `cuda:N`. A GPU in a build without the `cuda` feature, or one that cannot
/// be opened, is a request error saying so.
pub fn parse_device(name: &str) -> Result<Device> {
    let ordinal = match name {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        _ => name
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| {
                InferError::Request(format!("unknown device `{name}`: give cpu, cuda or cuda:N"))
            })?,
    };
    if !cfg!(feature = "cuda") {
        return Err(InferError::Request(format!(
            "device `{name}`: this retarget was built without the `cuda` feature \
             (build it with `cargo build --release --features cuda` on a machine with CUDA)"
        )));
    }
    Device::new_cuda(ordinal)
        .map_err(|e| InferError::Request(format!("cannot open device `{name}`: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_the_cpu_and_unknown_names_are_refused() {
        assert!(parse_device("cpu").unwrap().is_cpu());
        for bad in ["gpu", "cuda:", "cuda:x", "CPU"] {
            let err = parse_device(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("unknown device `{bad}`")), "{err}");
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn a_gpu_needs_the_cuda_feature() {
        let err = parse_device("cuda:1").unwrap_err().to_string();
        assert!(err.contains("without the `cuda` feature"), "{err}");
    }
}
