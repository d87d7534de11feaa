#!/usr/bin/env bash
# Benchmarks `retarget convert` on a multi-GB random llama folder against `cp`
# of the same bytes: wall time (page cache warm for both) and peak anonymous
# memory. Usage: scripts/bench/convert.sh [LAYERS=12] (12 layers ≈ 3.0 GB).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
layers=${1:-12}
work=${BENCH_DIR:-/tmp/retarget-bench}
cargo build --release --quiet --bin retarget --bin make-random-model
bin="$root/target/release"
rm -rf "$work" && mkdir -p "$work"
"$bin/make-random-model" "$work/in" "$layers" >/dev/null
bytes=$(du -sb "$work/in" | cut -f1)
largest=$((32000 * 2048 * 4))
echo "input: $bytes bytes, largest tensor $largest bytes, $(nproc) cores"
measure() { python3 scripts/bench/measure.py "$@"; }
cat "$work/in/model.safetensors" >/dev/null   # warm the page cache for every run alike
for run in 1 2 3; do
  measure "cp -r (run $run)" -- cp -r "$work/in" "$work/cp"; rm -rf "$work/cp"; sync
  measure "retarget convert, same dtype (run $run)" -- "$bin/retarget" convert "$work/in" "$work/out"; rm -rf "$work/out"; sync
done
measure "retarget convert --max-shard-size 1GB" -- "$bin/retarget" convert "$work/in" "$work/out" --max-shard-size 1GB; rm -rf "$work/out"; sync
measure "retarget convert --dtype bf16" -- "$bin/retarget" convert "$work/in" "$work/out" --dtype bf16; rm -rf "$work/out"; sync
measure "retarget inspect" -- "$bin/retarget" inspect "$work/in"
# Cold page cache (root only): the input is read from disk in both runs.
if [ -w /proc/sys/vm/drop_caches ]; then
  for run in 1 2; do
    sync; echo 3 > /proc/sys/vm/drop_caches
    measure "cp -r, cold cache (run $run)" -- cp -r "$work/in" "$work/cp"; rm -rf "$work/cp"
    sync; echo 3 > /proc/sys/vm/drop_caches
    measure "retarget convert, cold cache (run $run)" -- "$bin/retarget" convert "$work/in" "$work/out"; rm -rf "$work/out"
  done
fi
gguf=examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$gguf" ]; then
  measure "retarget convert SmolLM2 GGUF Q4_1 -> HF f32 (largest tensor 113 MB)" -- "$bin/retarget" convert "$gguf" "$work/smol"
fi
rm -rf "$work"
