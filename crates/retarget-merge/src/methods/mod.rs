//! The merge methods: what parameters each takes (names, types, scopes and
//! defaults as in mergekit), what inputs it needs, and its kernel over one
//! tensor. The task-vector family is one generalised method = a
//! [`Sparsification`] × a [`Consensus`] (see [`task_vectors`]).

mod linear;
mod model_stock;
mod rounding;
mod select;
mod slerp;
pub mod sources;
pub mod sparsify;
pub mod task_vectors;

use retarget_model::dtype::FloatType;

pub use sources::{Source, Sources, CHUNK};

use crate::error::Result;
use crate::parameters::{ParamType, ParamValue};
pub use sparsify::Sparsification;
pub use task_vectors::{Consensus, TaskVectorMethod};

/// Which inputs a parameter is given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One value for the whole tensor.
    Shared,
    /// One value per input model, base included.
    Input,
    /// One value per input model other than the base.
    NonBase,
}

/// A parameter's default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamDefault {
    /// Must be given.
    Required,
    /// This value.
    Value(ParamValue),
    /// Absent unless given.
    Absent,
}

/// One parameter a method takes.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Name in the YAML.
    pub name: &'static str,
    /// Type of its values.
    pub ty: ParamType,
    /// Which inputs it is given for.
    pub scope: Scope,
    /// Default.
    pub default: ParamDefault,
}

const fn spec(name: &'static str, ty: ParamType, scope: Scope, default: ParamDefault) -> ParamSpec {
    ParamSpec {
        name,
        ty,
        scope,
        default,
    }
}

/// Structural requirements on a method's inputs.
#[derive(Debug, Clone, Copy)]
pub struct Contract {
    /// A base model is required.
    pub needs_base: bool,
    /// Fewest inputs (base included).
    pub min_inputs: usize,
    /// Most inputs, if limited.
    pub max_inputs: Option<usize>,
}

/// A merge method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Weighted average.
    Linear,
    /// Generalised task arithmetic (task_arithmetic, ties, dare_*, breadcrumbs*, della*).
    TaskVectors(TaskVectorMethod),
    /// Spherical interpolation of two models.
    Slerp,
    /// Model Stock: interpolate between the base and the average by the angle between task vectors.
    ModelStock,
    /// Copy tensors (optionally scaled), e.g. to stack layers of different models.
    Passthrough,
}

impl Method {
    /// Every method name retarget knows, in mergekit's spelling.
    pub fn names() -> Vec<&'static str> {
        let family = task_vectors::FAMILY.iter().map(|m| m.name);
        std::iter::once("linear")
            .chain(family)
            .chain(["slerp", "model_stock", "passthrough"])
            .collect()
    }

    /// The method called `name` in a mergekit configuration.
    pub fn from_name(name: &str) -> Option<Method> {
        match name {
            "linear" => Some(Method::Linear),
            "slerp" => Some(Method::Slerp),
            "model_stock" => Some(Method::ModelStock),
            "passthrough" => Some(Method::Passthrough),
            other => TaskVectorMethod::from_name(other).map(Method::TaskVectors),
        }
    }

    /// The parameters it takes.
    pub fn params(&self) -> Vec<ParamSpec> {
        use ParamDefault::*;
        use ParamType::*;
        use Scope::*;
        match self {
            Method::Linear => vec![
                spec("weight", Float, Input, Required),
                spec("normalize", Bool, Shared, Value(ParamValue::Bool(true))),
            ],
            Method::TaskVectors(m) => m.params(),
            Method::Slerp => vec![spec("t", Float, Shared, Required)],
            Method::ModelStock => vec![spec(
                "filter_wise",
                Bool,
                Shared,
                Value(ParamValue::Bool(false)),
            )],
            Method::Passthrough => vec![spec("scale", Float, Input, Absent)],
        }
    }

    /// What inputs it needs.
    pub fn contract(&self) -> Contract {
        match self {
            Method::Linear => Contract {
                needs_base: false,
                min_inputs: 1,
                max_inputs: None,
            },
            Method::TaskVectors(_) => Contract {
                needs_base: true,
                min_inputs: 1,
                max_inputs: None,
            },
            Method::Slerp => Contract {
                needs_base: true,
                min_inputs: 2,
                max_inputs: Some(2),
            },
            Method::ModelStock => Contract {
                needs_base: true,
                min_inputs: 3,
                max_inputs: None,
            },
            Method::Passthrough => Contract {
                needs_base: false,
                min_inputs: 1,
                max_inputs: Some(1),
            },
        }
    }

    /// Whether the method uses the base model at all (mergekit ignores the
    /// base for methods that do not).
    pub fn uses_base(&self) -> bool {
        self.contract().needs_base
    }

    /// Prepares the merge of one tensor: computes what the method needs from
    /// the whole tensor (norms, magnitude cuts, angles) in parallel passes
    /// over `sources`, and returns the element-wise rest.
    pub fn prepare(&self, spec: &TensorSpec, sources: &Sources) -> Result<Box<dyn Kernel>> {
        Ok(match self {
            Method::Linear => Box::new(linear::prepare(spec, sources.inputs.len())),
            Method::TaskVectors(m) => m.prepare(spec, sources)?,
            Method::Slerp => Box::new(slerp::prepare(spec, sources)?),
            Method::ModelStock => Box::new(model_stock::prepare(spec, sources)?),
            Method::Passthrough => Box::new(Passthrough {
                scale: spec.input_value(0, "scale").map(|v| v.as_f64() as f32),
            }),
        })
    }

    /// Merges one tensor held in memory (tests and small tensors).
    pub fn merge(&self, group: Group) -> Result<Vec<f32>> {
        let spec = TensorSpec {
            base: group.base,
            precision: group.precision,
            shape: group.shape,
            params: group.params,
            seed: group.seed,
        };
        let sources = Sources {
            inputs: group.tensors.into_iter().map(Source::Owned).collect(),
        };
        let kernel = self.prepare(&spec, &sources)?;
        let n = sources.len();
        let chunk_len = kernel.chunk_len().max(1);
        let mut out = vec![0f32; n];
        let mut buffers = vec![vec![0f32; chunk_len.min(n)]; sources.inputs.len()];
        for (c, chunk) in out.chunks_mut(chunk_len).enumerate() {
            let start = c * chunk_len;
            for (buffer, source) in buffers.iter_mut().zip(&sources.inputs) {
                source.read(start, &mut buffer[..chunk.len()]);
            }
            let inputs: Vec<&[f32]> = buffers.iter().map(|b| &b[..chunk.len()]).collect();
            kernel.chunk(c, &inputs, chunk);
        }
        Ok(out)
    }
}

