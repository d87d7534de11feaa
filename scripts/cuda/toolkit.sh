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

# Usage: toolkit.sh [SERIES]. SERIES 13.2 (default) compiles for checking;
# 13.0 builds what runs on the lent GPU machines, whose driver (580) takes
# the PTX of CUDA 13.0 at most (scripts/cuda/build-device.sh).
SERIES=${1:-13.2}
case "$SERIES" in
    13.2) VERSION=13.2.86 CCCL=13.2.86 ;;
    13.0) VERSION=13.0.88 CCCL=13.0.85 ;;
    *) echo "toolkit.sh: unknown CUDA series '$SERIES' (13.0 or 13.2)" >&2; exit 2 ;;
esac
CACHE="${RETARGET_CACHE:-$HOME/.cache/retarget}"
ROOT="$CACHE/cuda-$VERSION"
PACKAGES=(nvidia-cuda-nvcc==$VERSION nvidia-cuda-crt==$VERSION nvidia-nvvm==$VERSION
          nvidia-cuda-runtime==$VERSION nvidia-cuda-cccl==$CCCL)

if [ ! -x "$ROOT/toolkit/bin/nvcc" ]; then
    staging="$(mktemp -d "$CACHE/cuda-staging.XXXXXX")"
    trap 'rm -rf "$staging"' EXIT
    for package in "${PACKAGES[@]}"; do
        python3 -m pip download --quiet --no-deps --only-binary=:all: \
            --dest "$staging/wheels" "$package" >&2
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
