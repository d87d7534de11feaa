#!/usr/bin/env bash
# Benchmarks `retarget eval score` against sacrebleu 2.6.0 (from the
# cross-check virtualenv) on the same generated 100k-segment corpus: corpus
# BLEU+chrF++ and sentence-level BLEU / chrF (scripts/bench/eval_compare.sh).
# Usage: scripts/bench/eval.sh [SEGMENTS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
n=${1:-100000}
venv=$(bash scripts/crosscheck/venv.sh)
cargo build --release --quiet --bin retarget
bin="$root/target/release/retarget"
work=${BENCH_DIR:-/tmp/retarget-bench-eval}
rm -rf "$work" && mkdir -p "$work"
"$venv/bin/python" - "$work" "$n" <<'PY'
import random, sys
work, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
words = [f"w{i}" for i in range(3000)] + ["the", "a", "of", ",", ".", "!", "3.5", "don't", "Река", "北京", "नदी"]
def sentence():
    return " ".join(rng.choice(words) for _ in range(rng.randint(5, 40)))
with open(f"{work}/ref.txt", "w") as r, open(f"{work}/hyp.txt", "w") as h:
    for _ in range(n):
        s = sentence().split()
        r.write(" ".join(s) + "\n")
        h.write(" ".join(w for w in s if rng.random() > 0.15) + " " + rng.choice(words) + "\n")
PY
echo "corpus: $n segments, $(nproc) cores"
bash scripts/bench/eval_compare.sh "$work/ref.txt" "$work/hyp.txt"
rm -rf "$work"
