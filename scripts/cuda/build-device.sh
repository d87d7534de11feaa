#!/usr/bin/env bash
# Builds here what scripts/cuda/device-check.sh runs on a lent GPU machine
# (no Rust toolchain there, at most 64 MiB carried): a release retarget with
# `--no-default-features --features cuda` (no lingua models, which are most
# of the normal binary's 300 MB), stripped, linked against the libraries of
# scripts/cuda/link-libs.sh and compiled by CUDA 13.0 (the newest the lent
# machines' driver 580 runs), plus the tokenizer its random-weight models
# use (SmolLM2's, converted from the example GGUF).
#
# Writes target/device/{retarget.xz,tokenizer.json.xz,BUILD} (~10 MB: the
# stripped binary is ~63 MB, mostly candle's PTX, too much for the 64 MiB a
# call carries with the repository); carry `target/device`. The unpacked
# binary stays in target/device-bin/ for trying it here.
# The build (candle's kernels through nvcc, then a release link) takes
# ~20 min on 2 cores the first time; it is kept in ~/.cache/retarget keyed by
# Cargo.lock, so that later builds recompile only retarget's own crates.
#   CUDA_COMPUTE_CAP  the GPU generation (default 90: the H200/H100)
set -euo pipefail
cd "$(dirname "$0")/../.."

toolkit="$(bash scripts/cuda/toolkit.sh 13.0)"
libs="$(bash scripts/cuda/link-libs.sh "$toolkit")"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
build=$(bash scripts/cuda/cached-target.sh cuda-release "13.0 $CUDA_COMPUTE_CAP")

(
  export PATH="$toolkit/bin:$PATH" CUDA_HOME="$toolkit" CUDA_ROOT="$libs" CARGO_TARGET_DIR="$build"
  export RUSTFLAGS="-L $libs/lib -C link-arg=-Wl,-rpath-link,$libs/lib"
  cargo build --quiet --release -p retarget --no-default-features --features cuda
)
out=target/device
rm -rf "$out.partial" target/device-bin && mkdir -p "$out.partial" target/device-bin
strip -o target/device-bin/retarget "$build/release/retarget"
needs=$(LD_LIBRARY_PATH="$libs/lib" ldd target/device-bin/retarget | awk '/cuda|cublas|curand|nvrtc/ {print $1}' | tr '\n' ' ')
# Its CPU path runs here (the stub driver library is never called on the CPU).
LD_LIBRARY_PATH="$libs/lib" target/device-bin/retarget convert \
  examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$out.partial/smollm2" >/dev/null
mv "$out.partial/smollm2/tokenizer.json" target/device-bin/tokenizer.json
rm -rf "$out.partial/smollm2"
xz -9 -T2 -c target/device-bin/retarget > "$out.partial/retarget.xz"
xz -9 -c target/device-bin/tokenizer.json > "$out.partial/tokenizer.json.xz"
{
  echo "commit $(git rev-parse HEAD)$(git diff --quiet HEAD || echo ' (with uncommitted changes)')"
  echo "built $(date -u +%FT%TZ) by CUDA $("$toolkit/bin/nvcc" --version | grep -o 'release [0-9.]*'), compute capability $CUDA_COMPUTE_CAP"
  echo "needs $needs"
} > "$out.partial/BUILD"
rm -rf "$out" && mv "$out.partial" "$out"
echo "$out: $(du -sh "$out" | cut -f1) to carry (retarget $(du -m target/device-bin/retarget | cut -f1) MiB unpacked); needs $needs"
