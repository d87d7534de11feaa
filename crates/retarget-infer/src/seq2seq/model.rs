//! A BART-family encoder-decoder on candle-nn: m2m_100 / NLLB (pre-norm) and
//! marian (post-norm); the encoder output and decoder caches every
//! encoder-decoder shares. candle has marian but not m2m_100, and its marian keeps
//! its cache private (beam search must reorder it), so both are written here
//! on the same parts, following `transformers` step by step.

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{LayerNorm, Linear, VarBuilder};

use super::config::{Family, FfnActivation, Seq2SeqConfig};

/// LayerNorm epsilon of every BART-family model (`nn.LayerNorm`'s default).
const LAYER_NORM_EPS: f64 = 1e-5;

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    heads: usize,
    head_dim: usize,
}

struct Ffn {
    fc1: Linear,
    fc2: Linear,
    activation: FfnActivation,
}

struct EncoderLayer {
    self_attn: Attention,
    self_attn_norm: LayerNorm,
    ffn: Ffn,
    final_norm: LayerNorm,
}

struct DecoderLayer {
    self_attn: Attention,
    self_attn_norm: LayerNorm,
    cross_attn: Attention,
    cross_attn_norm: LayerNorm,
    ffn: Ffn,
    final_norm: LayerNorm,
}

/// The encoder's output for a batch of source sentences.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// `(batch, source_len, d_model)`.
    pub states: Tensor,
    /// Additive key mask `(batch, 1, 1, source_len)` over source padding.
    pub mask: Option<Tensor>,
}

/// Decoder caches: self-attention keys/values growing step by step, and the
/// cross-attention keys/values of the encoder states (computed once).
#[derive(Debug, Clone)]
pub struct DecoderState {
    pub(crate) self_kv: Vec<Option<(Tensor, Tensor)>>,
    pub(crate) cross_kv: Vec<(Tensor, Tensor)>,
    pub(crate) cross_mask: Option<Tensor>,
    pub(crate) len: usize,
}

impl DecoderState {
    /// Empty caches for decoding over `encoded` with the cross-attention keys
    /// and values of each layer.
    pub(crate) fn new(encoded: &Encoded, cross_kv: Vec<(Tensor, Tensor)>) -> Self {
        DecoderState {
            self_kv: vec![None; cross_kv.len()],
            cross_kv,
            cross_mask: encoded.mask.clone(),
            len: 0,
        }
    }

    /// Appends new self-attention keys and values of `layer` and returns all
    /// of them so far.
    pub(crate) fn append_self(
        &mut self,
        layer: usize,
        k: Tensor,
        v: Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let (k, v) = match self.self_kv[layer].take() {
            Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
            None => (k, v),
        };
        self.self_kv[layer] = Some((k.clone(), v.clone()));
        Ok((k, v))
    }

    /// Keeps rows `rows` (u32 indices into the batch), in that order: beam
    /// search continuing from the chosen beams.
    pub fn reorder(&mut self, rows: &Tensor) -> candle_core::Result<()> {
        for slot in self.self_kv.iter_mut().flatten() {
            *slot = (slot.0.index_select(rows, 0)?, slot.1.index_select(rows, 0)?);
        }
        for slot in self.cross_kv.iter_mut() {
            *slot = (slot.0.index_select(rows, 0)?, slot.1.index_select(rows, 0)?);
        }
        if let Some(mask) = &self.cross_mask {
            self.cross_mask = Some(mask.index_select(rows, 0)?);
        }
        Ok(())
    }

