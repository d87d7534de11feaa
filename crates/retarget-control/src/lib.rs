//! Language control at inference time, on `retarget-infer`'s probe sites.
//!
//! | Module | Holds |
//! |---|---|
//! | [`lape`] | language-specific neurons as LAPE finds them: activation counts per language, entropy selection |
//! | [`neurons_file`] | the neurons file: counts, masks and settings in one safetensors file |
//! | [`neuron_steer`] | steering with a language's neurons: deactivate or activate them (`--steer`) |
//! | [`error`] | the crate's error type |

pub mod error;
pub mod lape;
pub mod neuron_steer;
pub mod neurons_file;

pub use error::{ControlError, Result};
