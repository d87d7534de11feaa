#!/usr/bin/env bash
# Prints the folder of the cross-checks' add-on packages (requirements-addons.txt),
# installing them first if needed with the virtualenv's pip (its path is the
# argument). Keyed by a hash of the requirement file, cached beside the virtualenv.
set -euo pipefail
venv=$1
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements-addons.txt"
hash=$(sha256sum "$req" | cut -c1-16)
dir="$(dirname "$venv")/crosscheck-addons-$hash"
if [ ! -f "$dir/.complete" ]; then
    rm -rf "$dir"
    "$venv/bin/pip" install --quiet --no-deps --target "$dir" -r "$req" >&2
    touch "$dir/.complete"
    for old in "$(dirname "$venv")"/crosscheck-addons-*; do
        [ "$old" = "$dir" ] || rm -rf "$old"
    done
fi
echo "$dir"
