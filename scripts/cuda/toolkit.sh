#!/usr/bin/env bash
# Puts a CUDA 13 compiler toolchain (nvcc, ptxas, NVVM, the runtime and CCCL
# headers) in ~/.cache/retarget/cuda-$VERSION from NVIDIA's PyPI wheels, so the
# `cuda` feature can be compiled on a machine without a CUDA installation.
# Prints the folder (the toolkit root: bin/nvcc, include/, lib/).
#
# Linking a CUDA binary additionally needs the driver library (libcuda.so) and
# cuBLAS/cuRAND/NVRTC, which come with a real CUDA installation; this toolchain
# is for compiling (cargo check / clippy), see scripts/cuda/check.sh.
set -euo pipefail

VERSION=13.2.86
CACHE="${RETARGET_CACHE:-$HOME/.cache/retarget}"
ROOT="$CACHE/cuda-$VERSION"
PACKAGES=(nvidia-cuda-nvcc nvidia-cuda-crt nvidia-nvvm nvidia-cuda-runtime nvidia-cuda-cccl)

if [ ! -x "$ROOT/toolkit/bin/nvcc" ]; then
    staging="$(mktemp -d "$CACHE/cuda-staging.XXXXXX")"
    trap 'rm -rf "$staging"' EXIT
    for package in "${PACKAGES[@]}"; do
        python3 -m pip download --quiet --no-deps --only-binary=:all: \
            --dest "$staging/wheels" "$package==$VERSION" >&2
    done
    for wheel in "$staging"/wheels/*.whl; do
        python3 -m zipfile -e "$wheel" "$staging/unpacked"
    done
    chmod +x "$staging"/unpacked/nvidia/cu13/bin/* "$staging"/unpacked/nvidia/cu13/nvvm/bin/* 2>/dev/null || true
    # nvcc and the linker look for the unversioned runtime library name.
    ln -sf libcudart.so.13 "$staging/unpacked/nvidia/cu13/lib/libcudart.so"
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    mv "$staging/unpacked/nvidia/cu13" "$ROOT/toolkit"
fi
echo "$ROOT/toolkit"
