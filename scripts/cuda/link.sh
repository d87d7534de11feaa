#!/usr/bin/env bash
# Builds and links a `cuda` retarget binary on a machine without CUDA or a
# GPU, then checks that its CPU path gives the same scores as the CPU build.
# The CUDA libraries come from NVIDIA's PyPI wheels (cuBLAS, cuRAND and the
# runtime from the cross-check virtualenv plus the cuRAND wheel); the driver
# library libcuda.so, which only a driver installation has, is replaced for
# linking by a stub with the names of cuda.h's functions — the role of the
# CUDA toolkit's own lib64/stubs/libcuda.so. The binary is for a machine
# with a real driver; on this one it runs its CPU path only.
# Takes ~10 min on 2 cores (a debug build in target/cuda). Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

toolkit="$(bash scripts/cuda/toolkit.sh)"
venv="$(bash scripts/crosscheck/venv.sh)"
libs="$(dirname "$toolkit")/link"
rm -rf "$libs" && mkdir -p "$libs/wheels"
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$libs/wheels" nvidia-curand==10.4.5.25
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

export PATH="$toolkit/bin:$PATH" CUDA_HOME="$toolkit" CUDA_ROOT="$libs"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}" CARGO_TARGET_DIR="${CARGO_TARGET_DIR_CUDA:-target/cuda}"
export RUSTFLAGS="-L $libs/lib -C link-arg=-Wl,-rpath-link,$libs/lib"
cargo build --quiet -p retarget --features cuda
cuda_bin="$CARGO_TARGET_DIR/debug/retarget"
echo "linked: $cuda_bin, needs $(LD_LIBRARY_PATH="$libs/lib" ldd "$cuda_bin" | awk '/cuda|cublas|curand|nvrtc/ {print $1}' | tr '\n' ' ')"

unset RUSTFLAGS CARGO_TARGET_DIR
cargo build --quiet --release --bin retarget --bin make-fixtures
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
target/release/make-fixtures "$work/fixtures" >/dev/null
printf 'the quick brown fox\njumps over the lazy dog\n' > "$work/lines.txt"
for model in llama-tied llama-untied bert; do
  cpu="$(target/release/retarget score --model "$work/fixtures/$model" -i "$work/lines.txt" --json)"
  cuda="$(LD_LIBRARY_PATH="$libs/lib" "$cuda_bin" score --model "$work/fixtures/$model" -i "$work/lines.txt" --json --device cpu)"
  [ "$cpu" = "$cuda" ] || { echo "FAIL $model: the cuda build's CPU scores differ"; exit 1; }
  echo "PASS $model: the cuda build's CPU scores equal the CPU build's"
done
