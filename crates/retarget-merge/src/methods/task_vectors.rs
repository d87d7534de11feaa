//! Generalised task arithmetic: task vectors (model − base) are sparsified,
//! weighted, optionally reduced to the elements that agree with the majority
//! sign, summed, optionally normalised by the weights that took part, scaled
//! by `lambda` and added back to the base. Each named method is one choice of
//! sparsification × consensus with mergekit's defaults.

use retarget_model::dtype::FloatType;

use super::rounding::{BHalf, Exact, Half, Rounding};
use super::sparsify::{Mask, Sparsification, SparsifyParams};
use super::{spec, Kernel, ParamDefault, ParamSpec, Scope, Sources, TensorSpec, CHUNK};
use crate::error::{MergeError, Result};
use crate::parameters::{ParamType, ParamValue};

/// How task vectors agree before summing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consensus {
    /// Per element, keep the values whose sign matches the sign of their sum (TIES).
    Sum,
}

/// One member of the task-vector family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskVectorMethod {
    /// mergekit's name.
    pub name: &'static str,
    /// Sparsification, if any.
    pub sparsification: Option<Sparsification>,
    /// Sign consensus, if any.
    pub consensus: Option<Consensus>,
    /// Default of `normalize`.
    pub default_normalize: bool,
    /// Default of `rescale`.
    pub default_rescale: bool,
}

const fn member(
    name: &'static str,
    sparsification: Option<Sparsification>,
    consensus: Option<Consensus>,
    default_normalize: bool,
    default_rescale: bool,
) -> TaskVectorMethod {
    TaskVectorMethod {
        name,
        sparsification,
        consensus,
        default_normalize,
        default_rescale,
    }
}

/// The family, with mergekit's defaults.
pub(super) const FAMILY: [TaskVectorMethod; 8] = {
    use Sparsification::*;
    [
        member("task_arithmetic", None, None, false, false),
        member("ties", Some(Magnitude), Some(Consensus::Sum), true, false),
        member("dare_ties", Some(Random), Some(Consensus::Sum), false, true),
        member("dare_linear", Some(Random), None, false, true),
        member("breadcrumbs", Some(MagnitudeOutliers), None, false, false),
        member(
            "breadcrumbs_ties",
            Some(MagnitudeOutliers),
            Some(Consensus::Sum),
            false,
            false,
        ),
        member(
            "della",
            Some(DellaMagprune),
            Some(Consensus::Sum),
            true,
            true,
        ),
        member("della_linear", Some(DellaMagprune), None, false, true),
    ]
};

impl TaskVectorMethod {
    /// The member called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        FAMILY.iter().find(|m| m.name == name).copied()
    }

    pub(super) fn params(&self) -> Vec<ParamSpec> {
        use ParamDefault::*;
        use ParamType::*;
        use Scope::*;
        let flag = |b| Value(ParamValue::Bool(b));
        let number = |x| Value(ParamValue::Float(x));
        let mut out = vec![
            spec("int8_mask", Bool, Shared, flag(false)),
            spec("normalize", Bool, Shared, flag(self.default_normalize)),
            spec("rescale", Bool, Shared, flag(self.default_rescale)),
            spec("lambda", Float, Shared, number(1.0)),
            spec("weight", Float, NonBase, Required),
            spec("density", Float, NonBase, number(1.0)),
        ];
        match self.sparsification {
            Some(Sparsification::MagnitudeOutliers) => {
                out.push(spec("gamma", Float, NonBase, number(0.01)))
            }
            Some(Sparsification::DellaMagprune) => {
                out.push(spec("epsilon", Float, NonBase, number(0.15)))
            }
            _ => {}
        }
        out
    }

    pub(super) fn prepare(&self, spec: &TensorSpec, sources: &Sources) -> Result<Box<dyn Kernel>> {
        match spec.precision {
            FloatType::F32 => self.prepare_in::<Exact>(spec, sources),
            FloatType::F16 => self.prepare_in::<Half>(spec, sources),
            FloatType::BF16 => self.prepare_in::<BHalf>(spec, sources),
        }
    }

    fn prepare_in<R: Rounding>(
        &self,
        spec: &TensorSpec,
        sources: &Sources,
    ) -> Result<Box<dyn Kernel>> {
        let base = spec
            .base
            .ok_or_else(|| MergeError::Tensor(format!("{} needs a base model", self.name)))?;
        let round = R::round;
        let rescale = spec.shared("rescale").as_bool();
        let n = sources.len();
        let chunk_len = match (self.sparsification, spec.shape.len()) {
            (Some(Sparsification::DellaMagprune), d) if d >= 2 => {
                let columns = spec.shape[d - 1].max(1);
                (CHUNK / columns).max(1) * columns
            }
            (Some(Sparsification::DellaMagprune), _) => n.max(1),
            _ => CHUNK,
        };
        let mut entries = Vec::new();
        for (n_entry, i) in (0..sources.inputs.len()).filter(|&i| i != base).enumerate() {
            let which = [base, i];
            let settings = SparsifyParams {
                density: spec.input_f64(i, "density"),
                gamma: spec.input_f64(i, "gamma"),
                epsilon: spec.input_f64(i, "epsilon"),
                rescale,
            };
            let mask = match self.sparsification {
                Some(method) => {
                    let seed = spec.seed.wrapping_add(n_entry as u64);
                    Mask::plan::<R>(
                        method, settings, spec.shape, seed, sources, &which, chunk_len,
                    )?
                }
                None => Mask::All,
            };
            let factor = if rescale {
                mask.l1_rescale::<R>(sources, &which, chunk_len)
            } else {
                1.0
            };
            let weight = round(spec.input_f64(i, "weight") as f32);
            entries.push(Entry {
                input: i,
                mask,
                factor,
                weight,
            });
        }
        let weight_sum = round(entries.iter().map(|e| e.weight).sum());
        Ok(Box::new(TaskVectors::<R> {
            base,
            entries,
            consensus: self.consensus,
            normalize: spec.shared("normalize").as_bool(),
            lambda: spec.shared("lambda").as_f64() as f32,
            plain_divisor: if weight_sum.abs() < 1e-8 {
                1.0
            } else {
                weight_sum
            },
            chunk_len,
            rounding: std::marker::PhantomData,
        }))
    }
}

