//! t5 / mt5 (and MADLAD) on candle-nn, following `transformers`' T5: RMS
//! layer norms without bias, unscaled attention with relative position
//! buckets (computed by the first layer of each stack, shared by the
//! others), a plain or gated MLP, the head scaled by `d_model^-0.5` when it
//! is the shared embedding.

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::config::{FfnActivation, Seq2SeqConfig, T5Settings};
use super::model::{causal_mask, padding_mask, DecoderState, Encoded};

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    heads: usize,
    head_dim: usize,
}

struct Ffn {
    wi: Linear,
    wi_1: Option<Linear>,
    wo: Linear,
    activation: FfnActivation,
}

struct Block {
    self_attn: Attention,
    self_norm: Tensor,
    cross: Option<(Attention, Tensor)>,
    ffn: Ffn,
    ffn_norm: Tensor,
}

/// A loaded t5, f32 on the CPU.
pub struct T5Model {
    config: Seq2SeqConfig,
    settings: T5Settings,
    embed: Tensor,
    encoder: Vec<Block>,
    decoder: Vec<Block>,
    encoder_bias: Tensor,
    decoder_bias: Tensor,
    encoder_norm: Tensor,
    decoder_norm: Tensor,
    head: Linear,
}

fn linear(input: usize, output: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    Ok(Linear::new(vb.get((output, input), "weight")?, None))
}

fn attention(c: &Seq2SeqConfig, s: &T5Settings, vb: VarBuilder) -> candle_core::Result<Attention> {
    let inner = c.encoder_heads * s.head_dim;
    Ok(Attention {
        q: linear(c.d_model, inner, vb.pp("q"))?,
        k: linear(c.d_model, inner, vb.pp("k"))?,
        v: linear(c.d_model, inner, vb.pp("v"))?,
        o: linear(inner, c.d_model, vb.pp("o"))?,
        heads: c.encoder_heads,
        head_dim: s.head_dim,
    })
}

/// T5's layer norm: `x / sqrt(mean(x²) + eps) * weight`, no mean, no bias.
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    candle_nn::ops::rms_norm(x, weight, eps as f32)
}

impl T5Model {
    pub(crate) fn load(config: Seq2SeqConfig, vb: VarBuilder) -> candle_core::Result<Self> {
        let settings = config.t5.clone().expect("a t5 configuration");
        let (c, s) = (&config, &settings);
        let embed = vb.get((c.vocab_size, c.d_model), "shared.weight")?;
        let stack = |name: &str,
                     layers: usize,
                     decoder: bool|
         -> candle_core::Result<(Vec<Block>, Tensor, Tensor)> {
            let sb = vb.pp(name);
            let mut blocks = Vec::with_capacity(layers);
            for i in 0..layers {
                let lb = sb.pp(format!("block.{i}.layer"));
                let ff = if decoder { 2 } else { 1 };
                let fb = lb.pp(format!("{ff}.DenseReluDense"));
                let ffn = if s.gated {
                    Ffn {
                        wi: linear(c.d_model, c.encoder_ffn, fb.pp("wi_0"))?,
                        wi_1: Some(linear(c.d_model, c.encoder_ffn, fb.pp("wi_1"))?),
                        wo: linear(c.encoder_ffn, c.d_model, fb.pp("wo"))?,
                        activation: c.activation,
                    }
                } else {
                    Ffn {
                        wi: linear(c.d_model, c.encoder_ffn, fb.pp("wi"))?,
                        wi_1: None,
                        wo: linear(c.encoder_ffn, c.d_model, fb.pp("wo"))?,
                        activation: c.activation,
                    }
                };
                let cross = if decoder {
                    Some((
                        attention(c, s, lb.pp("1.EncDecAttention"))?,
                        lb.get(c.d_model, "1.layer_norm.weight")?,
                    ))
                } else {
                    None
                };
                blocks.push(Block {
                    self_attn: attention(c, s, lb.pp("0.SelfAttention"))?,
                    self_norm: lb.get(c.d_model, "0.layer_norm.weight")?,
                    cross,
                    ffn,
                    ffn_norm: lb.get(c.d_model, format!("{ff}.layer_norm.weight").as_str())?,
                });
            }
            let bias = sb.get(
                (s.buckets, c.encoder_heads),
                "block.0.layer.0.SelfAttention.relative_attention_bias.weight",
            )?;
            let norm = sb.get(c.d_model, "final_layer_norm.weight")?;
            Ok((blocks, bias, norm))
        };
        let (encoder, encoder_bias, encoder_norm) = stack("encoder", c.encoder_layers, false)?;
        let (decoder, decoder_bias, decoder_norm) = stack("decoder", c.decoder_layers, true)?;
        let head = if c.tie_word_embeddings || !vb.contains_tensor("lm_head.weight") {
            Linear::new(embed.clone(), None)
        } else {
            Linear::new(vb.get((c.vocab_size, c.d_model), "lm_head.weight")?, None)
        };
        Ok(T5Model {
            config,
            settings,
            embed,
            encoder,
            decoder,
            encoder_bias,
            decoder_bias,
            encoder_norm,
            decoder_norm,
            head,
        })
    }

