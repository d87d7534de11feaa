#!/usr/bin/env bash
# The Python package's tests: builds the wheel with maturin (the dev profile,
# sharing target/ with the cargo build), installs it into the cached
# virtualenv (scripts/py/venv.sh), runs crates/retarget-py/tests (against
# sacrebleu 2.6.0, the command line in target/debug and a local Ray cluster),
# then sacrebleu's own test suite from its sdist with `sacrebleu` aliased to
# retarget.sacrebleu, then the package's tests again on CPython 3.9 (where
# there is one: pyenv's counts).
# Usage: scripts/py/test.sh [--release]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
profile=dev
[ "${1:-}" = "--release" ] && profile=release
venv=$(bash scripts/py/venv.sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/retarget-py.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== building the wheel (maturin, $profile profile)"
(cd crates/retarget-py && "$venv/bin/maturin" build --quiet --profile "$profile" -o "$work/wheel" \
  -i "$venv/bin/python")
"$venv/bin/pip" install --quiet --force-reinstall --no-deps "$work"/wheel/retarget-*.whl

echo "== pytest crates/retarget-py/tests"
RETARGET_BIN_DIR="$root/target/debug" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  crates/retarget-py/tests

echo "== sacrebleu 2.6.0's own test suite on retarget.sacrebleu"
"$venv/bin/python" scripts/py/sacrebleu_suite.py --work "$work/sacrebleu"

# The same abi3 wheel on CPython 3.9, where strings are read through held
# `bytes` (PyUnicode_AsUTF8AndSize is in the stable ABI only from 3.10 on).
venv39=$(bash scripts/py/venv.sh --py39)
if [ -n "$venv39" ]; then
    echo "== pytest crates/retarget-py/tests on CPython 3.9 (Ray Data's tests skipped)"
    "$venv39/bin/pip" install --quiet --force-reinstall --no-deps "$work"/wheel/retarget-*.whl
    RETARGET_BIN_DIR="$root/target/debug" "$venv39/bin/python" -m pytest -q -p no:cacheprovider \
      crates/retarget-py/tests
else
    echo "== no CPython 3.9 here: the wheel's 3.9 path is not tested"
fi
