#!/usr/bin/env bash
# Benchmarks Gemma 3 270M (the example GGUF, Q4_K_M, 262,144-token vocabulary):
# - convert: `retarget convert` of the GGUF to an f32 HF folder against
#   transformers loading the GGUF and writing the same folder (its
#   save_pretrained refuses GGUF-loaded models: weights, config and tokenizer
#   written directly) (wall time, peak anonymous memory);
# - trim: `retarget vocab trim` to each of five languages (UDHR paragraphs) against
#   `cp -r` of the folder, with the vocabulary and weight bytes left;
# then inference through scripts/bench/infer.sh (GGUF=… NAME=…).
# Usage: scripts/bench/gemma.sh
source "$(dirname "$0")/common.sh" retarget-gemma-bench
gguf=examples/assets/gemma3/gemma-3-270m-q4_k_m.gguf
cat "$gguf" >/dev/null
echo "Gemma 3 270M ($gguf, $(stat -c %s "$gguf") bytes); $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for run in 1 2; do
  rm -rf "$work/model" "$work/torch"
  measure "retarget convert (run $run)" -- "$bin" convert "$gguf" "$work/model"
  measure "transformers from_pretrained(gguf_file) + save_pretrained (run $run)" -- "$venv/bin/python" -c "
import sys, torch, transformers
transformers.logging.set_verbosity_error()
from safetensors.torch import save_file
m = transformers.AutoModelForCausalLM.from_pretrained('$(dirname "$gguf")', gguf_file='$(basename "$gguf")', dtype=torch.float32)
t = transformers.AutoTokenizer.from_pretrained('$(dirname "$gguf")', gguf_file='$(basename "$gguf")')
# save_pretrained refuses a model loaded from GGUF: the weights, config and tokenizer written directly.
import os; os.makedirs('$work/torch')
save_file({k: v.contiguous() for k, v in m.state_dict().items() if k != 'lm_head.weight'}, '$work/torch/model.safetensors')
m.config.save_pretrained('$work/torch'); t.save_pretrained('$work/torch')"
done
rm -rf "$work/torch"
"$venv/bin/python" - "$work" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from texts import udhr_paragraphs
for code in ["swh", "eus", "tat", "amh", "hin"]:
    lines = [p for p in udhr_paragraphs(Path("examples/assets/udhr/declaration") / f"{code}.html") if p]
    (Path(sys.argv[1]) / f"{code}.txt").write_text("\n".join(lines) + "\n")
PY
cat "$work/model/model.safetensors" >/dev/null
measure "cp -r" -- cp -r "$work/model" "$work/cp"; rm -rf "$work/cp"; sync
for code in swh eus tat amh hin; do
  measure "retarget vocab trim → $code" -- "$bin" vocab trim --model "$work/model" --corpus "$work/$code.txt" --out "$work/trim-$code"
  "$venv/bin/python" -c "
import json, os, sys
t = json.load(open('$work/trim-$code/tokenizer.json'))
size = sum(os.path.getsize(os.path.join('$work/trim-$code', f)) for f in os.listdir('$work/trim-$code') if f.endswith('.safetensors'))
print(json.dumps({'lang': '$code', 'corpus_lines': sum(1 for _ in open('$work/$code.txt')), 'tokens': len(t['model']['vocab']), 'weight_bytes': size}))"
  rm -rf "$work/trim-$code"; sync
done
rm -rf "$work"
GGUF="$gguf" NAME="Gemma 3 270M" bash scripts/bench/infer.sh
