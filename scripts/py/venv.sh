#!/usr/bin/env bash
# Prints the path of the Python package's virtualenv (maturin, pytest,
# sacrebleu, Ray Data), creating it first if needed. It lives in a cache folder
# outside the clone, keyed by a hash of requirements.txt, so CI runs reuse it.
# With `--py39`: the virtualenv of the oldest CPython the wheel supports
# (requirements-py39.txt: pytest, sacrebleu, numpy; no Ray), made with the
# first python3.9 found (pyenv's included); prints nothing if there is none.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=python3
req="$here/requirements.txt"
name=py-venv
if [ "${1:-}" = "--py39" ]; then
    python=
    for candidate in $(command -v python3.9 || true) "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.9.*/bin/python3.9; do
        # (pyenv's shim exists even where it has no 3.9 to run)
        if "$candidate" -c '' 2>/dev/null; then
            python=$candidate
            break
        fi
    done
    [ -n "$python" ] || exit 0
    req="$here/requirements-py39.txt"
    name=py39-venv
fi
hash=$(sha256sum "$req" | cut -c1-16)
cache=${RETARGET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retarget}
venv="$cache/$name-$hash"
if [ ! -f "$venv/.complete" ]; then
    rm -rf "$venv"
    mkdir -p "$cache"
    "$python" -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --upgrade pip >&2
    "$venv/bin/pip" install --quiet -r "$req" >&2
    touch "$venv/.complete"
    for old in "$cache/$name"-*; do
        [ "$old" = "$venv" ] || rm -rf "$old"
    done
fi
echo "$venv"