/// A prepared merge of one tensor: whole-tensor statistics are done; what
/// remains is element-wise and runs chunk by chunk.
pub trait Kernel: Sync {
    /// Elements per chunk the kernel expects (chunk `c` starts at `c × chunk_len`).
    fn chunk_len(&self) -> usize {
        CHUNK
    }

    /// Computes the output values of chunk `chunk` from every input's values there.
    fn chunk(&self, chunk: usize, inputs: &[&[f32]], out: &mut [f32]);
}

/// Copies the single input, optionally scaled.
struct Passthrough {
    scale: Option<f32>,
}

impl Kernel for Passthrough {
    fn chunk(&self, _chunk: usize, inputs: &[&[f32]], out: &mut [f32]) {
        match self.scale {
            Some(s) => out.iter_mut().zip(inputs[0]).for_each(|(o, x)| *o = x * s),
            None => out.copy_from_slice(inputs[0]),
        }
    }
}

impl ParamValue {
    /// The number (booleans count as 0/1).
    pub fn as_f64(self) -> f64 {
        match self {
            ParamValue::Float(x) => x,
            ParamValue::Bool(b) => b as u8 as f64,
        }
    }

    /// The boolean (numbers are true when non-zero).
    pub fn as_bool(self) -> bool {
        match self {
            ParamValue::Bool(b) => b,
            ParamValue::Float(x) => x != 0.0,
        }
    }
}

/// Resolved parameter values for one output tensor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResolvedParams {
    /// Shared values.
    pub shared: Vec<(&'static str, Option<ParamValue>)>,
    /// Per-input values, in input order (the base gets only `Input`-scoped ones).
    pub per_input: Vec<Vec<(&'static str, Option<ParamValue>)>>,
}

fn lookup(list: &[(&'static str, Option<ParamValue>)], name: &str) -> Option<ParamValue> {
    list.iter().find(|(n, _)| *n == name).and_then(|(_, v)| *v)
}

/// What a kernel needs to know about one tensor besides its inputs.
#[derive(Debug, Clone, Copy)]
pub struct TensorSpec<'a> {
    /// Index of the base model among the inputs.
    pub base: Option<usize>,
    /// The working type of methods that compute in the inputs' type
    /// (mergekit's task-vector family): their intermediate results are
    /// rounded to it as PyTorch would.
    pub precision: FloatType,
    /// The tensor's shape.
    pub shape: &'a [usize],
    /// Parameter values.
    pub params: &'a ResolvedParams,
    /// Seed of the random sparsifications for this tensor.
    pub seed: u64,
}

impl TensorSpec<'_> {
    /// A shared value (present for every parameter with a default or required).
    pub fn shared(&self, name: &str) -> ParamValue {
        lookup(&self.params.shared, name).unwrap_or(ParamValue::Float(0.0))
    }

    /// A per-input value.
    pub fn input_value(&self, input: usize, name: &str) -> Option<ParamValue> {
        self.params
            .per_input
            .get(input)
            .and_then(|list| lookup(list, name))
    }

    /// A per-input number.
    pub fn input_f64(&self, input: usize, name: &str) -> f64 {
        self.input_value(input, name)
            .map(ParamValue::as_f64)
            .unwrap_or(0.0)
    }
}

/// One tensor's inputs in memory and its settings (see [`Method::merge`]).
#[derive(Debug)]
pub struct Group<'a> {
    /// The input tensors as f32, in input order.
    pub tensors: Vec<Vec<f32>>,
    /// Index of the base model among them.
    pub base: Option<usize>,
    /// Working type (see [`TensorSpec::precision`]).
    pub precision: FloatType,
    /// The tensor's shape.
    pub shape: &'a [usize],
    /// Parameter values.
    pub params: &'a ResolvedParams,
    /// Seed of the random sparsifications.
    pub seed: u64,
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Parameters from plain lists (`None` entries are absent values).
    pub fn params(
        shared: &[(&'static str, f64)],
        per_input: &[&[(&'static str, f64)]],
    ) -> ResolvedParams {
        let value = |&(n, v): &(&'static str, f64)| (n, Some(ParamValue::Float(v)));
        ResolvedParams {
            shared: shared.iter().map(value).collect(),
            per_input: per_input
                .iter()
                .map(|l| l.iter().map(value).collect())
                .collect(),
        }
    }

    /// Merges `tensors` (one-dimensional) with `method`.
    pub fn run(
        method: Method,
        tensors: Vec<Vec<f32>>,
        base: Option<usize>,
        params: &ResolvedParams,
    ) -> Vec<f32> {
        let shape = [tensors[0].len()];
        method
            .merge(Group {
                tensors,
                base,
                precision: FloatType::F32,
                shape: &shape,
                params,
                seed: 1,
            })
            .unwrap()
    }
}
