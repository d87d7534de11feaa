//! The one table that knows, per architecture, which tensor is the input
//! embedding, which is the output head, which tensors belong to which layer,
//! and which entries are buffers or tied aliases rather than parameters.

/// What a tensor is for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "role")]
pub enum TensorRole {
    /// The input token embedding (rows = vocabulary).
    InputEmbedding,
    /// The output projection to the vocabulary (rows = vocabulary).
    OutputHead,
    /// A per-token bias of the output head (length = vocabulary).
    OutputBias,
    /// Another name for the input embedding that the model ties to it
    /// (e.g. T5's `encoder.embed_tokens.weight`).
    TiedAlias,
    /// Learned or stored position embeddings.
    PositionEmbedding,
    /// A tensor inside a numbered layer of a stack (`decoder` for the
    /// decoder of encoder-decoder models, else `layers`).
    Layer {
        /// The stack the layer belongs to.
        stack: &'static str,
        /// Layer number.
        index: usize,
    },
    /// A non-parameter buffer that checkpoints sometimes carry.
    Buffer,
    /// Anything else (final norms, pooler, head transforms).
    Other,
}

impl TensorRole {
    /// Whether the tensor's rows are the vocabulary (embedding, head, head
    /// bias, tied aliases of the embedding).
    pub fn is_vocabulary(&self) -> bool {
        matches!(
            self,
            TensorRole::InputEmbedding
                | TensorRole::OutputHead
                | TensorRole::OutputBias
                | TensorRole::TiedAlias
        )
    }
}

/// The kind of network inference runs a `model_type` as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// A decoder-only language model.
    Decoder,
    /// A masked language model (bert-like encoder).
    Encoder,
    /// An encoder-decoder translation model.
    Seq2Seq,
}

/// One `model_type` retarget knows: its tensor roles (the table row it is
/// listed in), and whether inference runs it. The table is the one registry
/// of model types: every other list is derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelType {
    /// The `model_type` in `config.json`.
    pub name: &'static str,
    /// What inference runs it as, if it does.
    pub runs_as: Option<Network>,
}

const fn runs(name: &'static str, network: Network) -> ModelType {
    ModelType {
        name,
        runs_as: Some(network),
    }
}

const fn known(name: &'static str) -> ModelType {
    ModelType {
        name,
        runs_as: None,
    }
}

fn all_model_types() -> impl Iterator<Item = &'static ModelType> {
    TABLE.iter().flat_map(|a| a.model_types.iter())
}

/// One row of the table.
#[derive(Debug)]
pub struct Architecture {
    /// Family name shown to users.
    pub family: &'static str,
    /// `model_type` values of this family, and what inference runs them as.
    pub model_types: &'static [ModelType],
    /// Candidate names of the input embedding, most common first.
    pub embedding: &'static [&'static str],
    /// Candidate names of the output head.
    pub head: &'static [&'static str],
    /// Candidate names of the output head's bias.
    pub head_bias: &'static [&'static str],
    /// Names tied to the input embedding.
    pub tied_aliases: &'static [&'static str],
    /// Name fragments of position embeddings.
    pub positions: &'static [&'static str],
    /// Layer stacks: (name prefix before the layer number, stack name).
    pub stacks: &'static [(&'static str, &'static str)],
    /// Suffixes of non-parameter buffers.
    pub buffers: &'static [&'static str],
    /// Whether `transformers` ties the head to the embedding when the config
    /// does not say.
    pub ties_by_default: bool,
}

const DECODER_ONLY: Architecture = Architecture {
    family: "llama-like decoder",
    model_types: &[
        runs("llama", Network::Decoder),
        runs("mistral", Network::Decoder),
        known("mixtral"),
        runs("qwen2", Network::Decoder),
        runs("qwen3", Network::Decoder),
        runs("gemma", Network::Decoder),
        known("gemma2"),
        runs("gemma3_text", Network::Decoder),
        known("smollm3"),
        known("phi3"),
        known("olmo"),
        known("olmo2"),
        known("granite"),
        known("stablelm"),
        known("starcoder2"),
        known("cohere"),
    ],
    embedding: &["model.embed_tokens.weight"],
    head: &["lm_head.weight"],
    head_bias: &[],
    tied_aliases: &[],
    positions: &[],
    stacks: &[("model.layers.", "layers")],
    buffers: &["rotary_emb.inv_freq"],
    ties_by_default: false,
};