/// One task vector's plan.
struct Entry {
    input: usize,
    mask: Mask,
    factor: f32,
    weight: f32,
}

thread_local! {
    /// Per-thread scratch of the task-vector kernel, reused from chunk to chunk.
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<bool>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// A prepared task-vector merge of one tensor, computing in the working type `R`.
pub(super) struct TaskVectors<R> {
    base: usize,
    entries: Vec<Entry>,
    consensus: Option<Consensus>,
    normalize: bool,
    lambda: f32,
    plain_divisor: f32,
    chunk_len: usize,
    rounding: std::marker::PhantomData<R>,
}

impl<R: Rounding> Kernel for TaskVectors<R> {
    fn chunk_len(&self) -> usize {
        self.chunk_len
    }

    fn chunk(&self, chunk: usize, inputs: &[&[f32]], out: &mut [f32]) {
        let n = out.len();
        if self.entries.is_empty() {
            out.copy_from_slice(inputs[self.base]);
            return;
        }
        SCRATCH.with_borrow_mut(|(floats, keep)| {
            floats.resize(n * (self.entries.len() + 2), 0.0);
            keep.resize(n, true);
            let (deltas, rest) = floats.split_at_mut(n * self.entries.len());
            let (majority, divisor) = rest.split_at_mut(n);
            self.merge_chunk(chunk, inputs, out, deltas, majority, divisor, keep);
        });
    }
}

impl<R: Rounding> TaskVectors<R> {
    /// [`Kernel::chunk`] with its scratch space: `deltas` (one chunk per
    /// task vector), `majority`, `divisor` and `keep` (one chunk each).
    #[allow(clippy::too_many_arguments)]
    fn merge_chunk(
        &self,
        chunk: usize,
        inputs: &[&[f32]],
        out: &mut [f32],
        deltas: &mut [f32],
        majority: &mut [f32],
        divisor: &mut [f32],
        keep: &mut [bool],
    ) {
        let round = R::round;
        let base = inputs[self.base];
        let n = out.len();
        for (entry, d) in self.entries.iter().zip(deltas.chunks_mut(n)) {
            for ((d, &x), &b) in d.iter_mut().zip(inputs[entry.input]).zip(base) {
                *d = round(x - b);
            }
            if matches!(entry.mask, Mask::All) {
                let w = entry.weight;
                d.iter_mut().for_each(|d| *d = round(*d * w));
                continue;
            }
            entry.mask.apply(chunk, d, keep);
            for (d, &k) in d.iter_mut().zip(keep.iter()) {
                let v = if k { *d * entry.factor } else { 0.0 };
                *d = round(round(v) * entry.weight);
            }
        }
        // `out` first holds the summed (agreeing) task vectors.
        out.fill(0.0);
        match self.consensus {
            None => {
                for d in deltas.chunks(n) {
                    out.iter_mut().zip(d).for_each(|(o, v)| *o += v);
                }
                let divisor = self.plain_divisor;
                for o in out.iter_mut() {
                    *o = self.finish(round(*o), divisor);
                }
            }
            Some(Consensus::Sum) => {
                majority.fill(0.0);
                for d in deltas.chunks(n) {
                    majority.iter_mut().zip(d).for_each(|(m, v)| *m += v);
                }
                majority
                    .iter_mut()
                    .for_each(|m| *m = if round(*m) >= 0.0 { 1.0 } else { -1.0 });
                divisor.fill(0.0);
                for (entry, d) in self.entries.iter().zip(deltas.chunks(n)) {
                    // A value agrees when its sign is the majority's (zeros never do).
                    for (((o, q), &v), &m) in out
                        .iter_mut()
                        .zip(divisor.iter_mut())
                        .zip(d)
                        .zip(majority.iter())
                    {
                        let agrees = if v * m > 0.0 { 1.0 } else { 0.0 };
                        *o += v * agrees;
                        *q += entry.weight * agrees;
                    }
                }
                for (o, q) in out.iter_mut().zip(divisor.iter()) {
                    let q = round(*q);
                    *o = self.finish(round(*o), if q == 0.0 { 1.0 } else { q });
                }
            }
        }
        for (o, &b) in out.iter_mut().zip(base) {
            *o = round(b + *o);
        }
    }

    /// Normalises and scales a summed task vector.
    #[inline]
    fn finish(&self, mixed: f32, divisor: f32) -> f32 {
        let mixed = if self.normalize {
            R::round(mixed / divisor)
        } else {
            mixed
        };
        if self.lambda != 1.0 {
            R::round(mixed * self.lambda)
        } else {
            mixed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{params, run};
    use super::super::Method;
    use super::*;

    fn method(name: &str) -> Method {
        Method::TaskVectors(TaskVectorMethod::from_name(name).unwrap())
    }

    #[test]
    fn ties_elects_the_sign_of_the_sum_and_averages_the_agreeing() {
        let base = vec![0.0; 4];
        let a = vec![1.0, -2.0, 3.0, 0.5];
        let b = vec![-1.0, -1.0, 1.0, -0.5];
        let p = params(
            &[("normalize", 1.0), ("rescale", 0.0), ("lambda", 1.0)],
            &[
                &[],
                &[("weight", 1.0), ("density", 1.0)],
                &[("weight", 1.0), ("density", 1.0)],
            ],
        );
        let out = run(method("ties"), vec![base, a, b], Some(0), &p);
        // Sums: 0 (→ +), -3, 4, 0 (→ +); only agreeing values count, each divided by its weight sum.
        assert_eq!(out, [1.0, -1.5, 2.0, 0.5]);
    }

    #[test]
    fn task_arithmetic_adds_weighted_deltas_scaled_by_lambda() {
        let base = vec![1.0, 2.0];
        let a = vec![2.0, 2.0];
        let b = vec![1.0, 4.0];
        let p = params(
            &[("normalize", 0.0), ("rescale", 0.0), ("lambda", 0.5)],
            &[
                &[],
                &[("weight", 1.0), ("density", 1.0)],
                &[("weight", 0.5), ("density", 1.0)],
            ],
        );
        let out = run(method("task_arithmetic"), vec![base, a, b], Some(0), &p);
        assert_eq!(out, [1.5, 2.5]);
    }

    #[test]
    fn every_mergekit_method_is_known_with_its_defaults() {
        let mergekit = "linear task_arithmetic ties dare_ties dare_linear breadcrumbs breadcrumbs_ties della della_linear slerp model_stock passthrough";
        assert_eq!(Method::names(), mergekit.split(' ').collect::<Vec<_>>());
        assert!(Method::names()
            .iter()
            .all(|n| Method::from_name(n).is_some()));
        let ties = TaskVectorMethod::from_name("ties").unwrap();
        assert!(ties.default_normalize && !ties.default_rescale);
        assert_eq!(ties.sparsification, Some(Sparsification::Magnitude));
        let della = TaskVectorMethod::from_name("della").unwrap();
        assert!(della.params().iter().any(|p| p.name == "epsilon"));
    }
}
