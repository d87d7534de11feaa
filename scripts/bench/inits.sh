#!/usr/bin/env bash
# Compares the initialisations of new rows (scripts/bench/inits.sh): SmolLM2-135M
# (f32, from the example GGUF) adapted to German with `retarget adapt --add 1000`
# on the gettext catalogs Debian ships (/usr/share/locale/de): German messages to
# learn from, their English msgids as the parallel corpus for transtok, 200 held-out
# message pairs for fertility, parity against English and bits per byte under the
# base model and the expanded model with each initialisation (mean, random, transtok).
source "$(dirname "$0")/common.sh" retarget-inits-bench
"$venv/bin/python" - "$work" <<'PY'
import random, sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from texts import gettext_catalogs
work = Path(sys.argv[1])
pairs, seen = [], set()
for catalog in gettext_catalogs("de"):
    for msgid, text in catalog.items():
        if isinstance(msgid, str) and msgid and isinstance(text, str) and text.strip():
            pair = (" ".join(msgid.split()), " ".join(text.split()))
            if len(pair[0].split()) >= 3 and "%" not in pair[0] and pair not in seen:
                seen.add(pair)
                pairs.append(pair)
random.Random(0).shuffle(pairs)
held, learn = pairs[:200], pairs[200:]
for name, lines in [("de.txt", [t for _, t in learn]), ("en.txt", [k for k, _ in learn]),
                    ("de-held.txt", [t for _, t in held]), ("en-held.txt", [k for k, _ in held])]:
    (work / name).write_text("\n".join(lines) + "\n")
print(f"{len(learn)} message pairs to learn from, {len(held)} held out")
PY
"$bin" convert examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$work/model" >/dev/null
measure "retarget adapt --init transtok (and mean, random for comparison)" -- "$bin" adapt --model "$work/model" \
  --lang deu --corpus "$work/de.txt" --held-out "$work/de-held.txt" --parallel-ref "$work/en-held.txt" \
  --add 1000 --init transtok --parallel "$work/en.txt" "$work/de.txt" --out "$work/out"
cat "$work/out/report.json" | python3 -c "
import json, sys
r = json.load(sys.stdin)
print('base model: bits per byte %.4f, fertility %.3f, parity %.3f' % (r['before']['bits_per_byte'], r['before']['held_out']['fertility'], r['before']['held_out']['parity']))
print('expanded:   fertility %.3f, parity %.3f' % (r['after']['held_out']['fertility'], r['after']['held_out']['parity']))
for i in r['initialisations']:
    print('  %-9s bits per byte %.4f' % (i['init'], i['bits_per_byte']))"
for init in mean random transtok; do
  rm -rf "$work/e-$init"
  measure "retarget vocab expand --add 1000 --init $init" -- "$bin" vocab expand --model "$work/model" \
    --corpus "$work/de.txt" --add 1000 --init "$init" --parallel "$work/en.txt" "$work/de.txt" --out "$work/e-$init"
done
rm -rf "$work"
