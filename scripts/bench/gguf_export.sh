#!/usr/bin/env bash
# GGUF export: `retarget convert --to gguf` against llama.cpp's own pipeline
# (convert_hf_to_gguf.py, then for the types it cannot write, llama-quantize
# --pure through llama-cpp-python), wall time and peak anonymous memory, on
# SmolLM2 (f32 folder from the example GGUF) and on a 2.4 GB random
# llama-layout model (hidden 2048, 8 layers, SmolLM2's tokenizer), with `cp`
# of the weights as the floor. Needs an idle machine.
# Usage: scripts/bench/gguf_export.sh
source "$(dirname "$0")/common.sh" retarget-gguf-export-bench
llama=$(bash scripts/crosscheck/llama_cpp.sh "$venv")
convert="$llama/convert/convert_hf_to_gguf.py"
"$bin" convert examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$work/smollm2" >/dev/null
"$venv/bin/python" - "$work/smollm2" "$work/big" <<'PY'
import json, shutil, sys
from pathlib import Path
import numpy as np
from safetensors.numpy import save_file
smol, big = Path(sys.argv[1]), Path(sys.argv[2])
big.mkdir()
config = json.loads((smol / "config.json").read_text())
config.update(hidden_size=2048, intermediate_size=5632, num_hidden_layers=8, num_attention_heads=16,
              num_key_value_heads=16, head_dim=128, tie_word_embeddings=False)
(big / "config.json").write_text(json.dumps(config, indent=2))
for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"]:
    shutil.copy(smol / name, big / name)
rng = np.random.default_rng(0)
def m(*shape):
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02)
h, f, v = 2048, 5632, config["vocab_size"]
weights = {"model.embed_tokens.weight": m(v, h), "model.norm.weight": np.ones(h, np.float32), "lm_head.weight": m(v, h)}
for i in range(8):
    p = f"model.layers.{i}."
    weights.update({p + "input_layernorm.weight": np.ones(h, np.float32),
                    p + "post_attention_layernorm.weight": np.ones(h, np.float32),
                    p + "self_attn.q_proj.weight": m(h, h), p + "self_attn.k_proj.weight": m(h, h),
                    p + "self_attn.v_proj.weight": m(h, h), p + "self_attn.o_proj.weight": m(h, h),
                    p + "mlp.gate_proj.weight": m(f, h), p + "mlp.up_proj.weight": m(f, h),
                    p + "mlp.down_proj.weight": m(h, f)})
save_file(weights, str(big / "model.safetensors"))
PY
for model in smollm2 big; do
  dir="$work/$model"
  echo "== $model: $(du -sh "$dir/model.safetensors" | cut -f1) of f32 weights"
  sync
  measure "cp model.safetensors" -- cp "$dir/model.safetensors" "$work/copy"
  rm -f "$work/copy"
  for quant in f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k; do
    measure "retarget --quant $quant" -- "$bin" convert "$dir" "$work/ours.gguf" --to gguf --quant "$quant" --force
    rm -f "$work/ours.gguf"
    case $quant in
      f16|bf16|q8_0)
        measure "convert_hf_to_gguf.py --outtype $quant" -- \
          "$venv/bin/python" "$convert" "$dir" --outfile "$work/theirs.gguf" --outtype "$quant"
        ;;
      *)
        measure "convert_hf_to_gguf.py --outtype f32 (step 1 of $quant)" -- \
          "$venv/bin/python" "$convert" "$dir" --outfile "$work/theirs-f32.gguf" --outtype f32
        measure "llama-quantize --pure $quant (step 2)" -- \
          "$venv/bin/python" scripts/bench/llama_quantize.py "$llama" "$work/theirs-f32.gguf" "$work/theirs.gguf" "$quant"
        rm -f "$work/theirs-f32.gguf"
        ;;
    esac
    rm -f "$work/theirs.gguf"
  done
done
