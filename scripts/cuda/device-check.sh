#!/usr/bin/env bash
# retarget on a GPU against transformers on the same GPU, in one call of a
# lent device machine (no Rust toolchain there; PyTorch, transformers and
# CUDA's libraries are): logits, greedy tokens, prompt and generation
# tokens/s and memory in the shapes of SmolLM2-135M and Gemma 3 270M, with
# random weights made there (scripts/cuda/device_check.py). Under 8 minutes
# on an H200; the report goes to $OUT (REPORT.md, REPORT.json).
#
# Prepare here: scripts/cuda/build-device.sh (writes target/device). Then,
# with the device tool: run `bash scripts/cuda/device-check.sh`, carrying
# `target/device`, timeout 600.
#
# Without a GPU (no nvidia-smi, or torch sees none) the same checks run on
# the CPU, smaller (RETARGET_BIN may then name any retarget binary, PYTHON a
# Python with torch and transformers): that is how it is tested here.
#   RETARGET_BIN  default: target/device/retarget.xz, unpacked
#   TOKENIZER     default: target/device/tokenizer.json.xz, unpacked
#   PYTHON        default python3
#   OUT           where the report goes (default target/device-check)
set -euo pipefail
cd "$(dirname "$0")/../.."

python=${PYTHON:-python3}
out=${OUT:-target/device-check}
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
# The binary and tokenizer travel xz-compressed; Python's lzma unpacks them
# (no xz needed there).
unpack() { # FILE.xz -> $unpacked/FILE
  [ -e "$1" ] || { echo "device-check: $1 is missing; run scripts/cuda/build-device.sh here and carry target/device" >&2; exit 2; }
  "$python" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    "$1" "$unpacked/$(basename "${1%.xz}")"
  echo "$unpacked/$(basename "${1%.xz}")"
}
if [ -n "${RETARGET_BIN:-}" ]; then bin=$RETARGET_BIN; else bin=$(unpack target/device/retarget.xz); chmod +x "$bin"; fi
if [ -n "${TOKENIZER:-}" ]; then tokenizer=$TOKENIZER; else tokenizer=$(unpack target/device/tokenizer.json.xz); fi

# CUDA's libraries from PyTorch's wheels (cuBLAS, cuRAND, NVRTC, the
# runtime), found beside torch; the driver's libcuda comes from the system.
site=$("$python" -c 'import os, torch; print(os.path.dirname(os.path.dirname(torch.__file__)))')
for lib in "$site"/nvidia/*/lib "$site"/nvidia/*/lib64; do
  [ -d "$lib" ] && LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
# The driver's own folder, should the loader's cache not name it (appended:
# never in front of what the system resolves).
for lib in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$lib" ] && LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$lib"
done
export LD_LIBRARY_PATH
missing=$(ldd "$bin" | awk '/not found/ {print $1}' | tr '\n' ' ')

if command -v nvidia-smi >/dev/null && "$python" -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
  device=cuda
  sizes=()
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  [ -z "$missing" ] || { echo "device-check: $bin needs $missing, not found under $site/nvidia" >&2; exit 1; }
else
  device=cpu
  # The CPU stands in for the GPU: fewer, shorter generations.
  sizes=(--new-tokens 8 --prompts 3 --repeat 1)
  echo "no GPU here: checking on the CPU"
  # A cuda build needs the CUDA libraries even for its CPU path.
  [ -z "$missing" ] || { echo "device-check: $bin needs $missing; on a machine without CUDA set RETARGET_BIN to a CPU build" >&2; exit 2; }
fi
build=$( { [ -z "${RETARGET_BIN:-}" ] && tr '\n' ';' < target/device/BUILD; } 2>/dev/null || echo "$bin")
mkdir -p "$out"
PYTHONUNBUFFERED=1 "$python" scripts/cuda/device_check.py --retarget "$bin" --device "$device" \
  --tokenizer "$tokenizer" --out "$out" --build-info "$build" "${sizes[@]}"
