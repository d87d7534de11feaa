#!/usr/bin/env bash
# Prints the path of the Python package's virtualenv (maturin, pytest,
# sacrebleu, Ray Data), creating it first if needed. It lives in a cache folder
# outside the clone, keyed by a hash of requirements.txt, so CI runs reuse it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements.txt"
hash=$(sha256sum "$req" | cut -c1-16)
cache=${RETARGET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retarget}
venv="$cache/py-venv-$hash"
if [ ! -f "$venv/.complete" ]; then
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --upgrade pip >&2
    "$venv/bin/pip" install --quiet -r "$req" >&2
    touch "$venv/.complete"
    for old in "$cache"/py-venv-*; do
        [ "$old" = "$venv" ] || rm -rf "$old"
    done
fi
echo "$venv"
