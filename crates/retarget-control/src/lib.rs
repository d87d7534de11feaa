//! Language control at inference time, on `retarget-infer`'s probe sites.
//!
//! | Module | Holds |
//! |---|---|
//! | [`capture`] | the states at chosen sites for every line of a text, per token or pooled |
//! | [`lape`] | language-specific neurons as LAPE finds them: activation counts per language, entropy selection |
//! | [`neurons_file`] | the neurons file: counts, masks and settings in one safetensors file |
//! | [`neuron_steer`] | steering with a language's neurons: deactivate or activate them |
//! | [`incline`] | INCLINE: per-layer least-squares maps between languages' representations, applied as a steer |
//! | [`itlc`] | language vectors: ITLC's LDA vectors and mean differences, applied as a shift |
//! | [`steer_spec`] | `--steer` arguments: which file, what to do with it |
//! | `steer_file` | writing the files above, and opening them again as steers |
//! | [`error`] | the crate's error type |

pub mod capture;
pub mod error;
pub mod incline;
pub mod itlc;
pub mod lape;
pub mod neuron_steer;
pub mod neurons_file;
mod steer_file;
pub mod steer_spec;

pub use error::{ControlError, Result};
