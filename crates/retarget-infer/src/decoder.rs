//! A llama-family decoder (llama, mistral, qwen2, SmolLM) on candle-nn.
//!
//! Written here rather than taken from `candle-transformers`: its llama
//! returns the logits of the last position only, while scoring text needs
//! every position's logits and the logit lens needs the hidden states of every
//! layer. The arithmetic follows `transformers`' `LlamaModel` step by step
//! (f32 RMSNorm, rotate-half rotary positions, grouped-query attention with a
//! causal mask, SwiGLU MLP) so that logits agree to float rounding.

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Linear, VarBuilder};

use crate::config::DecoderConfig;

/// Which positions' logits a forward pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// Every position: `(batch, seq, vocab)`.
    All,
    /// The last position only: `(batch, 1, vocab)` (prefill and decoding).
    Last,
}

/// Keys and values of the positions seen so far, per layer.
#[derive(Debug, Clone)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl KvCache {
    /// An empty cache for `layers` layers.
    pub fn new(layers: usize) -> Self {
        KvCache {
            layers: vec![None; layers],
            len: 0,
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

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
}

struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

struct Layer {
    input_norm: Tensor,
    attention: Attention,
    post_attention_norm: Tensor,
    mlp: Mlp,
}

/// A loaded decoder, f32 on the CPU.
pub struct Decoder {
    config: DecoderConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Tensor,
    head: Linear,
    cos: Tensor,
    sin: Tensor,
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
            let attention = Attention {
                q: linear(c.hidden_size, q_out, c.qkv_bias, ab.pp("q_proj"))?,
                k: linear(c.hidden_size, kv_out, c.qkv_bias, ab.pp("k_proj"))?,
                v: linear(c.hidden_size, kv_out, c.qkv_bias, ab.pp("v_proj"))?,
                o: linear(q_out, c.hidden_size, c.output_bias, ab.pp("o_proj"))?,
                heads: c.num_heads,
                kv_heads: c.num_kv_heads,
                head_dim: c.head_dim,
            };
            let mb = lb.pp("mlp");
            let mlp = Mlp {
                gate: linear(
                    c.hidden_size,
                    c.intermediate_size,
                    c.mlp_bias,
                    mb.pp("gate_proj"),
                )?,
                up: linear(
                    c.hidden_size,
                    c.intermediate_size,
                    c.mlp_bias,
                    mb.pp("up_proj"),
                )?,
                down: linear(
                    c.intermediate_size,
                    c.hidden_size,
                    c.mlp_bias,
                    mb.pp("down_proj"),
                )?,
            };
            layers.push(Layer {
                input_norm: lb.get(c.hidden_size, "input_layernorm.weight")?,
                attention,
                post_attention_norm: lb.get(c.hidden_size, "post_attention_layernorm.weight")?,
                mlp,
            });
        }
        let norm = model.get(c.hidden_size, "norm.weight")?;
        let head = if c.tie_word_embeddings {
            Linear::new(embed.clone(), None)
        } else {
            Linear::new(
                vb.get((c.vocab_size, c.hidden_size), "lm_head.weight")?,
                None,
            )
        };
        let (cos, sin) = rotary_tables(c, vb.device())?;
        Ok(Decoder {
            config,
            embed,
            layers,
            norm,
            head,
            cos,
            sin,
        })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
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
        let (batch, seq) = ids.dims2()?;
        let offset = cache.len;
        let mut hidden = self.embed.index_select(&ids.flatten_all()?, 0)?.reshape((
            batch,
            seq,
            self.config.hidden_size,
        ))?;
        let mut masks: Vec<(Option<usize>, Option<Tensor>)> = Vec::new();
        for &window in &self.config.windows {
            if !masks.iter().any(|(w, _)| *w == window) {
                masks.push((window, attention_mask(seq, offset, window, ids.device())?));
            }
        }
        let eps = self.config.rms_norm_eps as f32;
        let cos = self.cos.narrow(0, offset, seq)?;
        let sin = self.sin.narrow(0, offset, seq)?;
        for ((layer, slot), window) in self
            .layers
            .iter()
            .zip(cache.layers.iter_mut())
            .zip(&self.config.windows)
        {
            let mask = masks
                .iter()
                .find(|(w, _)| w == window)
                .and_then(|(_, m)| m.as_ref());
            let normed = candle_nn::ops::rms_norm(&hidden, &layer.input_norm, eps)?;
            let attended = layer.attention.forward(&normed, &cos, &sin, mask, slot)?;
            hidden = (hidden + attended)?;
            let normed = candle_nn::ops::rms_norm(&hidden, &layer.post_attention_norm, eps)?;
            hidden = (&hidden + layer.mlp.forward(&normed)?)?;
        }
        cache.len += seq;
        if positions == Positions::Last {
            hidden = hidden.narrow(1, seq - 1, 1)?;
        }
        let hidden = candle_nn::ops::rms_norm(&hidden, &self.norm, eps)?;
        self.head.forward(&hidden)
    }
}

