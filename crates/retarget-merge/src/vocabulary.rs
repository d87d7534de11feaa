//! Merging models whose vocabularies differ, with mergekit's rules: the
//! output vocabulary is the base's, one model's, or the union (the base's plus
//! every other model's tokens, appended); each model's token-indexed rows are
//! permuted onto it, and a token a model lacks is filled from the base if it
//! has it, else from the only model that has it, else with the mean of those
//! that do (or as `tokenizer.tokens` says).

use std::collections::{HashMap, HashSet};

use tokenizers::{AddedToken, Tokenizer};

use crate::config::{TokenEmbeddingSource, TokenizerConfig, TokenizerSource};
use crate::error::{MergeError, Result};
use crate::inputs::Inputs;

/// A token's configured embedding, with models resolved to input indices.
#[derive(Debug, Clone)]
enum Configured {
    Model(usize),
    ModelRow(usize, usize),
    Zero,
}

/// The output vocabulary and how each model maps onto it.
#[derive(Debug)]
pub struct Vocabulary {
    /// The output tokenizer.
    pub tokenizer: Tokenizer,
    /// Index of the model whose tokenizer files accompany the output.
    pub source_model: usize,
    /// Output rows (the vocabulary, padded to `pad_to_multiple_of`).
    pub rows: usize,
    tokens: Vec<String>,
    /// Per input model: output token id → the model's row.
    permutations: Vec<Vec<Option<usize>>>,
    configured: HashMap<String, (Option<Configured>, bool)>,
}

fn tokenizer_of(inputs: &Inputs, model: usize) -> Result<&Tokenizer> {
    let m = &inputs.models[model];
    m.folder.tokenizer().ok_or_else(|| {
        MergeError::model(&m.name, "has no tokenizer.json, which merging vocabularies (tokenizer_source / tokenizer) needs")
    })
}

/// The model's vocabulary limited to the rows it has.
fn usable_vocab(inputs: &Inputs, model: usize) -> Result<HashMap<String, usize>> {
    let rows = inputs.models[model].embedding_rows().unwrap_or(usize::MAX);
    Ok(tokenizer_of(inputs, model)?
        .get_vocab(true)
        .into_iter()
        .map(|(t, id)| (t, id as usize))
        .filter(|(_, id)| *id < rows)
        .collect())
}

fn by_id(vocab: &HashMap<String, u32>) -> Vec<(u32, &str)> {
    let mut list: Vec<(u32, &str)> = vocab.iter().map(|(t, &id)| (id, t.as_str())).collect();
    list.sort_unstable();
    list
}

fn resolve_model(inputs: &Inputs, name: &str, what: &str) -> Result<usize> {
    inputs.index(name).ok_or_else(|| {
        MergeError::model(
            name,
            format!("{what} names a model that is not part of the merge"),
        )
    })
}

