//! Planning a merge: which output tensors exist, which input tensors each is
//! made of, the base among them and every parameter's value — all checked
//! before anything is written. Follows mergekit's planner: `models:` becomes
//! one slice over all layers (per layer stack); embeddings take the first
//! slice's models, final norms and heads the last slice's; layer tensors get
//! gradient position t = i/(n-1) within their slice, other tensors t = 0.

use std::collections::HashMap;

use retarget_model::dtype::FloatType;
use retarget_model::tensor_roles::{Architecture, TensorRole};

use crate::config::MergeConfig;
use crate::error::{MergeError, Result};
use crate::inputs::{InputModel, Inputs};
use crate::methods::{Method, ParamDefault, ResolvedParams, Scope};
use crate::parameters::Parameters;
use crate::parameters::{check_domain, evaluate};
use crate::vocabulary::Vocabulary;

/// One input tensor of an output tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSource {
    /// Index of the model in [`Inputs`].
    pub model: usize,
    /// Tensor name in that model.
    pub tensor: String,
}

/// One output tensor.
#[derive(Debug, Clone)]
pub struct PlannedMerge {
    /// Output name.
    pub name: String,
    /// Output shape.
    pub shape: Vec<usize>,
    /// Inputs, in configuration order.
    pub sources: Vec<TensorSource>,
    /// Index of the base among `sources`, for methods that use one.
    pub base: Option<usize>,
    /// The configured base model (index in [`Inputs`]), which also decides
    /// missing vocabulary rows.
    pub base_model: Option<usize>,
    /// Parameter values.
    pub params: ResolvedParams,
    /// Rows are vocabulary entries (permuted when vocabularies are merged).
    pub vocabulary: bool,
    /// Type the inputs are rounded to before merging, if configured.
    pub input_dtype: Option<FloatType>,
    /// Type mergekit computes this tensor in (the configured `dtype`, else
    /// the inputs' common type): methods that work in it round like it.
    pub precision: FloatType,
    /// Type written.
    pub dtype: FloatType,
}

/// The whole plan.
#[derive(Debug)]
pub struct MergePlan {
    /// The method.
    pub method: Method,
    /// Output tensors in writing order.
    pub tensors: Vec<PlannedMerge>,
    /// The merged vocabulary, when configured.
    pub vocabulary: Option<Vocabulary>,
    /// The model whose config and small files the output starts from.
    pub donor: usize,
    /// Output layer count when slices re-stack layers.
    pub layer_count: Option<usize>,
    /// The donor ties its head but the output stores one.
    pub unties_head: bool,
}

const NO_PARAMETERS: &Parameters = &Vec::new();

struct Slice<'c> {
    /// (model, layer range, parameters) per source.
    sources: Vec<(usize, (usize, usize), &'c Parameters)>,
    base: Option<usize>,
    params: &'c Parameters,
    stack: Option<&'static str>,
}

/// A layer tensor's name split around its layer number.
fn split_layer<'n>(
    arch: &Architecture,
    name: &'n str,
) -> Option<(&'static str, &'static str, usize, &'n str)> {
    let TensorRole::Layer { stack, index } = arch.role(name) else {
        return None;
    };
    let (prefix, _) = arch
        .stacks
        .iter()
        .find(|(p, s)| *s == stack && name.starts_with(p))?;
    let rest = name[prefix.len()..].split_once('.')?.1;
    Some((prefix, stack, index, rest))
}

/// Layer tensors of a model by (stack, layer): (prefix, suffix) in file order.
type LayerIndex<'m> = HashMap<(&'static str, usize), Vec<(&'static str, &'m str)>>;

fn layer_index(model: &InputModel) -> LayerIndex<'_> {
    let mut out: LayerIndex = HashMap::new();
    for t in model.folder.weights().iter() {
        if let Some((prefix, stack, index, rest)) = split_layer(model.arch, &t.entry.name) {
            out.entry((stack, index)).or_default().push((prefix, rest));
        }
    }
    out
}

fn is_pre(role: &TensorRole, name: &str) -> bool {
    matches!(
        role,
        TensorRole::InputEmbedding | TensorRole::PositionEmbedding | TensorRole::TiedAlias
    ) || name.contains("embed")
}

