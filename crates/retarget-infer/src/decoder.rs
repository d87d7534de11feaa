//! A llama-family decoder (llama, mistral, qwen2/3, SmolLM, gemma, Gemma 3)
//! on candle-nn.
//!
//! Written here rather than taken from `candle-transformers`: its llama
//! returns the logits of the last position only, while scoring text needs
//! every position's logits and the logit lens needs the hidden states of every
//! layer. The arithmetic follows `transformers`' `LlamaModel` step by step
//! (f32 RMSNorm, rotate-half rotary positions, grouped-query attention with a
//! causal mask, SwiGLU MLP) so that logits agree to float rounding.

use std::sync::Arc;

use candle_core::quantized::QMatMul;
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Linear, VarBuilder};
use retarget_model::gguf::GgufFile;
use retarget_model::ModelError;

use crate::config::{Activation, DecoderConfig};
use crate::probe::{at, NoProbe, Probe, Site, Steer};

/// Which positions' logits a forward pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// Every position: `(batch, seq, vocab)`.
    All,
    /// The last position only: `(batch, 1, vocab)` (prefill and decoding).
    Last,
}

/// Positions the key/value cache holds at first and grows by.
const CACHE_STEP: usize = 256;

/// Keys and values of the positions seen so far, per layer, and how many
/// padding positions open each row of the batch.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<candle_nn::kv_cache::KvCache>,
    len: usize,
    padding: Vec<usize>,
}

impl KvCache {
    /// An empty cache for `layers` layers and unpadded rows.
    pub fn new(layers: usize) -> Self {
        Self::left_padded(layers, Vec::new())
    }

    /// An empty cache for a batch whose row `r` starts with `padding[r]`
    /// padding tokens (prompts of different lengths, padded on the left):
    /// real tokens never attend to them and count positions from their first
    /// real token, as `transformers` does with an attention mask.
    pub fn left_padded(layers: usize, padding: Vec<usize>) -> Self {
        KvCache {
            layers: (0..layers)
                .map(|_| candle_nn::kv_cache::KvCache::new(2, CACHE_STEP))
                .collect(),
            len: 0,
            padding,
        }
    }

    /// Number of positions cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A linear map: dense f32 weights, or GGUF blocks multiplied by candle's
/// quantized kernels (with an optional dense bias).
pub(crate) enum Projection {
    Dense(Linear),
    Quantized(QMatMul, Option<Tensor>),
}

impl Module for Projection {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Projection::Dense(linear) => match crate::few_rows::few_rows(linear.weight(), x)? {
                Some(y) => match linear.bias() {
                    Some(b) => y.broadcast_add(b),
                    None => Ok(y),
                },
                None => linear.forward(x),
            },
            Projection::Quantized(weight, bias) => {
                let y = weight.forward(x)?;
                match bias {
                    Some(b) => y.broadcast_add(b),
                    None => Ok(y),
                }
            }
        }
    }
}

/// Projections of the same input whose outputs lie side by side: one
/// stacked dense matrix (one matrix product), or one quantized matrix each.
struct SideBySide(Vec<Projection>);

impl SideBySide {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self.0.as_slice() {
            [one] => one.forward(x),
            parts => {
                let outputs = parts
                    .iter()
                    .map(|p| p.forward(x))
                    .collect::<candle_core::Result<Vec<_>>>()?;
                Tensor::cat(&outputs, D::Minus1)
            }
        }
    }
}

