#!/usr/bin/env bash
# Puts what linking a `cuda` retarget binary needs into a folder and prints
# it, on a machine without CUDA or a GPU: cuBLAS, the runtime and NVRTC from
# the cross-check virtualenv's PyTorch wheels, cuRAND from NVIDIA's wheel,
# and, for the driver library libcuda.so that only a driver installation has,
# a stub with the names of cuda.h's functions (the role of the CUDA
# toolkit's own lib64/stubs/libcuda.so). A binary linked against them runs
# where a real driver and these libraries are (scripts/cuda/device-check.sh).
# Usage: link-libs.sh TOOLKIT_FOLDER (from scripts/cuda/toolkit.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."

toolkit="$1"
venv="$(bash scripts/crosscheck/venv.sh)"
libs="$(dirname "$toolkit")/link"
if [ ! -e "$libs/lib/libcuda.so.1" ]; then
  rm -rf "$libs" && mkdir -p "$libs/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$libs/wheels" nvidia-curand==10.4.5.25 >&2
  python3 -m zipfile -e "$libs"/wheels/nvidia_curand-*.whl "$libs/unpacked"
  wheel_libs=("$venv"/lib/python3*/site-packages/nvidia/cu13/lib)
  mkdir -p "$libs/lib"
  for library in "${wheel_libs[0]}"/libcublas.so.13 "${wheel_libs[0]}"/libcublasLt.so.13 \
                 "${wheel_libs[0]}"/libcudart.so.13 "${wheel_libs[0]}"/libnvrtc.so.13 \
                 "$libs"/unpacked/nvidia/cu13/lib/libcurand.so.10; do
    name="$(basename "$library")"
    ln -sf "$library" "$libs/lib/$name"
    ln -sf "$library" "$libs/lib/${name%.so.*}.so"
  done
  grep -ohE '\bcu[A-Z][A-Za-z0-9_]*\b' "$toolkit/include/cuda.h" | sort -u \
    | awk '{print "void " $1 "(void) {}"}' > "$libs/stub.c"
  cc -shared -fPIC -w -o "$libs/lib/libcuda.so" "$libs/stub.c" -Wl,-soname,libcuda.so.1
  ln -sf libcuda.so "$libs/lib/libcuda.so.1"
fi
echo "$libs"
