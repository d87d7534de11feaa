#!/usr/bin/env bash
# Prints the path of the cross-check virtualenv, creating it first if needed.
# The virtualenv lives in a cache folder outside the clone, keyed by a hash of
# the requirement files, so repeated CI runs on one machine reuse it.
# requirements-isolated.txt lists packages installed each into its own folder
# ($venv/isolated/<name>) because they clash on a module name.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements.txt"
isolated="$here/requirements-isolated.txt"
hash=$(cat "$req" "$isolated" | sha256sum | cut -c1-16)
cache=${RETARGET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retarget}
venv="$cache/crosscheck-venv-$hash"
if [ ! -f "$venv/.complete" ]; then
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --upgrade pip >&2
    "$venv/bin/pip" install --quiet -r "$req" >&2
    grep -v '^#' "$isolated" | while read -r spec; do
        [ -n "$spec" ] || continue
        "$venv/bin/pip" install --quiet --no-deps --target "$venv/isolated/${spec%%==*}" "$spec" >&2
    done
    touch "$venv/.complete"
    # Virtualenvs of older requirement sets are no longer used.
    for old in "$cache"/crosscheck-venv-*; do
        [ "$old" = "$venv" ] || rm -rf "$old"
    done
fi
echo "$venv"
