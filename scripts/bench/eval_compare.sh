#!/usr/bin/env bash
# The measurements of scripts/bench/eval.sh and eval_real.sh on one prepared
# corpus: `retarget eval score` against sacrebleu 2.6.0 (cross-check
# virtualenv) — corpus BLEU + chrF++, sentence-level BLEU and chrF, each tool
# once, side by side — then a check that both print the same corpus scores
# and sentence-level BLEU and chrF. Usage: eval_compare.sh REF HYP (the release binary
# built by the caller)
set -euo pipefail
cd "$(dirname "$0")/../.."
ref=$1 hyp=$2
bin="$PWD/target/release/retarget"
sb="$(bash scripts/crosscheck/venv.sh)/bin/sacrebleu"
measure() { python3 scripts/bench/measure.py "$@"; }
measure "sacrebleu corpus BLEU+chrF++" -- "$sb" "$ref" -i "$hyp" -m bleu chrf -cw 2 -q
measure "retarget  corpus BLEU+chrF++" -- "$bin" eval score "$ref" -i "$hyp" -m bleu chrf -cw 2
measure "sacrebleu sentence BLEU" -- "$sb" "$ref" -i "$hyp" -m bleu -sl -q
measure "retarget  sentence BLEU" -- "$bin" eval score "$ref" -i "$hyp" -m bleu -sl
measure "sacrebleu sentence chrF" -- "$sb" "$ref" -i "$hyp" -m chrf -sl -q
measure "retarget  sentence chrF" -- "$bin" eval score "$ref" -i "$hyp" -m chrf -sl
diff <("$sb" "$ref" -i "$hyp" -m bleu chrf -cw 2 -q -b -f text) \
     <("$bin" eval score "$ref" -i "$hyp" -m bleu chrf -cw 2 -b -f text) && echo "corpus scores identical"
diff <("$sb" "$ref" -i "$hyp" -m bleu -sl -q -b) \
     <("$bin" eval score "$ref" -i "$hyp" -m bleu -sl -b) >/dev/null && echo "sentence BLEU identical"
diff <("$sb" "$ref" -i "$hyp" -m chrf -sl -q -b) \
     <("$bin" eval score "$ref" -i "$hyp" -m chrf -sl -b) >/dev/null && echo "sentence chrF identical"
