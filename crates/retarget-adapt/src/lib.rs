//! The adaptation pipeline, above vocabulary surgery, inference and
//! evaluation: `retarget adapt` expands or replaces a model's vocabulary
//! (`retarget-vocab`), initialises the new rows with every method whose inputs
//! are given, optionally trims, and reports vocabulary, weight bytes,
//! fertility and parity (`retarget-eval`) and bits per byte of held-out text
//! (`retarget-infer`) before and after.
//!
//! - [`pipeline`]: the pipeline.
//! - [`report`]: its report, and the held-out measurements with their
//!   bootstrap intervals.
//! - [`error`]: its error type, wrapping the layers below.

pub mod error;
pub mod pipeline;
pub mod report;

pub use error::{AdaptError, Result};
pub use pipeline::{adapt, AdaptOptions};
pub use report::AdaptReport;
