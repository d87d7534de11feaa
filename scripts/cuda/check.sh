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
# The cuda build is kept between runs in the cache (scripts/cuda/cached-target.sh).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_CUDA:-$(bash scripts/cuda/cached-target.sh cuda-target "$CUDA_COMPUTE_CAP")}"
nvcc --version | tail -2

cargo clippy -p retarget -p retarget-infer --all-targets --features retarget/cuda,retarget-infer/cuda -- -D warnings
