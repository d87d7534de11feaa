#!/usr/bin/env bash
# Benchmarks the Python package (release wheel) against sacrebleu,
# fasttext-predict and the command line, and the Ray corpus filter with 1 and
# 2 workers. Usage: scripts/bench/python_package.sh [PAIRS]  (default 100000)
source "$(dirname "$0")/common.sh" retarget-bench-python
pyvenv=$(bash scripts/py/venv.sh)
(cd crates/retarget-py && "$pyvenv/bin/maturin" build --quiet --release -o "$work/wheel" -i "$pyvenv/bin/python")
"$pyvenv/bin/pip" install --quiet --force-reinstall --no-deps "$work"/wheel/retarget-*.whl
echo "machine: $(nproc) cores, $(date -u +%F)"
"$pyvenv/bin/python" scripts/bench/python_package.py "${1:-100000}"
"$pyvenv/bin/python" scripts/bench/ray_filter.py "$work/ray" "$bin"
rm -rf "$work"