    /// Decoder positions consumed so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was decoded yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A loaded BART-family encoder-decoder, f32 on the CPU.
pub struct BartModel {
    config: Seq2SeqConfig,
    embed: Tensor,
    encoder: Vec<EncoderLayer>,
    decoder: Vec<DecoderLayer>,
    encoder_norm: Option<LayerNorm>,
    decoder_norm: Option<LayerNorm>,
    head: Linear,
    logits_bias: Option<Tensor>,
    positions: Tensor,
}

fn linear(input: usize, output: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    Ok(Linear::new(
        vb.get((output, input), "weight")?,
        Some(vb.get(output, "bias")?),
    ))
}

fn layer_norm(size: usize, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    Ok(LayerNorm::new(
        vb.get(size, "weight")?,
        vb.get(size, "bias")?,
        LAYER_NORM_EPS,
    ))
}

fn attention(d: usize, heads: usize, vb: VarBuilder) -> candle_core::Result<Attention> {
    Ok(Attention {
        q: linear(d, d, vb.pp("q_proj"))?,
        k: linear(d, d, vb.pp("k_proj"))?,
        v: linear(d, d, vb.pp("v_proj"))?,
        out: linear(d, d, vb.pp("out_proj"))?,
        heads,
        head_dim: d / heads,
    })
}

fn ffn(
    d: usize,
    width: usize,
    activation: FfnActivation,
    vb: &VarBuilder,
) -> candle_core::Result<Ffn> {
    Ok(Ffn {
        fc1: linear(d, width, vb.pp("fc1"))?,
        fc2: linear(width, d, vb.pp("fc2"))?,
        activation,
    })
}

impl BartModel {
    /// Builds the model from `model.*`, `lm_head.*` and `final_logits_bias`.
    pub(crate) fn load(config: Seq2SeqConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let c = &config;
        let d = c.d_model;
        let model = vb.pp("model");
        let embed = if model.contains_tensor("shared.weight") {
            model.get((c.vocab_size, d), "shared.weight")?
        } else {
            model.get((c.vocab_size, d), "encoder.embed_tokens.weight")?
        };
        let encoder = (0..c.encoder_layers)
            .map(|i| {
                let lb = model.pp(format!("encoder.layers.{i}"));
                Ok(EncoderLayer {
                    self_attn: attention(d, c.encoder_heads, lb.pp("self_attn"))?,
                    self_attn_norm: layer_norm(d, lb.pp("self_attn_layer_norm"))?,
                    ffn: ffn(d, c.encoder_ffn, c.activation, &lb)?,
                    final_norm: layer_norm(d, lb.pp("final_layer_norm"))?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let decoder = (0..c.decoder_layers)
            .map(|i| {
                let lb = model.pp(format!("decoder.layers.{i}"));
                Ok(DecoderLayer {
                    self_attn: attention(d, c.decoder_heads, lb.pp("self_attn"))?,
                    self_attn_norm: layer_norm(d, lb.pp("self_attn_layer_norm"))?,
                    cross_attn: attention(d, c.decoder_heads, lb.pp("encoder_attn"))?,
                    cross_attn_norm: layer_norm(d, lb.pp("encoder_attn_layer_norm"))?,
                    ffn: ffn(d, c.decoder_ffn, c.activation, &lb)?,
                    final_norm: layer_norm(d, lb.pp("final_layer_norm"))?,
                })
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let (encoder_norm, decoder_norm) = match c.family {
            Family::M2m100 => (
                Some(layer_norm(d, model.pp("encoder.layer_norm"))?),
                Some(layer_norm(d, model.pp("decoder.layer_norm"))?),
            ),
            Family::Marian | Family::T5 => (None, None),
        };
        let head = if c.tie_word_embeddings || !vb.contains_tensor("lm_head.weight") {
            Linear::new(embed.clone(), None)
        } else {
            Linear::new(vb.get((c.vocab_size, d), "lm_head.weight")?, None)
        };
        let logits_bias = if vb.contains_tensor("final_logits_bias") {
            Some(vb.get((1, c.vocab_size), "final_logits_bias")?)
        } else {
            None
        };
        let positions = match c.family {
            // Positions count from pad + 1 (transformers grows its table the same way).
            Family::M2m100 => {
                let rows = c.pad_token_id as usize + 2 + c.max_positions;
                m2m100_positions(rows, d, c.pad_token_id as usize, vb.device())?
            }
            Family::Marian if model.contains_tensor("encoder.embed_positions.weight") => {
                model.get((c.max_positions, d), "encoder.embed_positions.weight")?
            }
            Family::Marian | Family::T5 => marian_positions(c.max_positions, d, vb.device())?,
        };
        Ok(BartModel {
            config,
            embed,
            encoder,
            decoder,
            encoder_norm,
            decoder_norm,
            head,
            logits_bias,
            positions,
        })
    }

    /// The hyper-parameters.
    pub(crate) fn config(&self) -> &Seq2SeqConfig {
        &self.config
    }

    /// The device the weights live on (inputs are created there).
    pub(crate) fn device(&self) -> &Device {
        self.embed.device()
    }

    fn embed(&self, ids: &Tensor, positions: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, seq) = ids.dims2()?;
        let d = self.config.d_model;
        let mut tokens = self
            .embed
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((batch, seq, d))?;
        if self.config.scale_embedding {
            tokens = (tokens * (d as f64).sqrt() as f32 as f64)?;
        }
        let positions = self
            .positions
            .index_select(&positions.flatten_all()?, 0)?
            .reshape((batch, seq, d))?;
        tokens + positions
    }

    /// Encodes right-padded source ids `(batch, len)`; `lengths` are the real
    /// lengths of the rows.
    pub(crate) fn encode(&self, ids: &Tensor, lengths: &[usize]) -> candle_core::Result<Encoded> {
        let (batch, seq) = ids.dims2()?;
        let device = ids.device();
        let pad = self.config.pad_token_id;
        let positions: Vec<u32> = lengths
            .iter()
            .flat_map(|&len| {
                (0..seq).map(move |i| match self.config.family {
                    // Padding takes the (zero) padding row; tokens count from pad + 1.
                    Family::M2m100 if i >= len => pad,
                    Family::M2m100 => pad + 1 + i as u32,
                    Family::Marian | Family::T5 => i as u32,
                })
            })
            .collect();
        let positions = Tensor::from_vec(positions, (batch, seq), device)?;
        let mut hidden = self.embed(ids, &positions)?;
        let mask = padding_mask(lengths, seq, device)?;
        let pre_norm = self.config.family == Family::M2m100;
        for layer in &self.encoder {
            hidden = sublayer(&hidden, &layer.self_attn_norm, pre_norm, |x| {
                let (k, v) = layer.self_attn.keys_values(x)?;
                layer.self_attn.attend(x, &k, &v, mask.as_ref())
            })?;
            hidden = sublayer(&hidden, &layer.final_norm, pre_norm, |x| {
                layer.ffn.forward(x)
            })?;
        }
        if let Some(norm) = &self.encoder_norm {
            hidden = norm.forward(&hidden)?;
        }
        Ok(Encoded {
            states: hidden,
            mask,
        })
    }

    /// Empty decoder caches over `encoded` (cross-attention keys and values
    /// computed here, once).
    pub(crate) fn start_decoding(&self, encoded: &Encoded) -> candle_core::Result<DecoderState> {
        let cross_kv = self
            .decoder
            .iter()
            .map(|layer| layer.cross_attn.keys_values(&encoded.states))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(DecoderState::new(encoded, cross_kv))
    }

    /// Runs decoder ids `(batch, len)` after the positions in `state` and
    /// returns their logits `(batch, len, vocab)`.
    pub(crate) fn decode(
        &self,
        ids: &Tensor,
        state: &mut DecoderState,
    ) -> candle_core::Result<Tensor> {
        let (batch, seq) = ids.dims2()?;
        let device = ids.device();
        let first = match self.config.family {
            Family::M2m100 => self.config.pad_token_id as usize + 1 + state.len,
            Family::Marian | Family::T5 => state.len,
        };
        let positions = Tensor::arange(first as u32, (first + seq) as u32, device)?
            .unsqueeze(0)?
            .repeat((batch, 1))?;
        let mut hidden = self.embed(ids, &positions)?;
        let causal = causal_mask(state.len, seq, device)?;
        let pre_norm = self.config.family == Family::M2m100;
        for (index, layer) in self.decoder.iter().enumerate() {
            hidden = sublayer(&hidden, &layer.self_attn_norm, pre_norm, |x| {
                let (k, v) = layer.self_attn.keys_values(x)?;
                let (k, v) = state.append_self(index, k, v)?;
                layer.self_attn.attend(x, &k, &v, causal.as_ref())
            })?;
            let (k, v) = &state.cross_kv[index];
            hidden = sublayer(&hidden, &layer.cross_attn_norm, pre_norm, |x| {
                layer.cross_attn.attend(x, k, v, state.cross_mask.as_ref())
            })?;
            hidden = sublayer(&hidden, &layer.final_norm, pre_norm, |x| {
                layer.ffn.forward(x)
            })?;
        }
        state.len += seq;
        if let Some(norm) = &self.decoder_norm {
            hidden = norm.forward(&hidden)?;
        }
        let logits = self.head.forward(&hidden)?;
        match &self.logits_bias {
            Some(bias) => logits.broadcast_add(bias),
            None => Ok(logits),
        }
    }
}

/// The additive key mask `(batch, 1, 1, seq)` over the right padding of
/// rows of real lengths `lengths`; `None` when no row is padded.
pub(crate) fn padding_mask(
    lengths: &[usize],
    seq: usize,
    device: &Device,
) -> candle_core::Result<Option<Tensor>> {
    if lengths.iter().all(|&l| l == seq) {
        return Ok(None);
    }
    let values: Vec<f32> = lengths
        .iter()
        .flat_map(|&len| (0..seq).map(move |j| if j < len { 0.0 } else { f32::NEG_INFINITY }))
        .collect();
    Tensor::from_vec(values, (lengths.len(), 1, 1, seq), device).map(Some)
}

/// The additive causal mask `(seq, past + seq)` of `seq` new decoder
/// positions after `past`; `None` for a single position.
pub(crate) fn causal_mask(
    past: usize,
    seq: usize,
    device: &Device,
) -> candle_core::Result<Option<Tensor>> {
    if seq == 1 {
        return Ok(None);
    }
    let total = past + seq;
    let values: Vec<f32> = (0..seq)
        .flat_map(|i| (0..total).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(values, (seq, total), device).map(Some)
}

/// A residual sub-layer: pre-norm `x + f(norm(x))` (m2m_100) or post-norm
/// `norm(x + f(x))` (marian).
fn sublayer(
    x: &Tensor,
    norm: &LayerNorm,
    pre_norm: bool,
    f: impl FnOnce(&Tensor) -> candle_core::Result<Tensor>,
) -> candle_core::Result<Tensor> {
    if pre_norm {
        x + f(&norm.forward(x)?)?
    } else {
        norm.forward(&(x + f(x)?)?)
    }
}

impl Attention {
    /// Keys and values of `x` `(batch, len, d)` as `(batch, heads, len, head_dim)`.
    fn keys_values(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.heads_first(&self.k.forward(x)?)?,
            self.heads_first(&self.v.forward(x)?)?,
        ))
    }

    fn heads_first(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, seq, _) = x.dims3()?;
        x.reshape((batch, seq, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Queries from `x` attending over `k`, `v` with an additive `mask`.
    fn attend(
        &self,
        x: &Tensor,
        k: &Tensor,
        v: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (batch, seq, d) = x.dims3()?;
        let q = self.heads_first(&self.q.forward(x)?)?;
        let scale = (self.head_dim as f64).powf(-0.5);
        let mut scores = (q.matmul(&k.t()?)? * scale)?;
        if let Some(mask) = mask {
            scores = scores.broadcast_add(mask)?;
        }
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = weights
            .matmul(v)?
            .transpose(1, 2)?
            .reshape((batch, seq, d))?;
        self.out.forward(&out)
    }
}

impl Ffn {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let hidden = self.fc1.forward(x)?;
        let hidden = match self.activation {
            FfnActivation::Relu => hidden.relu()?,
            FfnActivation::Silu => hidden.silu()?,
            FfnActivation::Gelu => hidden.gelu_erf()?,
            FfnActivation::GeluTanh => hidden.gelu()?,
        };
        self.fc2.forward(&hidden)
    }
}

/// m2m_100's sinusoidal table: `[sin | cos]` of position × 10000^(-i/(half-1)),
/// the padding row zero, in f32 as `transformers` computes it.
fn m2m100_positions(
    rows: usize,
    dim: usize,
    padding: usize,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let half = dim / 2;
    let step = (10000f64.ln() / (half as f64 - 1.0)) as f32;
    let freqs: Vec<f32> = (0..half).map(|i| (i as f32 * -step).exp()).collect();
    let mut table = vec![0f32; rows * dim];
    for p in 0..rows {
        if p == padding {
            continue;
        }
        let row = &mut table[p * dim..(p + 1) * dim];
        for (i, &f) in freqs.iter().enumerate() {
            let angle = p as f32 * f;
            row[i] = angle.sin();
            row[half + i] = angle.cos();
        }
    }
    Tensor::from_vec(table, (rows, dim), device)
}

/// marian's sinusoidal table: sines of the even, cosines of the odd
/// frequencies side by side, computed in f64 and rounded to f32.
fn marian_positions(rows: usize, dim: usize, device: &Device) -> candle_core::Result<Tensor> {
    let sentinel = dim.div_ceil(2);
    let mut table = vec![0f32; rows * dim];
    for p in 0..rows {
        let angle = |j: usize| p as f64 / 10000f64.powf((2 * (j / 2)) as f64 / dim as f64);
        let row = &mut table[p * dim..(p + 1) * dim];
        for (k, j) in (0..dim).step_by(2).enumerate() {
            row[k] = angle(j).sin() as f32;
        }
        for (k, j) in (1..dim).step_by(2).enumerate() {
            row[sentinel + k] = angle(j).cos() as f32;
        }
    }
    Tensor::from_vec(table, (rows, dim), device)
}

/// Log-probabilities over the last dimension, in f32.
pub(crate) fn log_probs(logits: &Tensor) -> candle_core::Result<Tensor> {
    candle_nn::ops::log_softmax(&logits.to_dtype(DType::F32)?, D::Minus1)
}