impl Attention {
    fn forward(
        &self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: Option<&Tensor>,
        cache: &mut Option<(Tensor, Tensor)>,
    ) -> candle_core::Result<Tensor> {
        let (batch, seq, _) = x.dims3()?;
        let heads_first = |t: Tensor, heads: usize| -> candle_core::Result<Tensor> {
            t.reshape((batch, seq, heads, self.head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let q = heads_first(self.q.forward(x)?, self.heads)?;
        let k = heads_first(self.k.forward(x)?, self.kv_heads)?;
        let v = heads_first(self.v.forward(x)?, self.kv_heads)?;
        let q = candle_nn::rotary_emb::rope(&q, cos, sin)?;
        let k = candle_nn::rotary_emb::rope(&k, cos, sin)?;
        let (k, v) = match cache.take() {
            Some((past_k, past_v)) => (
                Tensor::cat(&[&past_k, &k], 2)?,
                Tensor::cat(&[&past_v, &v], 2)?,
            ),
            None => (k, v),
        };
        *cache = Some((k.clone(), v.clone()));
        let group = self.heads / self.kv_heads;
        let k = repeat_kv(&k, group)?;
        let v = repeat_kv(&v, group)?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let mut scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = weights.matmul(&v)?;
        let out = out
            .transpose(1, 2)?
            .reshape((batch, seq, self.heads * self.head_dim))?;
        self.o.forward(&out)
    }
}

impl Mlp {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let gate = self.gate.forward(x)?.silu()?;
        self.down.forward(&(gate * self.up.forward(x)?)?)
    }
}

/// Key/value heads repeated for the query heads that share them.
fn repeat_kv(x: &Tensor, group: usize) -> candle_core::Result<Tensor> {
    if group == 1 {
        return Ok(x.clone());
    }
    let (batch, kv_heads, seq, head_dim) = x.dims4()?;
    Tensor::cat(&vec![x; group], 2)?.reshape((batch, kv_heads * group, seq, head_dim))
}

/// The additive mask of `seq` new positions after `offset` cached ones:
/// `-inf` where a key lies in the future, or (with a `window`) `window` or more
/// positions in the past, as `transformers`' sliding-window mask; `None` when
/// nothing is masked.
fn attention_mask(
    seq: usize,
    offset: usize,
    window: Option<usize>,
    device: &Device,
) -> candle_core::Result<Option<Tensor>> {
    let total = offset + seq;
    let hidden = |i: usize, j: usize| j > offset + i || window.is_some_and(|w| j + w <= offset + i);
    if !(0..seq).any(|i| (0..total).any(|j| hidden(i, j))) {
        return Ok(None);
    }
    let values: Vec<f32> = (0..seq)
        .flat_map(|i| (0..total).map(move |j| if hidden(i, j) { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(values, (seq, total), device).map(Some)
}

/// cos and sin of position × inverse frequency, `(max_positions, head_dim/2)`,
/// in f32 as `transformers` computes them.
fn rotary_tables(c: &DecoderConfig, device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let half = c.head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| 1.0 / (c.rope_theta as f32).powf((2 * i) as f32 / c.head_dim as f32))
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