struct Attention {
    /// Per-head RMSNorm weights of queries and keys (qwen3).
    qk_norm: Option<(Tensor, Tensor)>,
    eps: f32,
    /// q, k and v projections.
    qkv: SideBySide,
    o: Projection,
    /// Rotary positions on adjacent pairs (GGUF's permuted q/k rows) rather
    /// than on halves.
    interleaved_rope: bool,
    /// What query·key products are multiplied by.
    scale: f64,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

struct Mlp {
    activation: Activation,
    /// gate and up projections.
    gate_up: SideBySide,
    intermediate: usize,
    down: Projection,
}

struct Layer {
    input_norm: Tensor,
    attention: Attention,
    /// The attention's output normed before the residual add (Gemma 3).
    attention_out_norm: Option<Tensor>,
    /// The MLP's input norm (llama's `post_attention_layernorm`, Gemma 3's
    /// `pre_feedforward_layernorm`).
    mlp_norm: Tensor,
    mlp: Mlp,
    /// The MLP's output normed before the residual add (Gemma 3).
    mlp_out_norm: Option<Tensor>,
}

/// A loaded decoder, f32 on the CPU.
pub struct Decoder {
    config: DecoderConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    head: Projection,
    /// cos and sin tables of every layer's rotary base; `local` for the
    /// sliding-window layers when their base differs (Gemma 3).
    rotary: Rotary,
    /// Changes applied at probe sites in every forward pass, in order.
    steers: Vec<Arc<dyn Steer>>,
}

/// cos and sin tables, `(max_positions, head_dim/2)`.
struct Rotary {
    global: (Tensor, Tensor),
    local: Option<(Tensor, Tensor)>,
}

impl Rotary {
    fn new(c: &DecoderConfig, device: &Device) -> candle_core::Result<Self> {
        Ok(Rotary {
            global: rotary_tables(c, c.rope_theta, device)?,
            local: c
                .local_rope_theta
                .map(|theta| rotary_tables(c, theta, device))
                .transpose()?,
        })
    }
}

fn linear(input: usize, output: usize, bias: bool, vb: VarBuilder) -> candle_core::Result<Linear> {
    let weight = vb.get((output, input), "weight")?;
    let bias = if bias {
        Some(vb.get(output, "bias")?)
    } else {
        None
    };
    Ok(Linear::new(weight, bias))
}

/// An RMSNorm weight; gemma stores `weight - 1` and multiplies by
/// `1 + weight` (computed once here, in f32 as transformers does).
fn norm_weight(
    c: &DecoderConfig,
    vb: &VarBuilder,
    size: usize,
    name: &str,
) -> candle_core::Result<Tensor> {
    let weight = vb.get(size, name)?;
    if c.norm_weight_offset {
        weight + 1.0
    } else {
        Ok(weight)
    }
}

/// Projections that read the same input, as one `Linear` whose output is
/// their outputs side by side.
fn stacked(input: usize, parts: &[(usize, VarBuilder)], bias: bool) -> candle_core::Result<Linear> {
    let mut weights = Vec::with_capacity(parts.len());
    let mut biases = Vec::with_capacity(parts.len());
    for (output, vb) in parts {
        weights.push(vb.get((*output, input), "weight")?);
        if bias {
            biases.push(vb.get(*output, "bias")?);
        }
    }
    let bias = if bias {
        Some(Tensor::cat(&biases, 0)?)
    } else {
        None
    };
    Ok(Linear::new(Tensor::cat(&weights, 0)?, bias))
}

impl Decoder {
    /// Builds the decoder from `model.*` / `lm_head.*` tensors.
    pub(crate) fn load(config: DecoderConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let c = &config;
        let model = vb.pp("model");
        let embed = model.get((c.vocab_size, c.hidden_size), "embed_tokens.weight")?;
        let mut layers = Vec::with_capacity(c.num_layers);
        for index in 0..c.num_layers {
            let lb = model.pp(format!("layers.{index}"));
            let ab = lb.pp("self_attn");
            let (q_out, kv_out) = (c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim);
            let qk_norm = if c.qk_norm {
                Some((
                    norm_weight(c, &ab, c.head_dim, "q_norm.weight")?,
                    norm_weight(c, &ab, c.head_dim, "k_norm.weight")?,
                ))
            } else {
                None
            };
            let attention = Attention {
                qk_norm,
                eps: c.rms_norm_eps as f32,
                qkv: SideBySide(vec![Projection::Dense(stacked(
                    c.hidden_size,
                    &[
                        (q_out, ab.pp("q_proj")),
                        (kv_out, ab.pp("k_proj")),
                        (kv_out, ab.pp("v_proj")),
                    ],
                    c.qkv_bias,
                )?)]),
                o: Projection::Dense(linear(
                    q_out,
                    c.hidden_size,
                    c.output_bias,
                    ab.pp("o_proj"),
                )?),
                interleaved_rope: false,
                scale: c.query_scale,
                heads: c.num_heads,
                kv_heads: c.num_kv_heads,
                head_dim: c.head_dim,
            };
            let mb = lb.pp("mlp");
            let inter = c.intermediate_size;
            let mlp = Mlp {
                activation: c.activation,
                gate_up: SideBySide(vec![Projection::Dense(stacked(
                    c.hidden_size,
                    &[(inter, mb.pp("gate_proj")), (inter, mb.pp("up_proj"))],
                    c.mlp_bias,
                )?)]),
                intermediate: inter,
                down: Projection::Dense(linear(
                    inter,
                    c.hidden_size,
                    c.mlp_bias,
                    mb.pp("down_proj"),
                )?),
            };
            let norm = |name: &str| norm_weight(c, &lb, c.hidden_size, name);
            let (attention_out_norm, mlp_norm, mlp_out_norm) = if c.sandwich_norms {
                (
                    Some(norm("post_attention_layernorm.weight")?),
                    norm("pre_feedforward_layernorm.weight")?,
                    Some(norm("post_feedforward_layernorm.weight")?),
                )
            } else {
                (None, norm("post_attention_layernorm.weight")?, None)
            };
            layers.push(Layer {
                input_norm: norm("input_layernorm.weight")?,
                attention,
                attention_out_norm,
                mlp_norm,
                mlp,
                mlp_out_norm,
            });
        }
        let norm = norm_weight(c, &model, c.hidden_size, "norm.weight")?;
        let head = Projection::Dense(if c.tie_word_embeddings {
            Linear::new(embed.clone(), None)
        } else {
            Linear::new(
                vb.get((c.vocab_size, c.hidden_size), "lm_head.weight")?,
                None,
            )
        });
        let rotary = Rotary::new(c, vb.device())?;
        Ok(Decoder {
            config,
            embed,
            layers,
            norm,
            head,
            rotary,
            steers: Vec::new(),
        })
    }

