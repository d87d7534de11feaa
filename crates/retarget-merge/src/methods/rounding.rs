//! Rounding to the working type of a merge, resolved at compile time so that
//! the element loops vectorise (mergekit computes the task-vector family in
//! the inputs' type; retarget rounds where PyTorch would).

/// Rounding to a working type, resolved at compile time so that the loops vectorise.
pub trait Rounding: Send + Sync + 'static {
    /// The nearest value of the working type.
    fn round(v: f32) -> f32;
}

/// f32: no rounding.
pub struct Exact;
/// IEEE half precision.
pub struct Half;
/// bfloat16.
pub struct BHalf;

impl Rounding for Exact {
    #[inline(always)]
    fn round(v: f32) -> f32 {
        v
    }
}

impl Rounding for Half {
    #[inline(always)]
    fn round(v: f32) -> f32 {
        half::f16::from_f32(v).to_f32()
    }
}

impl Rounding for BHalf {
    #[inline(always)]
    fn round(v: f32) -> f32 {
        half::bf16::from_f32(v).to_f32()
    }
}
