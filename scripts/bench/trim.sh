#!/usr/bin/env bash
# Benchmarks `retarget vocab trim` on a model with a 250k vocabulary and
# 1024-dim embeddings (random f32 weights in llama layout, untied head, 2
# layers; XLM-R's 250,002-token Unigram tokenizer from the example assets),
# trimmed to the Swahili UDHR: wall time and peak anonymous memory against
# `cp -r` of the same folder (reading and writing the same bytes).
# Usage: scripts/bench/trim.sh
source "$(dirname "$0")/common.sh" retarget-trim-bench
"$venv/bin/python" scripts/bench/xlmr_model.py "$work"
bytes=$(du -sb "$work/model" | cut -f1)
echo "model: $bytes bytes (vocabulary 250,002 × 1024, untied head); corpus: $(wc -l < "$work/swh.txt") lines of Swahili; $(nproc) cores"
cat "$work/model/model.safetensors" >/dev/null   # every run starts with the input in the page cache
for run in 1 2; do
  measure "cp -r (run $run)" -- cp -r "$work/model" "$work/cp"; rm -rf "$work/cp"; sync
  measure "retarget vocab trim (run $run)" -- "$bin" vocab trim --model "$work/model" --corpus "$work/swh.txt" --out "$work/out"
  [ "$run" = 2 ] || { rm -rf "$work/out"; sync; }
done
rm -rf "$work/out"
"$bin" vocab trim --model "$work/model" --corpus "$work/swh.txt" --out "$work/out"
rm -rf "$work"