    pub(crate) fn config(&self) -> &Seq2SeqConfig {
        &self.config
    }

    /// The device the weights live on (inputs are created there).
    pub(crate) fn device(&self) -> &Device {
        self.embed.device()
    }

    fn embed(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, seq) = ids.dims2()?;
        self.embed
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((batch, seq, self.config.d_model))
    }

    /// The position bias `(1, heads, queries, keys)` of queries at
    /// `first_query..first_query + queries` over keys `0..keys`.
    fn position_bias(
        &self,
        table: &Tensor,
        first_query: usize,
        queries: usize,
        keys: usize,
        bidirectional: bool,
        device: &Device,
    ) -> candle_core::Result<Tensor> {
        let s = &self.settings;
        let buckets: Vec<u32> = (first_query..first_query + queries)
            .flat_map(|q| {
                (0..keys).map(move |k| {
                    relative_bucket(
                        k as i64 - q as i64,
                        bidirectional,
                        s.buckets,
                        s.max_distance,
                    )
                })
            })
            .collect();
        let buckets = Tensor::from_vec(buckets, queries * keys, device)?;
        table
            .index_select(&buckets, 0)?
            .reshape((queries, keys, self.config.encoder_heads))?
            .permute((2, 0, 1))?
            .unsqueeze(0)
    }

    pub(crate) fn encode(&self, ids: &Tensor, lengths: &[usize]) -> candle_core::Result<Encoded> {
        let seq = ids.dim(1)?;
        let device = ids.device();
        let mask = padding_mask(lengths, seq, device)?;
        let mut bias = self.position_bias(&self.encoder_bias, 0, seq, seq, true, device)?;
        if let Some(mask) = &mask {
            bias = bias.broadcast_add(mask)?;
        }
        let eps = self.settings.eps;
        let mut hidden = self.embed(ids)?;
        for block in &self.encoder {
            let normed = rms_norm(&hidden, &block.self_norm, eps)?;
            let (k, v) = block.self_attn.keys_values(&normed)?;
            hidden = (&hidden + block.self_attn.attend(&normed, &k, &v, Some(&bias))?)?;
            hidden = (&hidden
                + block
                    .ffn
                    .forward(&rms_norm(&hidden, &block.ffn_norm, eps)?)?)?;
        }
        Ok(Encoded {
            states: rms_norm(&hidden, &self.encoder_norm, eps)?,
            mask,
        })
    }

    pub(crate) fn start_decoding(&self, encoded: &Encoded) -> candle_core::Result<DecoderState> {
        let cross_kv = self
            .decoder
            .iter()
            .map(|b| {
                b.cross
                    .as_ref()
                    .expect("decoder blocks attend to the encoder")
                    .0
                    .keys_values(&encoded.states)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(DecoderState::new(encoded, cross_kv))
    }

    pub(crate) fn decode(
        &self,
        ids: &Tensor,
        state: &mut DecoderState,
    ) -> candle_core::Result<Tensor> {
        let (_, seq) = ids.dims2()?;
        let device = ids.device();
        let total = state.len + seq;
        let mut bias =
            self.position_bias(&self.decoder_bias, state.len, seq, total, false, device)?;
        if let Some(causal) = causal_mask(state.len, seq, device)? {
            bias = bias.broadcast_add(&causal)?;
        }
        let eps = self.settings.eps;
        let mut hidden = self.embed(ids)?;
        for (index, block) in self.decoder.iter().enumerate() {
            let normed = rms_norm(&hidden, &block.self_norm, eps)?;
            let (k, v) = block.self_attn.keys_values(&normed)?;
            let (k, v) = state.append_self(index, k, v)?;
            hidden = (&hidden + block.self_attn.attend(&normed, &k, &v, Some(&bias))?)?;
            let (cross, cross_norm) = block
                .cross
                .as_ref()
                .expect("decoder blocks attend to the encoder");
            let normed = rms_norm(&hidden, cross_norm, eps)?;
            let (ck, cv) = &state.cross_kv[index];
            hidden = (&hidden + cross.attend(&normed, ck, cv, state.cross_mask.as_ref())?)?;
            hidden = (&hidden
                + block
                    .ffn
                    .forward(&rms_norm(&hidden, &block.ffn_norm, eps)?)?)?;
        }
        state.len += seq;
        let mut hidden = rms_norm(&hidden, &self.decoder_norm, eps)?;
        if self.settings.scale_output {
            hidden = (hidden * (self.config.d_model as f64).powf(-0.5))?;
        }
        self.head.forward(&hidden)
    }
}

impl Attention {
    fn heads_first(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, seq, _) = x.dims3()?;
        x.reshape((batch, seq, self.heads, self.head_dim))?
            .transpose(1, 2)?
            .contiguous()
    }

    fn keys_values(&self, x: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        Ok((
            self.heads_first(&self.k.forward(x)?)?,
            self.heads_first(&self.v.forward(x)?)?,
        ))
    }

    /// Unscaled attention with an additive bias (positions and masks).
    fn attend(
        &self,
        x: &Tensor,
        k: &Tensor,
        v: &Tensor,
        bias: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (batch, seq, _) = x.dims3()?;
        let q = self.heads_first(&self.q.forward(x)?)?;
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(bias) = bias {
            scores = scores.broadcast_add(bias)?;
        }
        let weights = candle_nn::ops::softmax_last_dim(&scores.to_dtype(DType::F32)?)?;
        let out = weights.matmul(v)?.transpose(1, 2)?.reshape((
            batch,
            seq,
            self.heads * self.head_dim,
        ))?;
        self.o.forward(&out)
    }
}

