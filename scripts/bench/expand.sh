#!/usr/bin/env bash
# Benchmarks `retarget vocab expand` on SmolLM2-135M (byte-level BPE, 49,152
# tokens, 576-dim, f32 HF folder converted from the example GGUF): +1,000
# German tokens learnt from 2,000 gettext messages, FVT and random rows;
# wall time and peak anonymous memory against `cp -r` of the same folder.
# Then the 250k-vocabulary model of scripts/bench/trim.sh (XLM-R's Unigram
# tokenizer, 1024-dim, untied head) with +1,000 pieces from the same text.
# Usage: scripts/bench/expand.sh
source "$(dirname "$0")/common.sh" retarget-expand-bench
"$bin" convert examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$work/model" >/dev/null
"$venv/bin/python" scripts/bench/german_messages.py "$work/de.txt"
echo "model: $(du -sb "$work/model" | cut -f1) bytes; corpus: $(wc -l < "$work/de.txt") lines of German; $(nproc) cores"
cat "$work/model/model.safetensors" >/dev/null
for run in 1 2; do
  measure "cp -r (run $run)" -- cp -r "$work/model" "$work/cp"; rm -rf "$work/cp"; sync
  measure "retarget vocab expand --add 1000 --init mean (run $run)" -- "$bin" vocab expand --model "$work/model" --corpus "$work/de.txt" --add 1000 --out "$work/out"
  rm -rf "$work/out"; sync
done
measure "retarget vocab expand --add 1000 --init random" -- "$bin" vocab expand --model "$work/model" --corpus "$work/de.txt" --add 1000 --init random --out "$work/out"
rm -rf "$work/out"
"$bin" vocab expand --model "$work/model" --corpus "$work/de.txt" --add 1000 --out "$work/out"
rm -rf "$work/model" "$work/out"

"$venv/bin/python" scripts/bench/xlmr_model.py "$work"
echo "model: $(du -sb "$work/model" | cut -f1) bytes (vocabulary 250,002 × 1024, untied head)"
cat "$work/model/model.safetensors" >/dev/null
for run in 1 2; do
  measure "cp -r 250k (run $run)" -- cp -r "$work/model" "$work/cp"; rm -rf "$work/cp"; sync
  measure "retarget vocab expand 250k --add 1000 --init mean (run $run)" -- "$bin" vocab expand --model "$work/model" --corpus "$work/de.txt" --add 1000 --out "$work/out"
  rm -rf "$work/out"; sync
done
"$bin" vocab expand --model "$work/model" --corpus "$work/de.txt" --add 1000 --out "$work/out"
rm -rf "$work"
