#!/usr/bin/env bash
# Prints the cargo target folder kept in the cache for a CUDA build (candle's
# kernels through nvcc/ptxas take ~10 min on 2 cores): NAME-<key>, keyed by
# Cargo.lock and SALT (the CUDA capability, the toolkit), so that only a
# dependency or toolkit change rebuilds the kernels; older NAME-* folders are
# removed. Usage: cached-target.sh NAME SALT
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${RETARGET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retarget}
key=$( (cat Cargo.lock; echo "$2") | sha256sum | cut -c1-16)
target="$cache/$1-$key"
for old in "$cache/$1"-*; do
  if [ -e "$old" ] && [ "$old" != "$target" ]; then rm -rf "$old"; fi
done
echo "$target"