const TABLE: &[Architecture] = &[
    DECODER_ONLY,
    Architecture {
        family: "gpt2",
        model_types: &[known("gpt2")],
        embedding: &["transformer.wte.weight", "wte.weight"],
        head: &["lm_head.weight"],
        head_bias: &[],
        tied_aliases: &[],
        positions: &["wpe.weight"],
        stacks: &[("transformer.h.", "layers"), ("h.", "layers")],
        buffers: &[".attn.bias", ".attn.masked_bias"],
        ties_by_default: true,
    },
    Architecture {
        family: "bert",
        model_types: &[runs("bert", Network::Encoder)],
        embedding: &[
            "bert.embeddings.word_embeddings.weight",
            "embeddings.word_embeddings.weight",
        ],
        head: &["cls.predictions.decoder.weight"],
        head_bias: &["cls.predictions.bias", "cls.predictions.decoder.bias"],
        tied_aliases: &[],
        positions: &["embeddings.position_embeddings.weight"],
        stacks: &[
            ("bert.encoder.layer.", "layers"),
            ("encoder.layer.", "layers"),
        ],
        buffers: &["embeddings.position_ids", "embeddings.token_type_ids"],
        ties_by_default: true,
    },
    Architecture {
        family: "xlm-roberta",
        model_types: &[
            runs("xlm-roberta", Network::Encoder),
            runs("roberta", Network::Encoder),
            known("camembert"),
        ],
        embedding: &[
            "roberta.embeddings.word_embeddings.weight",
            "embeddings.word_embeddings.weight",
        ],
        head: &["lm_head.decoder.weight"],
        head_bias: &["lm_head.bias", "lm_head.decoder.bias"],
        tied_aliases: &[],
        positions: &["embeddings.position_embeddings.weight"],
        stacks: &[
            ("roberta.encoder.layer.", "layers"),
            ("encoder.layer.", "layers"),
        ],
        buffers: &["embeddings.position_ids", "embeddings.token_type_ids"],
        ties_by_default: true,
    },
    Architecture {
        family: "t5",
        model_types: &[
            runs("t5", Network::Seq2Seq),
            runs("mt5", Network::Seq2Seq),
            known("umt5"),
        ],
        embedding: &["shared.weight"],
        head: &["lm_head.weight"],
        head_bias: &[],
        tied_aliases: &["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"],
        positions: &["relative_attention_bias.weight"],
        stacks: &[("encoder.block.", "encoder"), ("decoder.block.", "decoder")],
        buffers: &[],
        ties_by_default: true,
    },
    Architecture {
        family: "marian",
        model_types: &[runs("marian", Network::Seq2Seq)],
        embedding: &["model.shared.weight"],
        head: &["lm_head.weight"],
        head_bias: &["final_logits_bias"],
        tied_aliases: &[
            "model.encoder.embed_tokens.weight",
            "model.decoder.embed_tokens.weight",
        ],
        positions: &["embed_positions.weight"],
        stacks: &[
            ("model.encoder.layers.", "encoder"),
            ("model.decoder.layers.", "decoder"),
        ],
        buffers: &[],
        ties_by_default: true,
    },
    Architecture {
        family: "m2m_100 / nllb",
        model_types: &[runs("m2m_100", Network::Seq2Seq), known("nllb")],
        embedding: &["model.shared.weight"],
        head: &["lm_head.weight"],
        head_bias: &[],
        tied_aliases: &[
            "model.encoder.embed_tokens.weight",
            "model.decoder.embed_tokens.weight",
        ],
        positions: &["embed_positions.weights", "embed_positions.weight"],
        stacks: &[
            ("model.encoder.layers.", "encoder"),
            ("model.decoder.layers.", "decoder"),
        ],
        buffers: &["embed_positions.weights"],
        ties_by_default: true,
    },
];