impl Vocabulary {
    /// Builds the output vocabulary. `base` is the base model's index (or the
    /// first model's when there is no base).
    pub fn build(config: &TokenizerConfig, inputs: &Inputs, base: usize) -> Result<Self> {
        let base_tok = tokenizer_of(inputs, base)?;
        let base_rows = inputs.models[base].embedding_rows().unwrap_or(usize::MAX);
        if let Some((t, id)) = base_tok
            .get_vocab(true)
            .into_iter()
            .find(|(_, id)| *id as usize >= base_rows)
        {
            return Err(MergeError::model(
                &inputs.models[base].name,
                format!("its tokenizer has token {t:?} with id {id}, beyond the {base_rows} embedding rows"),
            ));
        }
        let (mut tokenizer, source_model) = match &config.source {
            TokenizerSource::Base => (base_tok.clone(), base),
            TokenizerSource::Model(name) => {
                let m = resolve_model(inputs, name, "tokenizer source")?;
                (tokenizer_of(inputs, m)?.clone(), m)
            }
            TokenizerSource::Union => (union(inputs, base)?, base),
        };
        let mut configured = HashMap::new();
        let mut extra = Vec::new();
        for (token, cfg) in &config.tokens {
            let source = match &cfg.source {
                None => None,
                Some(TokenEmbeddingSource::Zero) => Some(Configured::Zero),
                Some(TokenEmbeddingSource::Model(name)) => Some(Configured::Model(resolve_model(
                    inputs,
                    name,
                    "a token source",
                )?)),
                Some(TokenEmbeddingSource::ModelToken {
                    model,
                    token_id,
                    token: text,
                }) => {
                    let m = resolve_model(inputs, model, "a token source")?;
                    let row = match (token_id, text) {
                        (Some(id), _) => *id,
                        (None, Some(text)) => {
                            *usable_vocab(inputs, m)?.get(text).ok_or_else(|| {
                                MergeError::model(
                                    model,
                                    format!(
                                        "has no token {text:?} (named as the source of {token:?})"
                                    ),
                                )
                            })?
                        }
                        (None, None) => {
                            return Err(MergeError::Internal("model_token without token".into()))
                        }
                    };
                    let rows = inputs.models[m].embedding_rows().unwrap_or(0);
                    if row >= rows {
                        return Err(MergeError::model(
                            model,
                            format!("token id {row} is beyond its {rows} embedding rows"),
                        ));
                    }
                    Some(Configured::ModelRow(m, row))
                }
            };
            configured.insert(token.clone(), (source, cfg.force));
            if tokenizer.token_to_id(token).is_none() {
                extra.push(AddedToken::from(token.clone(), false));
            }
        }
        tokenizer
            .add_tokens(extra)
            .map_err(|e| MergeError::Internal(format!("cannot add tokens: {e}")))?;
        let vocab = tokenizer.get_vocab(true);
        let mut tokens = vec![String::new(); vocab.len()];
        for (t, &id) in &vocab {
            let slot = tokens.get_mut(id as usize).ok_or_else(|| {
                MergeError::model(
                    &inputs.models[source_model].name,
                    format!(
                        "its tokenizer's ids are not contiguous (token {t:?} has id {id} of {})",
                        vocab.len()
                    ),
                )
            })?;
            *slot = t.clone();
        }
        let mut rows = tokens.len();
        if let Some(multiple) = config.pad_to_multiple_of {
            rows = rows.div_ceil(multiple) * multiple;
        }
        let permutations = (0..inputs.models.len())
            .map(|m| {
                let own = usable_vocab(inputs, m)?;
                Ok(tokens.iter().map(|t| own.get(t).copied()).collect())
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Vocabulary {
            tokenizer,
            source_model,
            rows,
            tokens,
            permutations,
            configured,
        })
    }

    /// Number of real (unpadded) tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Permutes token-indexed tensors (rows of `width` values) of the models
    /// `group` onto the output vocabulary, filling missing tokens by the rules.
    pub fn permute(
        &self,
        group: &[usize],
        tensors: Vec<Vec<f32>>,
        base: Option<usize>,
        width: usize,
    ) -> Result<Vec<Vec<f32>>> {
        let row = |m: usize, r: usize| -> &[f32] { &tensors[m][r * width..(r + 1) * width] };
        let mut defaults: HashMap<usize, Vec<f32>> = HashMap::new();
        for (id, token) in self.tokens.iter().enumerate() {
            let (cfg, force) = self.configured.get(token).cloned().unwrap_or((None, false));
            let holders: Vec<usize> = (0..group.len())
                .filter(|&g| self.permutations[group[g]][id].is_some())
                .collect();
            if !force && holders.len() == group.len() {
                continue;
            }
            let own = |g: usize| self.permutations[group[g]][id].map(|r| row(g, r));
            let in_group = |m: usize| group.iter().position(|&x| x == m);
            let value: Vec<f32> = match cfg {
                Some(Configured::Zero) => vec![0.0; width],
                Some(Configured::Model(m)) => {
                    let g = in_group(m).ok_or_else(|| {
                        MergeError::Tensor(format!(
                            "token {token:?}: its source model is not among this tensor's inputs"
                        ))
                    })?;
                    own(g)
                        .ok_or_else(|| {
                            MergeError::Tensor(format!(
                                "token {token:?}: its source model does not have it"
                            ))
                        })?
                        .to_vec()
                }
                Some(Configured::ModelRow(m, r)) => {
                    let g = in_group(m).ok_or_else(|| {
                        MergeError::Tensor(format!(
                            "token {token:?}: its source model is not among this tensor's inputs"
                        ))
                    })?;
                    row(g, r).to_vec()
                }
                None => match holders.as_slice() {
                    [] => vec![0.0; width],
                    [only] => own(*only).map(<[f32]>::to_vec).unwrap_or_default(),
                    _ => match base.and_then(in_group).and_then(own) {
                        Some(b) => b.to_vec(),
                        None => {
                            let mut mean = vec![0f32; width];
                            for &g in &holders {
                                mean.iter_mut()
                                    .zip(own(g).unwrap_or_default())
                                    .for_each(|(a, b)| *a += b);
                            }
                            mean.iter_mut().for_each(|a| *a /= holders.len() as f32);
                            mean
                        }
                    },
                },
            };
            defaults.insert(id, value);
        }
        let out = (0..group.len())
            .map(|g| {
                let mut new = vec![0f32; self.rows * width];
                for (id, dst) in new.chunks_mut(width).take(self.tokens.len()).enumerate() {
                    let forced = self
                        .configured
                        .get(&self.tokens[id])
                        .is_some_and(|(_, f)| *f);
                    match (self.permutations[group[g]][id], defaults.get(&id)) {
                        (Some(r), _) if !forced => dst.copy_from_slice(row(g, r)),
                        (_, Some(d)) => dst.copy_from_slice(d),
                        (Some(r), None) => dst.copy_from_slice(row(g, r)),
                        (None, None) => {}
                    }
                }
                if self.rows > self.tokens.len() {
                    // Padding rows get the mean of the real ones (Hewitt's recipe, as mergekit).
                    let mut mean = vec![0f32; width];
                    for r in new.chunks(width).take(self.tokens.len()) {
                        mean.iter_mut().zip(r).for_each(|(a, b)| *a += b);
                    }
                    mean.iter_mut().for_each(|a| *a /= self.tokens.len() as f32);
                    for dst in new.chunks_mut(width).skip(self.tokens.len()) {
                        dst.copy_from_slice(&mean);
                    }
                }
                new
            })
            .collect();
        Ok(out)
    }
}

/// The base tokenizer plus, appended, every other model's tokens it lacks
/// (regular tokens first, in model and id order, then added tokens).
fn union(inputs: &Inputs, base: usize) -> Result<Tokenizer> {
    let mut tokenizer = tokenizer_of(inputs, base)?.clone();
    let mut known: HashSet<String> = tokenizer.get_vocab(true).into_keys().collect();
    let order = std::iter::once(base).chain((0..inputs.models.len()).filter(|&m| m != base));
    let mut regular = Vec::new();
    let mut added = Vec::new();
    for m in order {
        let tok = tokenizer_of(inputs, m)?;
        let usable = usable_vocab(inputs, m)?;
        let decoder = tok.get_added_tokens_decoder();
        let vocab = tok.get_vocab(true);
        for (id, t) in by_id(&vocab) {
            if !usable.contains_key(t) || known.contains(t) {
                continue;
            }
            known.insert(t.to_string());
            match decoder.get(&id) {
                Some(info) => added.push(info.clone()),
                None => regular.push(AddedToken::from(t.to_string(), false)),
            }
        }
    }
    let failed = |e: tokenizers::Error| MergeError::Internal(format!("cannot add tokens: {e}"));
    tokenizer.add_tokens(regular).map_err(failed)?;
    for token in added {
        if token.special {
            tokenizer.add_special_tokens([token]).map_err(failed)?;
        } else {
            tokenizer.add_tokens([token]).map_err(failed)?;
        }
    }
    Ok(tokenizer)
}
