"""Cross-checks retarget's SentencePiece reader against Python `sentencepiece`
and sacrebleu's `flores101` / `flores200` BLEU against sacrebleu's own.

1. `retarget eval tokenize -tok flores101 --spm-model M` must print exactly
   `" ".join(sp.EncodeAsPieces(line))` for every line, for each `.model` file
   of the sentencepiece 0.2.3 sdist (unigram and BPE, English and Japanese),
   on Botchan (the sdist's own text), gettext translations in ten languages
   and whitespace / normalisation edge cases.
2. BLEU with `-tok flores101` / `-tok flores200` equals sacrebleu's (corpus
   and sentence level), sacrebleu reading the same models from its cache
   folder (SACREBLEU=<dir>, so it downloads nothing).

Usage: python sentencepiece_check.py --retarget BIN --assets DIR --work DIR
"""

import argparse
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import sentencepiece as spm

from common import finish, report
from texts import gettext_catalogs

MODELS = ["botchan_en_unigram_1000", "botchan_en_bpe_1000", "kyoto_ja_unigram_8000"]
LOCALES = ["ja", "de", "ru", "ar", "th", "zh_CN", "hi", "ko", "eu", "tt"]
EDGE_CASES = ["  leading and   inner   spaces  ", "\u3000全角スペース\u3000テスト", "ｱｲｳ ＡＢＣ １２３",
              "tab\tseparated", "😀 emoji 🎉🎉", "", "   ", "Ǆemal ﬁne ﬀ", "a\u00a0b\u2009c", "x" * 300,
              "Straße ÉCOLE naïve", "ﾊﾟﾋﾟﾌﾟ", "①②③ ⅷ", "<unk> <s> </s>"]


def gettext_lines(locale, limit):
    lines = []
    for catalog in gettext_catalogs(locale):
        lines += [v for v in catalog.values() if isinstance(v, str) and v and "\n" not in v and "\r" not in v]
        if len(lines) >= limit:
            break
    return lines[:limit]


def read_back(path):
    """Lines as retarget reads them: split on \\n, trailing whitespace removed."""
    return [line.rstrip() for line in path.read_text(encoding="utf-8").split("\n")[:-1]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    models = args.assets / "sentencepiece"

    lines = (models / "botchan.txt").read_text(encoding="utf-8-sig").splitlines()
    for locale in LOCALES:
        lines += gettext_lines(locale, 400)
    lines += EDGE_CASES
    text = args.work / "text.txt"
    text.write_text("".join(line.replace("\n", " ") + "\n" for line in lines), encoding="utf-8")
    lines = read_back(text)

    for name in MODELS:
        sp = spm.SentencePieceProcessor(model_file=str(models / f"{name}.model"))
        theirs = [" ".join(sp.EncodeAsPieces(line)) for line in lines]
        proc = subprocess.run([args.retarget, "eval", "tokenize", "-i", str(text), "--tokenize", "flores101",
                               "--spm-model", str(models / f"{name}.model")], capture_output=True, text=True)
        ours = proc.stdout.split("\n")[:-1]
        bad = [i for i, (o, t) in enumerate(zip(ours, theirs)) if o != t]
        same = proc.returncode == 0 and len(ours) == len(theirs) and not bad
        detail = f"{len(lines)} lines, {len(bad)} differ"
        if bad:
            i = bad[0]
            detail += f"; first, line {i + 1}: retarget {ours[i]!r}, sentencepiece {theirs[i]!r}"
        report(same, f"EncodeAsPieces {name}", detail if proc.returncode == 0 else proc.stderr.strip())

    # sacrebleu with the same models in its cache folder.
    cache = args.work / "sacrebleu-home"
    (cache / "models").mkdir(parents=True, exist_ok=True)
    shutil.copy(models / "botchan_en_unigram_1000.model", cache / "models" / "sacrebleu_tokenizer_spm.model")
    shutil.copy(models / "kyoto_ja_unigram_8000.model", cache / "models" / "flores200sacrebleuspm")
    env = {**os.environ, "SACREBLEU": str(cache), "NO_COLOR": "1"}
    rng = random.Random(5)
    for locale, tok, model in [("de", "flores101", "botchan_en_unigram_1000"), ("ja", "flores200", "kyoto_ja_unigram_8000")]:
        refs = gettext_lines(locale, 500)
        hyps = [" ".join(w for w in r.split() if rng.random() > 0.15) if rng.random() < 0.7 else r[: len(r) // 2]
                for r in refs]
        ref_file, hyp_file = args.work / f"{locale}.ref", args.work / f"{locale}.hyp"
        ref_file.write_text("".join(r + "\n" for r in refs), encoding="utf-8")
        hyp_file.write_text("".join(h + "\n" for h in hyps), encoding="utf-8")
        for extra in [[], ["-sl"]]:
            common = [str(ref_file), "-i", str(hyp_file), "-m", "bleu", "-tok", tok, "-f", "text", "-w", "6", *extra]
            theirs = subprocess.run([str(Path(sys.executable).parent / "sacrebleu"), *common, "-q"],
                                    capture_output=True, text=True, env=env, check=True).stdout
            ours = subprocess.run([args.retarget, "eval", "score", *common, "--spm-model", str(models / f"{model}.model")],
                                  capture_output=True, text=True, check=True).stdout
            ours = ours.replace("retarget-0.1.0", "2.6.0")
            mode = "sentence" if extra else "corpus"
            report(ours == theirs, f"sacrebleu -tok {tok} BLEU ({mode}, {len(refs)} gettext-{locale} segments)",
                   "" if ours == theirs else f"\n--- retarget\n{ours[:500]}--- sacrebleu\n{theirs[:500]}")

    finish()


if __name__ == "__main__":
    main()
