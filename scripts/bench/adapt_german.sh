#!/usr/bin/env bash
# Benchmarks `retarget adapt` end to end on a corpus of real size (issue #19):
# SmolLM2-135M-Instruct (the example GGUF, converted on the way) adapted to
# German with +1,000 tokens learnt from 22,000 Debian gettext messages (the
# last tenth held out by default: 2,200 lines), mean rows, trimmed. Wall time
# and peak anonymous memory of the whole run, then where the time went, stage
# by stage, from the report's `timings`.
# Usage: scripts/bench/adapt_german.sh [LINES]  (default 22000)
source "$(dirname "$0")/common.sh" retarget-adapt-german-bench
lines=${1:-22000}
gguf=examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
python3 scripts/bench/german_messages.py "$work/de.txt" "$lines"
cat "$gguf" >/dev/null
echo "model: $gguf; corpus: $(wc -l < "$work/de.txt") lines, $(wc -c < "$work/de.txt") bytes of German; $(nproc) cores"
measure "retarget adapt --add 1000 --trim" -- "$bin" adapt --model "$gguf" --lang deu \
  --corpus "$work/de.txt" --add 1000 --trim --out "$work/out"
python3 - "$work/out/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
total = sum(t["seconds"] for t in report["timings"])
print(f"stages ({total:.1f} s in all):")
for t in report["timings"]:
    print(f"  {t['stage']:<28}{t['seconds']:8.2f} s  {100 * t['seconds'] / total:5.1f} %")
seen = [t["stage"] for t in report["timings"]]
print("every stage once:", len(seen) == len(set(seen)))
print(f"{report['lines'][0]} lines learnt from, {report['lines'][1]} held out; "
      f"vocabulary {report['before']['tokens']} -> {report['after']['tokens']}")
PY
rm -rf "$work"