impl Ffn {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let hidden = self.wi.forward(x)?;
        let hidden = match self.activation {
            FfnActivation::Relu => hidden.relu()?,
            FfnActivation::Silu => hidden.silu()?,
            FfnActivation::Gelu => hidden.gelu_erf()?,
            FfnActivation::GeluTanh => hidden.gelu()?,
        };
        let hidden = match &self.wi_1 {
            Some(wi_1) => (hidden * wi_1.forward(x)?)?,
            None => hidden,
        };
        self.wo.forward(&hidden)
    }
}

/// T5's relative position bucket of `relative = key − query`: exact buckets
/// for small distances, logarithmic ones up to `max_distance`, direction
/// split in two halves when `bidirectional`; the logarithm in f32 as
/// PyTorch computes it, so that bucket boundaries agree.
fn relative_bucket(relative: i64, bidirectional: bool, buckets: usize, max_distance: usize) -> u32 {
    let mut buckets = buckets as i64;
    let mut bucket = 0i64;
    let distance = if bidirectional {
        buckets /= 2;
        if relative > 0 {
            bucket += buckets;
        }
        relative.abs()
    } else {
        (-relative).max(0)
    };
    let max_exact = buckets / 2;
    if distance < max_exact {
        return (bucket + distance) as u32;
    }
    let scale = (max_distance as f64 / max_exact as f64).ln();
    let log_ratio = (distance as f32 / max_exact as f32).ln() / scale as f32;
    let large = max_exact + (log_ratio * (buckets - max_exact) as f32) as i64;
    (bucket + large.min(buckets - 1)) as u32
}

#[cfg(test)]
mod tests {
    use super::relative_bucket;

    #[test]
    fn buckets_match_transformers() {
        // transformers' _relative_position_bucket with 32 buckets, max distance 128.
        let encoder: Vec<u32> = [-200, -64, -20, -8, -1, 0, 1, 7, 8, 20, 64, 200]
            .iter()
            .map(|&r| relative_bucket(r, true, 32, 128))
            .collect();
        assert_eq!(encoder, [15, 14, 10, 8, 1, 0, 17, 23, 24, 26, 30, 31]);
        let decoder: Vec<u32> = [-200, -64, -20, -16, -15, -1, 0, 5]
            .iter()
            .map(|&r| relative_bucket(r, false, 32, 128))
            .collect();
        assert_eq!(decoder, [31, 26, 17, 16, 15, 1, 0, 0]);
    }
}
