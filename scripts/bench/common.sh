# Set-up shared by the benchmark scripts; source it with the name of the
# scratch folder: `source "$(dirname "$0")/common.sh" retarget-x-bench`.
# Builds the release binary, prepares the cross-check virtualenv and the
# example assets, and sets: root (the working directory from here on), bin
# (the retarget binary), venv, work (an empty folder; BENCH_DIR overrides it)
# and measure (wall time and peak anonymous memory of a command).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
cargo build --release --quiet --bin retarget
bin="$root/target/release/retarget"
venv=$(bash scripts/crosscheck/venv.sh)
bash scripts/fetch-examples.sh >/dev/null
work=${BENCH_DIR:-/tmp/$1}
rm -rf "$work" && mkdir -p "$work"
measure() { python3 scripts/bench/measure.py "$@"; }