    /// Builds a llama decoder straight from a GGUF file's quantized blocks
    /// (candle's quantized matmul; activations are quantized for the dot
    /// products as llama.cpp does, so results are close to, not equal to, the
    /// dequantized model's). The embedding, norms and biases are dequantized;
    /// q/k rows stay in llama.cpp's permuted order and take rotary positions
    /// on adjacent pairs, which gives the same attention.
    pub(crate) fn load_gguf(
        config: DecoderConfig,
        file: &GgufFile,
        device: &Device,
    ) -> retarget_model::Result<Self> {
        let c = &config;
        let dense = |name: &str| -> retarget_model::Result<Tensor> {
            let tensor = file.tensor(name).ok_or_else(|| {
                ModelError::invalid(file.path(), format!("tensor `{name}` is missing"))
            })?;
            let values = file.dequantize(tensor)?;
            Tensor::from_vec(values, tensor.shape.clone(), device)
                .map_err(|e| ModelError::invalid(file.path(), format!("tensor `{name}`: {e}")))
        };
        let quantized = |name: &str| -> retarget_model::Result<Projection> {
            let weight = QMatMul::from_qtensor(file.qtensor(&format!("{name}.weight"), device)?)
                .map_err(|e| {
                    ModelError::invalid(file.path(), format!("tensor `{name}.weight`: {e}"))
                })?;
            let bias_name = format!("{name}.bias");
            let bias = match file.tensor(&bias_name) {
                Some(_) => Some(dense(&bias_name)?),
                None => None,
            };
            Ok(Projection::Quantized(weight, bias))
        };
        let embed = dense("token_embd.weight")?;
        // llama.cpp permutes the q/k rows of llama models only; gemma's norm
        // weights are stored as `1 + w`, which is what is multiplied by.
        let llama = file.architecture() == Some("llama");
        let mut layers = Vec::with_capacity(c.num_layers);
        for index in 0..c.num_layers {
            let name = |suffix: &str| format!("blk.{index}.{suffix}");
            let optional = |suffix: &str| -> retarget_model::Result<Option<Tensor>> {
                c.sandwich_norms.then(|| dense(&name(suffix))).transpose()
            };
            let qk_norm = if c.qk_norm {
                Some((
                    dense(&name("attn_q_norm.weight"))?,
                    dense(&name("attn_k_norm.weight"))?,
                ))
            } else {
                None
            };
            layers.push(Layer {
                input_norm: dense(&name("attn_norm.weight"))?,
                attention: Attention {
                    qk_norm,
                    eps: c.rms_norm_eps as f32,
                    qkv: SideBySide(vec![
                        quantized(&name("attn_q"))?,
                        quantized(&name("attn_k"))?,
                        quantized(&name("attn_v"))?,
                    ]),
                    o: quantized(&name("attn_output"))?,
                    interleaved_rope: llama,
                    scale: c.query_scale,
                    heads: c.num_heads,
                    kv_heads: c.num_kv_heads,
                    head_dim: c.head_dim,
                },
                attention_out_norm: optional("post_attention_norm.weight")?,
                mlp_norm: dense(&name("ffn_norm.weight"))?,
                mlp_out_norm: optional("post_ffw_norm.weight")?,
                mlp: Mlp {
                    activation: c.activation,
                    gate_up: SideBySide(vec![
                        quantized(&name("ffn_gate"))?,
                        quantized(&name("ffn_up"))?,
                    ]),
                    intermediate: c.intermediate_size,
                    down: quantized(&name("ffn_down"))?,
                },
            });
        }
        let head = if file.tensor("output.weight").is_some() {
            quantized("output")?
        } else {
            quantized("token_embd")?
        };
        let rotary =
            Rotary::new(c, device).map_err(|e| ModelError::invalid(file.path(), e.to_string()))?;
        Ok(Decoder {
            norm: dense("output_norm.weight")?,
            config,
            embed,
            layers,
            head,
            rotary,
            steers: Vec::new(),
        })
    }

