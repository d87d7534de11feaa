#!/usr/bin/env bash
# Benchmarks `retarget eval score` against sacrebleu 2.6.0 on real
# multilingual text (issue #19): references are the Debian gettext
# translations (/usr/share/locale) and UDHR paragraphs of eight languages in
# six scripts — German, Basque (Latin), Russian (Cyrillic), Arabic, Hindi
# (Devanagari), Chinese, Japanese (CJK) and Thai; hypotheses are the
# references noised with a fixed seed (words dropped and one appended; in
# text without spaces, characters dropped). Corpus BLEU + chrF++, sentence-
# level BLEU and chrF, each tool once, side by side, then a check that both
# print the same scores (scripts/bench/eval_compare.sh).
# Usage: scripts/bench/eval_real.sh
source "$(dirname "$0")/common.sh" retarget-bench-eval-real
"$venv/bin/python" - "$work" <<'PY'
import random, sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from texts import gettext_catalogs, udhr_paragraphs
work = Path(sys.argv[1])
languages = {"de": "deu_1996", "eu": "eus", "ru": "rus", "ar": "arb", "hi": "hin", "zh_CN": "cmn_hans",
             "ja": "jpn", "th": "tha"}
unspaced = {"zh_CN", "ja", "th"}
rng = random.Random(7)
refs, hyps, counts = [], [], {}
for locale, udhr in languages.items():
    lines = [" ".join(t.split()) for c in gettext_catalogs(locale) for k, t in c.items()
             if k and isinstance(t, str) and t.strip()]
    lines += [p for p in udhr_paragraphs(Path("examples/assets/udhr/declaration") / f"{udhr}.html") if p]
    counts[locale] = len(lines)
    for line in lines:
        refs.append(line)
        if locale in unspaced:
            hyps.append("".join(ch for ch in line if rng.random() > 0.1) + rng.choice(line))
        else:
            words = line.split()
            hyps.append(" ".join(w for w in words if rng.random() > 0.15) + " " + rng.choice(words))
(work / "ref.txt").write_text("\n".join(refs) + "\n", encoding="utf-8")
(work / "hyp.txt").write_text("\n".join(hyps) + "\n", encoding="utf-8")
print(", ".join(f"{k} {v:,}" for k, v in counts.items()))
PY
echo "corpus: $(wc -l < "$work/ref.txt") segments, $(wc -c < "$work/ref.txt") bytes of references; $(nproc) cores"
bash scripts/bench/eval_compare.sh "$work/ref.txt" "$work/hyp.txt"
rm -rf "$work"
