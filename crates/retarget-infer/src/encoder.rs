//! Masked language models — bert, roberta, xlm-roberta — on candle-nn, and
//! their scoring: the pseudo-log-likelihood (Salazar et al., 2020) of a line
//! is the sum over its tokens of log p(token | the line with that token
//! masked), all masked copies of a line run as one batch.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use candle_core::{Device, IndexOp, Module, Tensor};
use candle_nn::{LayerNorm, Linear, VarBuilder};
use tokenizers::Tokenizer;

use crate::config_keys::ConfigKeys;
use crate::decoder::log_softmax;
use crate::error::{InferError, Result};
use crate::folder::{encode_text, FolderParts};
use crate::score::LineScore;
use crate::tensors::FolderTensors;

/// The hidden activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Gelu,
    GeluTanh,
    Relu,
}

fn act(x: &Tensor, a: Act) -> candle_core::Result<Tensor> {
    match a {
        Act::Gelu => x.gelu_erf(),
        Act::GeluTanh => x.gelu(),
        Act::Relu => x.relu(),
    }
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// A loaded masked language model, f32 on the CPU.
pub struct BertModel {
    words: Tensor,
    positions: Tensor,
    token_types: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    activation: Act,
    head_transform: Linear,
    head_norm: LayerNorm,
    head_bias: Tensor,
    /// roberta counts positions from `padding id + 1`.
    position_offset: Option<u32>,
    hidden: usize,
}

fn linear(input: usize, output: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    Ok(Linear::new(
        vb.get((output, input), "weight")?,
        Some(vb.get(output, "bias")?),
    ))
}

fn layer_norm(size: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<LayerNorm> {
    // Old BERT checkpoints call the parameters gamma and beta.
    let (w, b) = if vb.contains_tensor("weight") {
        ("weight", "bias")
    } else {
        ("gamma", "beta")
    };
    Ok(LayerNorm::new(vb.get(size, w)?, vb.get(size, b)?, eps))
}

impl BertModel {
    fn load(
        keys: &ConfigKeys,
        roberta: bool,
        vb: VarBuilder,
    ) -> Result<std::result::Result<Self, candle_core::Error>> {
        let hidden = keys.count("hidden_size")?;
        let heads = keys.count("num_attention_heads")?;
        if hidden % heads != 0 {
            return Err(InferError::model(
                keys.path(),
                format!("hidden_size {hidden} is not divisible by {heads} heads"),
            ));
        }
        let inter = keys.count("intermediate_size")?;
        let layers = keys.count("num_hidden_layers")?;
        let vocab = keys.count("vocab_size")?;
        let positions = keys.count("max_position_embeddings")?;
        let types = keys.optional_count("type_vocab_size")?.unwrap_or(2);
        let eps = keys.number("layer_norm_eps", 1e-12)?;
        let activation = match keys.text("hidden_act", "gelu")? {
            "gelu" => Act::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" => Act::GeluTanh,
            "relu" => Act::Relu,
            other => {
                return Err(InferError::model(
                    keys.path(),
                    format!("activation `{other}` is not supported"),
                ))
            }
        };
        if keys.text("position_embedding_type", "absolute")? != "absolute" {
            return Err(InferError::model(
                keys.path(),
                "only absolute position embeddings are supported",
            ));
        }
        let pad = keys.id("pad_token_id", Some(if roberta { 1 } else { 0 }))?;
        let head = if roberta {
            "lm_head.bias"
        } else {
            "cls.predictions.bias"
        };
        if !vb.contains_tensor(head) {
            return Err(InferError::model(
                keys.path().parent().unwrap_or(keys.path()),
                format!("no masked-LM head (`{head}`): a bare encoder cannot score text; use a *ForMaskedLM checkpoint"),
            ));
        }
        Ok((|| {
            let base = vb.pp(if roberta { "roberta" } else { "bert" });
            let emb = base.pp("embeddings");
            let words = emb.get((vocab, hidden), "word_embeddings.weight")?;
            let layers = (0..layers)
                .map(|i| {
                    let lb = base.pp(format!("encoder.layer.{i}"));
                    Ok(Layer {
                        q: linear(hidden, hidden, lb.pp("attention.self.query"))?,
                        k: linear(hidden, hidden, lb.pp("attention.self.key"))?,
                        v: linear(hidden, hidden, lb.pp("attention.self.value"))?,
                        attention_out: linear(hidden, hidden, lb.pp("attention.output.dense"))?,
                        attention_norm: layer_norm(
                            hidden,
                            eps,
                            lb.pp("attention.output.LayerNorm"),
                        )?,
                        intermediate: linear(hidden, inter, lb.pp("intermediate.dense"))?,
                        output: linear(inter, hidden, lb.pp("output.dense"))?,
                        output_norm: layer_norm(hidden, eps, lb.pp("output.LayerNorm"))?,
                    })
                })
                .collect::<candle_core::Result<Vec<_>>>()?;
            let (head_transform, head_norm, head_bias) = if roberta {
                let hb = vb.pp("lm_head");
                (
                    linear(hidden, hidden, hb.pp("dense"))?,
                    layer_norm(hidden, eps, hb.pp("layer_norm"))?,
                    hb.get(vocab, "bias")?,
                )
            } else {
                let hb = vb.pp("cls.predictions");
                (
                    linear(hidden, hidden, hb.pp("transform.dense"))?,
                    layer_norm(hidden, eps, hb.pp("transform.LayerNorm"))?,
                    hb.get(vocab, "bias")?,
                )
            };
            Ok(BertModel {
                positions: emb.get((positions, hidden), "position_embeddings.weight")?,
                token_types: emb.get((types, hidden), "token_type_embeddings.weight")?,
                embedding_norm: layer_norm(hidden, eps, emb.pp("LayerNorm"))?,
                words,
                layers,
                heads,
                activation,
                head_transform,
                head_norm,
                head_bias,
                position_offset: roberta.then_some(pad + 1),
                hidden,
            })
        })())
    }

    /// The device the weights live on (inputs are created there).
    fn device(&self) -> &Device {
        self.words.device()
    }

    /// Masked-LM logits `(batch, len, vocab)` of unpadded ids `(batch, len)`.
    pub fn logits(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, seq) = ids.dims2()?;
        let first = self.position_offset.unwrap_or(0);
        let positions = Tensor::arange(first, first + seq as u32, ids.device())?;
        let words =
            self.words
                .index_select(&ids.flatten_all()?, 0)?
                .reshape((batch, seq, self.hidden))?;
        let embedded = words
            .broadcast_add(&self.positions.index_select(&positions, 0)?)?
            .broadcast_add(&self.token_types.i(0)?)?;
        let mut x = self.embedding_norm.forward(&embedded)?;
        let head_dim = self.hidden / self.heads;
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((batch, seq, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        for layer in &self.layers {
            let (q, k, v) = (
                split(layer.q.forward(&x)?)?,
                split(layer.k.forward(&x)?)?,
                split(layer.v.forward(&x)?)?,
            );
            let scores = (q.matmul(&k.t()?)? * (head_dim as f64).powf(-0.5))?;
            let context = candle_nn::ops::softmax_last_dim(&scores)?
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((batch, seq, self.hidden))?;
            x = layer
                .attention_norm
                .forward(&(layer.attention_out.forward(&context)? + &x)?)?;
            let inner = act(&layer.intermediate.forward(&x)?, self.activation)?;
            x = layer
                .output_norm
                .forward(&(layer.output.forward(&inner)? + &x)?)?;
        }
        let h = self
            .head_norm
            .forward(&act(&self.head_transform.forward(&x)?, self.activation)?)?;
        h.broadcast_matmul(&self.words.t()?)?
            .broadcast_add(&self.head_bias)
    }
}

/// A masked language model with its tokenizer.
pub struct MaskedLanguageModel {
    /// The model folder.
    pub path: PathBuf,
    /// The network.
    pub model: BertModel,
    /// `tokenizer.json`.
    pub tokenizer: Tokenizer,
    mask_id: u32,
    special_ids: HashSet<u32>,
    max_positions: usize,
}

impl MaskedLanguageModel {
    pub(crate) fn from_parts(
        dir: &Path,
        parts: FolderParts,
        model_type: &str,
        device: &Device,
    ) -> Result<Self> {
        let keys = ConfigKeys::new(dir.join("config.json"), parts.config.raw());
        let roberta = model_type != "bert";
        let model = BertModel::load(
            &keys,
            roberta,
            FolderTensors::var_builder(&parts.weights, device),
        )?
        .map_err(|e| InferError::model(dir, retarget_model::gguf::candle_message(&e)))?;
        let mask_id = ["[MASK]", "<mask>"]
            .iter()
            .find_map(|t| parts.tokenizer.token_to_id(t))
            .ok_or_else(|| {
                InferError::model(
                    dir.join("tokenizer.json"),
                    "no mask token ([MASK] or <mask>)",
                )
            })?;
        let special_ids = parts
            .tokenizer
            .get_added_tokens_decoder()
            .into_iter()
            .filter(|(_, token)| token.special)
            .map(|(id, _)| id)
            .collect();
        let max_positions =
            keys.count("max_position_embeddings")? - model.position_offset.unwrap_or(0) as usize;
        Ok(MaskedLanguageModel {
            path: dir.to_path_buf(),
            model,
            tokenizer: parts.tokenizer,
            mask_id,
            special_ids,
            max_positions,
        })
    }

    /// The line's ids (with the tokenizer's special tokens).
    fn ids(&self, text: &str) -> Result<Vec<u32>> {
        let ids = encode_text(&self.tokenizer, text, true)?;
        if ids.len() > self.max_positions {
            return Err(InferError::Request(format!(
                "{} tokens, longer than the model's {} positions",
                ids.len(),
                self.max_positions
            )));
        }
        Ok(ids)
    }

    /// The pseudo-log-likelihood of one line: every non-special token masked
    /// in turn (one batch row per token). Also returns the logits of the
    /// unmasked line `(tokens, vocab)`.
    pub fn score_line(&self, text: &str) -> Result<(LineScore, Tensor)> {
        let ids = self.ids(text)?;
        let input = Tensor::new(ids.as_slice(), self.model.device())?.unsqueeze(0)?;
        let plain = self.model.logits(&input)?.squeeze(0)?;
        let scored: Vec<usize> = (0..ids.len())
            .filter(|&i| !self.special_ids.contains(&ids[i]))
            .collect();
        if scored.is_empty() {
            return Ok((
                LineScore {
                    tokens: 0,
                    nll: 0.0,
                },
                plain,
            ));
        }
        let masked: Vec<u32> = scored
            .iter()
            .flat_map(|&i| {
                ids.iter()
                    .enumerate()
                    .map(move |(j, &id)| if j == i { self.mask_id } else { id })
            })
            .collect();
        let masked = Tensor::from_vec(masked, (scored.len(), ids.len()), self.model.device())?;
        let logits = self.model.logits(&masked)?;
        let mut nll = 0.0f64;
        for (row, &i) in scored.iter().enumerate() {
            let log_probs = log_softmax(&logits.i((row, i))?)?;
            nll -= log_probs.i(ids[i] as usize)?.to_scalar::<f32>()? as f64;
        }
        Ok((
            LineScore {
                tokens: scored.len(),
                nll,
            },
            plain,
        ))
    }
}