    /// Adds a change applied at probe sites in every forward pass from now
    /// on (after those added before; probes see the changed states).
    pub fn add_steer(&mut self, steer: Arc<dyn Steer>) {
        self.steers.push(steer);
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// The device the weights live on (inputs are created there).
    pub fn device(&self) -> &Device {
        self.embed.device()
    }

    /// Runs `ids` (`batch × seq`, u32) after the positions already in
    /// `cache`, appends their keys and values to it and returns the logits of
    /// the requested positions.
    pub fn forward(
        &self,
        ids: &Tensor,
        cache: &mut KvCache,
        positions: Positions,
    ) -> candle_core::Result<Tensor> {
        let mut hidden = self.residual_stream(ids, cache, &mut NoProbe)?;
        if positions == Positions::Last {
            let seq = hidden.dim(1)?;
            hidden = hidden.narrow(1, seq - 1, 1)?.contiguous()?;
        }
        self.logits(&hidden)
    }

    /// The final norm and the output head applied to residual-stream states
    /// `(…, hidden)`: logits `(…, vocab)`. Applied to an intermediate
    /// layer's states, this is the logit lens.
    pub fn logits(&self, hidden: &Tensor) -> candle_core::Result<Tensor> {
        let eps = self.config.rms_norm_eps as f32;
        let normed = candle_nn::ops::rms_norm(hidden, &self.norm, eps)?;
        if let Projection::Dense(linear) = &self.head {
            if linear.bias().is_none() {
                if let Some(logits) = crate::few_rows::few_rows(linear.weight(), &normed)? {
                    return Ok(logits);
                }
            }
        }
        self.head.forward(&normed)
    }

    /// Runs the layers over `ids` like [`Decoder::forward`] and returns the
    /// last layer's residual stream (before the final norm); `probe` sees
    /// (and may change) the states at the [`Site`]s it wants.
    pub fn residual_stream(
        &self,
        ids: &Tensor,
        cache: &mut KvCache,
        probe: &mut dyn Probe,
    ) -> candle_core::Result<Tensor> {
        let (batch, seq) = ids.dims2()?;
        let offset = cache.len;
        let mut hidden = self.embed.index_select(&ids.flatten_all()?, 0)?.reshape((
            batch,
            seq,
            self.config.hidden_size,
        ))?;
        if self.config.scale_embeddings {
            // transformers multiplies by sqrt(hidden_size) rounded to the
            // states' type.
            let scale = (self.config.hidden_size as f64).sqrt() as f32;
            hidden = (hidden * scale as f64)?;
        }
        let padding = &cache.padding;
        let mut masks: Vec<(Option<usize>, Option<Tensor>)> = Vec::new();
        for &window in &self.config.windows {
            if !masks.iter().any(|(w, _)| *w == window) {
                let mask = attention_mask(seq, offset, window, padding, ids.device())?;
                masks.push((window, mask));
            }
        }
        let eps = self.config.rms_norm_eps as f32;
        let positions = |(cos, sin): &(Tensor, Tensor)| -> candle_core::Result<(Tensor, Tensor)> {
            if padding.iter().all(|&p| p == 0) {
                return Ok((cos.narrow(0, offset, seq)?, sin.narrow(0, offset, seq)?));
            }
            let positions: Vec<u32> = padding
                .iter()
                .flat_map(|&pad| (offset..offset + seq).map(move |i| i.saturating_sub(pad) as u32))
                .collect();
            let positions = Tensor::from_vec(positions, batch * seq, ids.device())?;
            let half = self.config.head_dim / 2;
            Ok((
                cos.index_select(&positions, 0)?
                    .reshape((batch, seq, half))?,
                sin.index_select(&positions, 0)?
                    .reshape((batch, seq, half))?,
            ))
        };
        let global = positions(&self.rotary.global)?;
        let local = self.rotary.local.as_ref().map(positions).transpose()?;
        hidden = at(probe, &self.steers, Site::Residual(0), hidden, offset)?;
        for (index, ((layer, slot), window)) in self
            .layers
            .iter()
            .zip(cache.layers.iter_mut())
            .zip(&self.config.windows)
            .enumerate()
        {
            let mask = masks
                .iter()
                .find(|(w, _)| w == window)
                .and_then(|(_, m)| m.as_ref());
            let (cos, sin) = match (&local, window) {
                (Some(local), Some(_)) => local,
                _ => &global,
            };
            let normed = candle_nn::ops::rms_norm(&hidden, &layer.input_norm, eps)?;
            let attended = layer.attention.forward(&normed, cos, sin, mask, slot)?;
            let mut attended = at(
                probe,
                &self.steers,
                Site::Attention(index),
                attended,
                offset,
            )?;
            if let Some(norm) = &layer.attention_out_norm {
                attended = candle_nn::ops::rms_norm(&attended, norm, eps)?;
            }
            hidden = (hidden + attended)?;
            let normed = candle_nn::ops::rms_norm(&hidden, &layer.mlp_norm, eps)?;
            let transformed = layer
                .mlp
                .forward(&normed, index, offset, &self.steers, probe)?;
            let mut transformed = at(probe, &self.steers, Site::Mlp(index), transformed, offset)?;
            if let Some(norm) = &layer.mlp_out_norm {
                transformed = candle_nn::ops::rms_norm(&transformed, norm, eps)?;
            }
            hidden = (&hidden + transformed)?;
            hidden = at(
                probe,
                &self.steers,
                Site::Residual(index + 1),
                hidden,
                offset,
            )?;
        }
        cache.len += seq;
        Ok(hidden)
    }
}

impl Attention {
    fn forward(
        &self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: Option<&Tensor>,
        cache: &mut candle_nn::kv_cache::KvCache,
    ) -> candle_core::Result<Tensor> {
        let (batch, seq, _) = x.dims3()?;
        let heads_first = |t: Tensor, heads: usize| -> candle_core::Result<Tensor> {
            t.reshape((batch, seq, heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let qkv = self.qkv.forward(x)?;
        let (q_width, kv_width) = (self.heads * self.head_dim, self.kv_heads * self.head_dim);
        let q = heads_first(qkv.narrow(D::Minus1, 0, q_width)?, self.heads)?;
        let k = heads_first(qkv.narrow(D::Minus1, q_width, kv_width)?, self.kv_heads)?;
        let v = heads_first(
            qkv.narrow(D::Minus1, q_width + kv_width, kv_width)?,
            self.kv_heads,
        )?;
        let (q, k) = match &self.qk_norm {
            Some((q_norm, k_norm)) => (
                candle_nn::ops::rms_norm(&q, q_norm, self.eps)?,
                candle_nn::ops::rms_norm(&k, k_norm, self.eps)?,
            ),
            None => (q, k),
        };
        let rope = if self.interleaved_rope {
            candle_nn::rotary_emb::rope_i
        } else {
            candle_nn::rotary_emb::rope
        };
        let q = rope(&q, cos, sin)?;
        let k = rope(&k, cos, sin)?;
        let (k, v) = cache.append(&k, &v)?;
        // Grouped-query attention without copying keys and values per query
        // head: the `group` query heads of one key/value head are stacked
        // as rows, (batch, kv_heads, group × seq, head_dim).
        let group = self.heads / self.kv_heads;
        let q = q.reshape((batch, self.kv_heads, group * seq, self.head_dim))?;
        let mut scores = (q.matmul(&k.t()?)? * self.scale)?;
        if let Some(mask) = mask {
            let rows = mask.rank() - 2;
            let mut repeats = vec![1; mask.rank()];
            repeats[rows] = group;
            scores = scores.broadcast_add(&mask.repeat(repeats)?)?;
        }
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = weights.matmul(&v)?;
        let out = out
            .reshape((batch, self.heads, seq, self.head_dim))?
            .transpose(1, 2)?
            .reshape((batch, seq, self.heads * self.head_dim))?;
        self.o.forward(&out)
    }
}

impl Mlp {
    /// The MLP of layer `layer` over positions from `offset`; `steers` and
    /// then `probe` may change and see its neurons' activations.
    fn forward(
        &self,
        x: &Tensor,
        layer: usize,
        offset: usize,
        steers: &[Arc<dyn Steer>],
        probe: &mut dyn Probe,
    ) -> candle_core::Result<Tensor> {
        let gate_up = self.gate_up.forward(x)?;
        let gate = gate_up.narrow(D::Minus1, 0, self.intermediate)?;
        let gate = match self.activation {
            Activation::Silu => gate.silu()?,
            Activation::GeluTanh => gate.gelu()?,
        };
        let gate = at(probe, steers, Site::MlpActivation(layer), gate, offset)?;
        let up = gate_up.narrow(D::Minus1, self.intermediate, self.intermediate)?;
        self.down.forward(&(gate * up)?)
    }
}

/// The additive mask of `seq` new positions after `offset` cached ones:
/// `-inf` where a key lies in the future, (with a `window`) `window` or more
/// positions in the past, as `transformers`' sliding-window mask, or (with
/// `padding`) on a row's left padding. A padding position attends to itself
/// only, so that no row is masked entirely. `(seq, total)` without padding,
/// `(batch, 1, seq, total)` with; `None` when nothing is masked.
fn attention_mask(
    seq: usize,
    offset: usize,
    window: Option<usize>,
    padding: &[usize],
    device: &Device,
) -> candle_core::Result<Option<Tensor>> {
    let total = offset + seq;
    let hidden = |pad: usize, i: usize, j: usize| {
        let query = offset + i;
        if query < pad {
            return j != query;
        }
        j > query || j < pad || window.is_some_and(|w| j + w <= query)
    };
    let unpadded = padding.iter().all(|&p| p == 0);
    let rows: Vec<usize> = if unpadded { vec![0] } else { padding.to_vec() };
    let values: Vec<f32> = rows
        .iter()
        .flat_map(|&pad| {
            (0..seq).flat_map(move |i| {
                (0..total).map(move |j| {
                    if hidden(pad, i, j) {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
            })
        })
        .collect();
    if values.iter().all(|&v| v == 0.0) {
        return Ok(None);
    }
    if unpadded {
        return Tensor::from_vec(values, (seq, total), device).map(Some);
    }
    Tensor::from_vec(values, (rows.len(), 1, seq, total), device).map(Some)
}

/// cos and sin of position × inverse frequency for the rotary base
/// `theta`, `(max_positions, head_dim/2)`, in f32 as `transformers` computes
/// them.
fn rotary_tables(
    c: &DecoderConfig,
    theta: f64,
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor)> {
    let half = c.head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / c.head_dim as f32))
        .collect();
    let inv_freq = Tensor::from_vec(inv_freq, (1, half), device)?;
    let positions = Tensor::arange(0u32, c.max_positions as u32, device)?
        .to_dtype(DType::F32)?
        .reshape((c.max_positions, 1))?;
    let freqs = positions.broadcast_mul(&inv_freq)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

/// Log-probabilities over the vocabulary (last dimension).
pub(crate) fn log_softmax(logits: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::log_softmax(logits, D::Minus1)
}
