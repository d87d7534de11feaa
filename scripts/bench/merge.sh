#!/usr/bin/env bash
# Benchmarks `retarget merge` against mergekit (`mergekit-yaml` from the
# cross-check virtualenv) on three random llama-layout models of the same
# size: TIES and task arithmetic, wall time and peak anonymous memory (see
# measure.py), with mergekit's default options, --lazy-unpickle and
# --low-cpu-memory. Also prints bytes read + written per second and the
# disk's sequential read bandwidth.
# Usage: scripts/bench/merge.sh [LAYERS=3]   (3 layers ≈ 1.14 GB per model)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
layers=${1:-3}
work=${BENCH_DIR:-/tmp/retarget-merge-bench}
cargo build --release --quiet --bin retarget --bin make-random-model
bin="$root/target/release"
venv=$(bash scripts/crosscheck/venv.sh)
rm -rf "$work" && mkdir -p "$work"
for i in 0 1 2; do "$bin/make-random-model" "$work/m$i" "$layers" "$i" >/dev/null; done
model_bytes=$(du -sb "$work/m0" | cut -f1)
echo "3 models of $model_bytes bytes each, largest tensor $((32000 * 2048 * 4)) bytes; $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB memory"
if [ -w /proc/sys/vm/drop_caches ]; then
  sync; echo 3 > /proc/sys/vm/drop_caches
  echo "sequential read, cold cache: $(dd if="$work/m1/model.safetensors" of=/dev/null bs=16M 2>&1 | tail -1)"
fi
cat "$work"/m*/model.safetensors >/dev/null   # every run starts with the inputs in the page cache
echo "sequential read, warm cache: $(dd if="$work/m1/model.safetensors" of=/dev/null bs=16M 2>&1 | tail -1)"
cat > "$work/task_arithmetic.yml" <<YAML
merge_method: task_arithmetic
base_model: $work/m0
models:
  - {model: $work/m1, parameters: {weight: 0.6}}
  - {model: $work/m2, parameters: {weight: 0.4}}
dtype: float32
YAML
cat > "$work/ties.yml" <<YAML
merge_method: ties
base_model: $work/m0
models:
  - {model: $work/m1, parameters: {weight: 0.6, density: 0.5}}
  - {model: $work/m2, parameters: {weight: 0.4, density: 0.3}}
dtype: float32
YAML
measure() {
  python3 scripts/bench/measure.py "$@" | python3 -c "
import json, sys
r = json.load(sys.stdin)
moved = 4 * $model_bytes  # three inputs read, one output written
r['read_written_mb_per_s'] = round(moved / r['wall_s'] / 1e6)
print(json.dumps(r))"
}
for method in task_arithmetic ties; do
  for run in 1 2; do
    measure "retarget merge $method (run $run)" -- "$bin/retarget" merge "$work/$method.yml" "$work/out"
    rm -rf "$work/out"
  done
  measure "mergekit-yaml $method" -- "$venv/bin/mergekit-yaml" "$work/$method.yml" "$work/out" --no-copy-tokenizer
  rm -rf "$work/out"
  measure "mergekit-yaml $method --lazy-unpickle" -- "$venv/bin/mergekit-yaml" "$work/$method.yml" "$work/out" --no-copy-tokenizer --lazy-unpickle
  rm -rf "$work/out"
  measure "mergekit-yaml $method --low-cpu-memory" -- "$venv/bin/mergekit-yaml" "$work/$method.yml" "$work/out" --no-copy-tokenizer --low-cpu-memory
  rm -rf "$work/out"
done
rm -rf "$work"
