//! Model merging for retarget, compatible with mergekit's YAML configurations.
//!
//! - [`config`]: the YAML format (`models`/`slices`, `base_model`, parameters,
//!   `dtype`, tokenizer sources).
//! - [`parameters`]: scalars, gradients and `filter:` conditions.
//! - [`methods`]: linear, the task-vector family (task arithmetic, TIES, DARE,
//!   breadcrumbs, DELLA = a sparsification × a sign consensus), SLERP, model
//!   stock, passthrough.
//! - [`inputs`], [`plan`], [`vocabulary`], [`run`]: opening models, planning
//!   every output tensor, merging vocabularies, and the streaming run.

pub mod config;
pub mod error;
pub mod inputs;
pub mod methods;
pub mod parameters;
pub mod plan;
pub mod run;
pub mod vocabulary;

pub use config::MergeConfig;
pub use error::{MergeError, Result};
pub use run::{merge, MergeOptions, MergeSummary};
