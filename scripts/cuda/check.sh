#!/usr/bin/env bash
# Compiles retarget with the `cuda` feature (candle's CUDA backend and its
# kernels, built by nvcc) and runs clippy on it, using the toolchain from
# scripts/cuda/toolkit.sh. It compiles without linking, so it needs no GPU and
# no CUDA driver; a separate target folder keeps the CPU build untouched.
#
#   CUDA_COMPUTE_CAP  the GPU generation the kernels are compiled for (default 90, Hopper)
set -euo pipefail
cd "$(dirname "$0")/../.."

toolkit="$(bash scripts/cuda/toolkit.sh)"
export PATH="$toolkit/bin:$PATH"
export CUDA_HOME="$toolkit" CUDA_ROOT="$toolkit"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
# The cuda build (nvcc/ptxas over candle's kernels: ~10 min on 2 cores) is
# kept between runs in the cache, keyed by Cargo.lock and the CUDA
# capability: only a dependency change rebuilds the kernels.
cache=${RETARGET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retarget}
key=$( (cat Cargo.lock; echo "$CUDA_COMPUTE_CAP") | sha256sum | cut -c1-16)
default_target="$cache/cuda-target-$key"
for old in "$cache"/cuda-target-*; do
    [ -e "$old" ] && [ "$old" != "$default_target" ] && rm -rf "$old"
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_CUDA:-$default_target}"
nvcc --version | tail -2

cargo clippy -p retarget -p retarget-infer --all-targets --features retarget/cuda,retarget-infer/cuda -- -D warnings