struct Planner<'a> {
    config: &'a MergeConfig,
    inputs: &'a Inputs,
    method: Method,
    out_dtype: Option<FloatType>,
    vocabulary: Option<&'a Vocabulary>,
}

impl<'a> Planner<'a> {
    fn config_error(&self, problem: String) -> MergeError {
        MergeError::config(&self.config.path, problem)
    }

    fn name(&self, model: usize) -> &str {
        &self.inputs.models[model].name
    }

    fn model_index(&self, name: &str) -> Result<usize> {
        self.inputs
            .index(name)
            .ok_or_else(|| MergeError::Internal(format!("model {name} not opened")))
    }

    /// Resolves every parameter for one output tensor, highest precedence first:
    /// the source's own, the slice's, the global ones.
    fn resolve(
        &self,
        slice: &Slice,
        name: &str,
        sources: &[TensorSource],
        base: Option<usize>,
        t: f64,
    ) -> Result<ResolvedParams> {
        let lookup = |scopes: &[&Parameters], param: &str, tensor: &str, ty| -> Result<Option<_>> {
            for scope in scopes {
                for (n, setting) in scope.iter() {
                    if n == param {
                        let v = evaluate(setting, tensor, t, ty)
                            .and_then(|v| check_domain(param, v))
                            .map_err(|e| self.config_error(format!("parameter `{param}`: {e}")))?;
                        if v.is_some() {
                            return Ok(v);
                        }
                    }
                }
            }
            Ok(None)
        };
        let mut out = ResolvedParams::default();
        for spec in self.method.params() {
            let value = |found: Option<_>, who: &str| -> Result<Option<_>> {
                match (found, spec.default) {
                    (Some(v), _) => Ok(Some(v)),
                    (None, ParamDefault::Value(v)) => Ok(Some(v)),
                    (None, ParamDefault::Absent) => Ok(None),
                    (None, ParamDefault::Required) => Err(self.config_error(format!(
                        "missing required parameter `{}` for {who} (tensor {name})",
                        spec.name
                    ))),
                }
            };
            match spec.scope {
                Scope::Shared => {
                    let found = lookup(
                        &[slice.params, &self.config.parameters],
                        spec.name,
                        name,
                        spec.ty,
                    )?;
                    out.shared.push((
                        spec.name,
                        value(found, &format!("merge method {}", self.config.merge_method))?,
                    ));
                }
                Scope::Input | Scope::NonBase => {
                    out.per_input.resize(sources.len(), Vec::new());
                    for (i, src) in sources.iter().enumerate() {
                        if spec.scope == Scope::NonBase && Some(i) == base {
                            continue;
                        }
                        let mut scopes: Vec<&Parameters> = slice
                            .sources
                            .iter()
                            .filter(|(m, _, _)| *m == src.model)
                            .map(|(_, _, p)| *p)
                            .collect();
                        scopes.push(slice.params);
                        scopes.push(&self.config.parameters);
                        let found = lookup(&scopes, spec.name, &src.tensor, spec.ty)?;
                        out.per_input[i].push((
                            spec.name,
                            value(found, &format!("model {}", self.name(src.model)))?,
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Checks the inputs of one output tensor and plans it.
    fn tensor(
        &self,
        slice: &Slice,
        name: String,
        sources: Vec<TensorSource>,
        t: f64,
    ) -> Result<PlannedMerge> {
        let mut shape: Option<(usize, Vec<usize>)> = None;
        let mut dtypes = Vec::new();
        let mut vocabulary = false;
        for src in &sources {
            let model = &self.inputs.models[src.model];
            let tensor = model.tensor(&src.tensor).ok_or_else(|| {
                MergeError::model(
                    &model.name,
                    format!(
                        "has no tensor `{}` (needed for output tensor `{name}`)",
                        src.tensor
                    ),
                )
            })?;
            let entry = tensor.entry;
            let dtype = FloatType::of(entry.dtype).ok_or_else(|| {
                MergeError::model(
                    &model.name,
                    format!(
                        "tensor `{}` is {:?}; only float tensors can be merged",
                        src.tensor, entry.dtype
                    ),
                )
            })?;
            dtypes.push(dtype);
            vocabulary |= model.arch.role(&src.tensor).is_vocabulary();
            match &shape {
                None => shape = Some((src.model, entry.shape.clone())),
                Some((first, s)) if *s != entry.shape => {
                    let vocab_only =
                        vocabulary && s.len() == entry.shape.len() && s[1..] == entry.shape[1..];
                    if !(vocab_only && self.vocabulary.is_some()) {
                        let hint = if vocab_only {
                            "; the vocabularies differ: set `tokenizer_source: base` (or `union`, or a model) to merge them"
                        } else {
                            ""
                        };
                        return Err(MergeError::model(
                            &model.name,
                            format!(
                                "tensor `{}` has shape {:?} but model {} has {:?} for output tensor `{name}`{hint}",
                                src.tensor, entry.shape, self.name(*first), s
                            ),
                        ));
                    }
                }
                Some(_) => {}
            }
        }
        let mut shape = shape.map(|(_, s)| s).unwrap_or_default();
        let vocabulary = vocabulary && self.vocabulary.is_some();
        if vocabulary {
            if let (Some(v), Some(rows)) = (self.vocabulary, shape.first_mut()) {
                *rows = v.rows;
            }
        }
        let base = if self.method.uses_base() {
            slice
                .base
                .and_then(|b| sources.iter().position(|s| s.model == b))
        } else {
            None
        };
        let params = self.resolve(slice, &name, &sources, base, t)?;
        let promoted = if dtypes.iter().all(|d| *d == dtypes[0]) {
            dtypes[0]
        } else {
            FloatType::F32
        };
        Ok(PlannedMerge {
            name,
            shape,
            sources,
            base,
            base_model: slice.base,
            params,
            vocabulary,
            input_dtype: self.config.dtype,
            precision: self.config.dtype.unwrap_or(promoted),
            dtype: self
                .out_dtype
                .or(self.config.out_dtype)
                .or(self.config.dtype)
                .unwrap_or(promoted),
        })
    }

    fn slices(&self, donor: &InputModel) -> Result<Vec<Slice<'a>>> {
        let config = self.config;
        let base = config
            .base_model
            .as_deref()
            .map(|b| self.model_index(b))
            .transpose()?;
        let stacks: Vec<&'static str> = donor.layers.keys().copied().collect();
        if !config.models.is_empty() {
            let stacks: Vec<Option<&'static str>> = if stacks.is_empty() {
                vec![None]
            } else {
                stacks.into_iter().map(Some).collect()
            };
            return stacks
                .into_iter()
                .map(|stack| {
                    let layers = |m: usize| {
                        stack
                            .and_then(|s| self.inputs.models[m].layers.get(s).copied())
                            .unwrap_or(0)
                    };
                    let mut sources = config
                        .models
                        .iter()
                        .map(|m| {
                            self.model_index(&m.model)
                                .map(|i| (i, (0, layers(i)), &m.parameters))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    if let Some(b) = base.filter(|_| self.method.uses_base()) {
                        if !sources.iter().any(|(m, _, _)| *m == b) {
                            sources.push((b, (0, layers(b)), NO_PARAMETERS));
                        }
                    }
                    Ok(Slice {
                        sources,
                        base,
                        params: NO_PARAMETERS,
                        stack,
                    })
                })
                .collect();
        }
        if stacks.len() > 1 {
            return Err(self.config_error(format!(
                "`slices:` needs a model with one layer stack; {} has {} ({})",
                donor.name,
                stacks.len(),
                stacks.join(", ")
            )));
        }
        let stack = stacks.first().copied();
        config
            .slices
            .iter()
            .map(|s| {
                let sources = s
                    .sources
                    .iter()
                    .map(|src| {
                        self.model_index(&src.model)
                            .map(|i| (i, src.layer_range, &src.parameters))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let base = match &s.base_model {
                    Some(b) => Some(self.model_index(b)?),
                    None => base,
                };
                Ok(Slice {
                    sources,
                    base,
                    params: &s.parameters,
                    stack,
                })
            })
            .collect()
    }

    fn check_slice(&self, index: usize, slice: &Slice) -> Result<()> {
        let contract = self.method.contract();
        let label = format!("slice {}", index + 1);
        let count = slice.sources.len();
        if contract.needs_base {
            let Some(base) = slice.base else {
                return Err(self.config_error(format!(
                    "merge method {} needs a `base_model`",
                    self.config.merge_method
                )));
            };
            if !slice.sources.iter().any(|(m, _, _)| *m == base) {
                return Err(self.config_error(format!(
                    "{label}: the base model {} is not among its sources",
                    self.name(base)
                )));
            }
        }
        if count < contract.min_inputs || contract.max_inputs.is_some_and(|max| count > max) {
            let wanted = match contract.max_inputs {
                Some(max) if max == contract.min_inputs => format!("exactly {max}"),
                Some(max) => format!("{} to {max}", contract.min_inputs),
                None => format!("at least {}", contract.min_inputs),
            };
            return Err(self.config_error(format!(
                "{label}: merge method {} takes {wanted} models (base included), got {count}",
                self.config.merge_method
            )));
        }
        for (i, (m, _, _)) in slice.sources.iter().enumerate() {
            if slice.sources[..i].iter().any(|(other, _, _)| other == m) {
                return Err(
                    self.config_error(format!("{label}: model {} is listed twice", self.name(*m)))
                );
            }
        }
        let mut lengths = Vec::new();
        for (m, (start, end), _) in &slice.sources {
            let model = &self.inputs.models[*m];
            let available = slice
                .stack
                .and_then(|s| model.layers.get(s).copied())
                .unwrap_or(0);
            if *end > available {
                return Err(MergeError::model(
                    &model.name,
                    format!(
                        "layer_range [{start}, {end}] is out of bounds: it has {available} layers"
                    ),
                ));
            }
            lengths.push(end - start);
        }
        if lengths.iter().any(|l| *l != lengths[0]) {
            return Err(self.config_error(format!(
                "{label}: all sources must span the same number of layers, got {lengths:?}"
            )));
        }
        Ok(())
    }

    fn plan(&self, donor_index: usize) -> Result<(Vec<PlannedMerge>, Option<usize>, bool)> {
        let donor = &self.inputs.models[donor_index];
        let model_type = |m: &InputModel| {
            m.folder
                .config()
                .and_then(|c| c.model_type())
                .unwrap_or("?")
                .to_string()
        };
        for model in &self.inputs.models {
            if model_type(model) != model_type(donor) {
                return Err(MergeError::model(
                    &model.name,
                    format!("is a `{}` model but {} is `{}`: only models of one architecture can be merged", model_type(model), donor.name, model_type(donor)),
                ));
            }
        }
        let slices = self.slices(donor)?;
        for (i, s) in slices.iter().enumerate() {
            self.check_slice(i, s)?;
        }
        let (first, last) = (&slices[0], &slices[slices.len() - 1]);
        let mut pre = Vec::new();
        let mut post = Vec::new();
        let weights = donor.folder.weights();
        let donor_head = donor
            .arch
            .find_head(&mut weights.iter().map(|t| t.entry.name.as_str()))
            .map(str::to_string);
        let mut names: Vec<String> = weights
            .iter()
            .map(|t| t.entry.name.clone())
            .filter(|n| {
                !matches!(
                    donor.arch.role(n),
                    TensorRole::Layer { .. } | TensorRole::Buffer
                )
            })
            .collect();
        // A head stored by another model of the last slice although the donor ties it.
        let mut unties_head = false;
        if donor_head.is_none() {
            for (m, _, _) in &last.sources {
                let model = &self.inputs.models[*m];
                let w = model.folder.weights();
                if let Some(h) = model
                    .arch
                    .find_head(&mut w.iter().map(|t| t.entry.name.as_str()))
                {
                    names.push(h.to_string());
                    unties_head = true;
                    break;
                }
            }
        }
        for name in names {
            let role = donor.arch.role(&name);
            let slice = if is_pre(&role, &name) { first } else { last };
            let sources = slice
                .sources
                .iter()
                .map(|(m, _, _)| {
                    let model = &self.inputs.models[*m];
                    let mut tensor = name.clone();
                    if role == TensorRole::OutputHead && model.tensor(&name).is_none() {
                        // Tied head: the embedding stands in (mergekit's `tied_names`).
                        let w = model.folder.weights();
                        if let Some(e) = model
                            .arch
                            .find_embedding(&mut w.iter().map(|t| t.entry.name.as_str()))
                        {
                            tensor = e.to_string();
                        }
                    }
                    TensorSource { model: *m, tensor }
                })
                .collect();
            let planned = self.tensor(slice, name.clone(), sources, 0.0)?;
            if is_pre(&role, &name) {
                pre.push(planned)
            } else {
                post.push(planned)
            }
        }
        let mut layers = Vec::new();
        let indices: HashMap<usize, LayerIndex> = slices
            .iter()
            .flat_map(|s| s.sources.iter().map(|(m, _, _)| *m))
            .map(|m| (m, layer_index(&self.inputs.models[m])))
            .collect();
        let mut out_layers: HashMap<&'static str, usize> = HashMap::new();
        for slice in &slices {
            let Some(stack) = slice.stack else { continue };
            let (first_model, (start, end), _) = slice.sources[0];
            let n = end - start;
            for offset in 0..n {
                let t = if n > 1 {
                    offset as f64 / (n - 1) as f64
                } else {
                    1.0
                };
                let out_layer = *out_layers.entry(stack).or_default();
                let template = indices[&first_model]
                    .get(&(stack, start + offset))
                    .cloned()
                    .unwrap_or_default();
                for (prefix, rest) in template {
                    let name = format!("{prefix}{out_layer}.{rest}");
                    let sources = slice
                        .sources
                        .iter()
                        .map(|(m, (s, _), _)| TensorSource {
                            model: *m,
                            tensor: format!("{prefix}{}.{rest}", s + offset),
                        })
                        .collect();
                    layers.push(self.tensor(slice, name, sources, t)?);
                }
                *out_layers.entry(stack).or_default() += 1;
            }
        }
        let layer_count = (!self.config.slices.is_empty()).then(|| out_layers.values().sum());
        pre.extend(layers);
        pre.extend(post);
        Ok((pre, layer_count, unties_head))
    }
}

fn check_parameter_names(config: &MergeConfig, method: &Method) -> Result<()> {
    let known: Vec<&str> = method.params().iter().map(|p| p.name).collect();
    let mut scopes: Vec<&Parameters> = vec![&config.parameters];
    scopes.extend(config.models.iter().map(|m| &m.parameters));
    for s in &config.slices {
        scopes.push(&s.parameters);
        scopes.extend(s.sources.iter().map(|src| &src.parameters));
    }
    for scope in scopes {
        if let Some((name, _)) = scope.iter().find(|(n, _)| !known.contains(&n.as_str())) {
            return Err(MergeError::config(
                &config.path,
                format!(
                    "`{name}` is not a parameter of merge method {} (its parameters: {})",
                    config.merge_method,
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// The configuration's merge method, with every parameter name checked
/// against it (before any model is opened).
pub fn method_of(config: &MergeConfig) -> Result<Method> {
    let method = Method::from_name(&config.merge_method).ok_or_else(|| {
        MergeError::config(
            &config.path,
            format!(
                "unknown merge method `{}` (known: {})",
                config.merge_method,
                Method::names().join(", ")
            ),
        )
    })?;
    check_parameter_names(config, &method)?;
    Ok(method)
}

/// Plans a merge of `inputs` as `config` says. `out_dtype` overrides the
/// configuration's output type.
pub fn plan(
    config: &MergeConfig,
    inputs: &Inputs,
    out_dtype: Option<FloatType>,
) -> Result<MergePlan> {
    let method = method_of(config)?;
    let donor = match &config.base_model {
        Some(b) => inputs
            .index(b)
            .ok_or_else(|| MergeError::Internal(format!("base {b} not opened")))?,
        None => 0,
    };
    let vocabulary = config
        .tokenizer
        .as_ref()
        .map(|t| Vocabulary::build(t, inputs, donor))
        .transpose()?;
    let planner = Planner {
        config,
        inputs,
        method,
        out_dtype,
        vocabulary: vocabulary.as_ref(),
    };
    let (tensors, layer_count, unties_head) = planner.plan(donor)?;
    Ok(MergePlan {
        method,
        tensors,
        vocabulary,
        donor,
        layer_count,
        unties_head,
    })
}