impl Architecture {
    /// The table row for a `model_type`, if retarget knows it.
    pub fn for_model_type(model_type: &str) -> Option<&'static Architecture> {
        TABLE
            .iter()
            .find(|a| a.model_types.iter().any(|t| t.name == model_type))
    }

    /// Every `model_type` in the table, for error messages.
    pub fn known_model_types() -> Vec<&'static str> {
        all_model_types().map(|t| t.name).collect()
    }

    /// What inference runs `model_type` as, if it does.
    pub fn network_of(model_type: &str) -> Option<Network> {
        all_model_types()
            .find(|t| t.name == model_type)
            .and_then(|t| t.runs_as)
    }

    /// The `model_type`s inference runs as `network` (all of them for
    /// `None`), for error messages.
    pub fn running(network: Option<Network>) -> Vec<&'static str> {
        all_model_types()
            .filter(|t| t.runs_as.is_some() && network.is_none_or(|n| t.runs_as == Some(n)))
            .map(|t| t.name)
            .collect()
    }

    /// The input embedding's name among `names`.
    pub fn find_embedding<'n>(&self, names: &mut dyn Iterator<Item = &'n str>) -> Option<&'n str> {
        first_candidate(self.embedding, names)
    }

    /// The output head's name among `names` (absent when tied and not stored).
    pub fn find_head<'n>(&self, names: &mut dyn Iterator<Item = &'n str>) -> Option<&'n str> {
        first_candidate(self.head, names)
    }

    /// Classifies one tensor name.
    pub fn role(&self, name: &str) -> TensorRole {
        if self.embedding.contains(&name) {
            return TensorRole::InputEmbedding;
        }
        if self.head.contains(&name) {
            return TensorRole::OutputHead;
        }
        if self.head_bias.contains(&name) {
            return TensorRole::OutputBias;
        }
        if self.tied_aliases.contains(&name) {
            return TensorRole::TiedAlias;
        }
        if self.buffers.iter().any(|b| name.ends_with(b)) {
            return TensorRole::Buffer;
        }
        for (prefix, stack) in self.stacks {
            if let Some(rest) = name.strip_prefix(prefix) {
                if let Some((number, _)) = rest.split_once('.') {
                    if let Ok(index) = number.parse() {
                        if !self.positions.iter().any(|p| name.ends_with(p)) {
                            return TensorRole::Layer { stack, index };
                        }
                    }
                }
            }
        }
        if self.positions.iter().any(|p| name.ends_with(p)) {
            return TensorRole::PositionEmbedding;
        }
        TensorRole::Other
    }

    /// Whether the head is tied to the embedding, given the config's
    /// `tie_word_embeddings` (if written).
    pub fn is_tied(&self, config_value: Option<bool>) -> bool {
        config_value.unwrap_or(self.ties_by_default)
    }
}

fn first_candidate<'n>(
    candidates: &[&str],
    names: &mut dyn Iterator<Item = &'n str>,
) -> Option<&'n str> {
    let names: Vec<&str> = names.collect();
    candidates
        .iter()
        .find_map(|c| names.iter().copied().find(|n| n == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_roles_for_each_family() {
        let llama = Architecture::for_model_type("qwen2").unwrap();
        assert_eq!(
            llama.role("model.embed_tokens.weight"),
            TensorRole::InputEmbedding
        );
        assert_eq!(llama.role("lm_head.weight"), TensorRole::OutputHead);
        assert_eq!(
            llama.role("model.layers.11.self_attn.q_proj.weight"),
            TensorRole::Layer {
                stack: "layers",
                index: 11
            }
        );
        assert_eq!(llama.role("model.norm.weight"), TensorRole::Other);

        let t5 = Architecture::for_model_type("mt5").unwrap();
        assert_eq!(
            t5.role("encoder.embed_tokens.weight"),
            TensorRole::TiedAlias
        );
        assert_eq!(
            t5.role("decoder.block.3.layer.2.DenseReluDense.wo.weight"),
            TensorRole::Layer {
                stack: "decoder",
                index: 3
            }
        );

        let bert = Architecture::for_model_type("bert").unwrap();
        let names = [
            "embeddings.word_embeddings.weight",
            "encoder.layer.0.output.dense.weight",
        ];
        assert_eq!(
            bert.find_embedding(&mut names.iter().copied()),
            Some("embeddings.word_embeddings.weight")
        );
        assert_eq!(bert.role("embeddings.position_ids"), TensorRole::Buffer);
        assert_eq!(
            bert.role("embeddings.position_embeddings.weight"),
            TensorRole::PositionEmbedding
        );

        let gpt2 = Architecture::for_model_type("gpt2").unwrap();
        assert_eq!(gpt2.role("h.0.attn.bias"), TensorRole::Buffer);
        assert_eq!(
            gpt2.role("h.0.attn.c_attn.bias"),
            TensorRole::Layer {
                stack: "layers",
                index: 0
            }
        );

        for mt in [
            "marian",
            "m2m_100",
            "xlm-roberta",
            "mistral",
            "gemma",
            "llama",
        ] {
            assert!(Architecture::for_model_type(mt).is_some(), "{mt}");
        }
        assert!(Architecture::for_model_type("mamba").is_none());
    }

    #[test]
    fn tying_defaults_follow_transformers() {
        assert!(!Architecture::for_model_type("llama").unwrap().is_tied(None));
        assert!(Architecture::for_model_type("llama")
            .unwrap()
            .is_tied(Some(true)));
        assert!(Architecture::for_model_type("t5").unwrap().is_tied(None));
    }
}
