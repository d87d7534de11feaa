//! Generalised task arithmetic: task vectors (model − base) are sparsified,
//! weighted, optionally reduced to the elements that agree with the majority
//! sign, summed, optionally normalised by the weights that took part, scaled
//! by `lambda` and added back to the base. Each named method is one choice of
//! sparsification × consensus with mergekit's defaults.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use retarget_model::dtype::FloatType;

use super::sparsify::{sparsify, Sparsification, SparsifyParams};
use super::{spec, Group, ParamDefault, ParamSpec, Scope, CHUNK};
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
const FAMILY: [TaskVectorMethod; 8] = {
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

    pub(super) fn merge(&self, group: Group) -> Result<Vec<f32>, String> {
        let base_index = group
            .base
            .ok_or_else(|| format!("{} needs a base model", self.name))?;
        let rescale = group.shared("rescale").as_bool();
        let normalize = group.shared("normalize").as_bool();
        let lambda = group.shared("lambda").as_f64() as f32;
        let seed: u64 = rand::Rng::random(&mut group.rng.clone());
        let entries: Vec<usize> = (0..group.tensors.len())
            .filter(|&i| i != base_index)
            .collect();
        let weights: Vec<f32> = entries
            .iter()
            .map(|&i| group.input_f64(i, "weight") as f32)
            .collect();
        let settings: Vec<SparsifyParams> = entries
            .iter()
            .map(|&i| SparsifyParams {
                density: group.input_f64(i, "density"),
                gamma: group.input_f64(i, "gamma"),
                epsilon: group.input_f64(i, "epsilon"),
                rescale,
            })
            .collect();
        let shape = group.shape;
        // mergekit computes this family in the working type; every step
        // rounds to it (a no-op in f32).
        let round = rounding(group.precision);
        let weights: Vec<f32> = weights.iter().map(|&w| round(w)).collect();
        let mut tensors = group.tensors;
        let base = tensors.remove(base_index);
        let mut deltas = tensors;
        if deltas.is_empty() {
            return Ok(base);
        }
        // Task vectors, sparsified and weighted; each input gets its own
        // random stream so the result does not depend on thread scheduling.
        deltas
            .par_iter_mut()
            .zip(settings.par_iter().zip(&weights))
            .enumerate()
            .try_for_each(|(n, (delta, (setting, &w)))| {
                delta
                    .iter_mut()
                    .zip(&base)
                    .for_each(|(d, b)| *d = round(*d - b));
                if let Some(method) = self.sparsification {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_add(n as u64));
                    sparsify(delta, shape, method, *setting, &mut rng)?;
                }
                delta.iter_mut().for_each(|d| *d = round(round(*d) * w));
                Ok::<(), String>(())
            })?;
        let weight_sum = round(weights.iter().sum());
        let plain_divisor = if weight_sum.abs() < 1e-8 {
            1.0
        } else {
            weight_sum
        };
        let consensus = self.consensus;
        let mut out = base;
        out.par_chunks_mut(CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let start = c * CHUNK;
                for (j, o) in chunk.iter_mut().enumerate() {
                    let at = start + j;
                    let (mixed, divisor) = match consensus {
                        Some(Consensus::Sum) => {
                            let total = round(deltas.iter().map(|d| d[at]).sum());
                            let majority = if total >= 0.0 { 1.0 } else { -1.0 };
                            let mut mixed = 0f32;
                            let mut divisor = 0f32;
                            for (d, &w) in deltas.iter().zip(&weights) {
                                let v = d[at];
                                if sign(v) == majority {
                                    mixed += v;
                                    divisor += w;
                                }
                            }
                            let divisor = round(divisor);
                            (round(mixed), if divisor == 0.0 { 1.0 } else { divisor })
                        }
                        None => (round(deltas.iter().map(|d| d[at]).sum()), plain_divisor),
                    };
                    let mut mixed = if normalize {
                        round(mixed / divisor)
                    } else {
                        mixed
                    };
                    if lambda != 1.0 {
                        mixed = round(mixed * lambda);
                    }
                    *o = round(*o + mixed);
                }
            });
        Ok(out)
    }
}

/// Rounding to the working type.
fn rounding(precision: FloatType) -> fn(f32) -> f32 {
    match precision {
        FloatType::F32 => |v| v,
        FloatType::F16 => |v| half::f16::from_f32(v).to_f32(),
        FloatType::BF16 => |v| half::bf16::from_f32(v).to_f32(),
    }
}

fn sign(v: f32) -> f32 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
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
    fn every_mergekit_family_member_is_known_with_its_defaults() {
        for name in [
            "task_arithmetic",
            "ties",
            "dare_ties",
            "dare_linear",
            "breadcrumbs",
            "breadcrumbs_ties",
            "della",
            "della_linear",
        ] {
            assert!(TaskVectorMethod::from_name(name).is_some(), "{name}");
        }
        let ties = TaskVectorMethod::from_name("ties").unwrap();
        assert!(ties.default_normalize && !ties.default_rescale);
        assert_eq!(ties.sparsification, Some(Sparsification::Magnitude));
        let della = TaskVectorMethod::from_name("della").unwrap();
        assert!(della.params().iter().any(|p| p.name == "epsilon"));
    }
}
