"""Cross-checks `retarget eval score` against sacrebleu 2.6.0.

Corpora: generated multilingual text and real translations from the gettext
catalogs under /usr/share/locale (Latin, Cyrillic, Arabic, Devanagari, CJK and
Thai scripts), with hypotheses derived from the references by deterministic
edits, single- and multi-reference. For every metric, tokenizer, case and
smoothing option: corpus scores and sentence scores must agree to 1e-9, and
the printed text/JSON output must be identical except for the `version:`
field of the signature.

Usage: python sacrebleu_check.py --retarget BIN --work DIR
"""

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from sacrebleu.metrics import BLEU, CHRF, TER

import common
from texts import gettext_catalogs

TOLERANCE = 1e-9


def report(ok, name, detail=""):
    """Thousands of comparisons: only failures are printed (all with VERBOSE=1)."""
    common.report(ok, name, detail, quiet=not os.environ.get("VERBOSE"))


def catalog_pairs(locale, limit):
    pairs = {}
    for catalog in gettext_catalogs(locale):
        for src, tgt in catalog.items():
            if isinstance(src, str) and src and isinstance(tgt, str) and tgt.strip():
                if "\n" not in src and "\n" not in tgt and len(tgt) < 300:
                    pairs.setdefault(src.strip(), tgt.strip())
    items = sorted(pairs.items())
    random.Random(locale).shuffle(items)
    return items[:limit]


def perturb(text, rng):
    """A plausible system output: word (or, without spaces, character) edits."""
    units = text.split()
    joiner = " "
    if len(units) <= 1:
        units, joiner = list(text), ""
    out = []
    for u in units:
        r = rng.random()
        if r < 0.08:
            continue
        if r < 0.14:
            out.extend([u, u])
        elif r < 0.20 and out:
            out.insert(len(out) - 1, u)
        elif r < 0.26:
            out.append(u.upper() if u.lower() == u else u.lower())
        elif r < 0.30:
            out.append(u + rng.choice(".,!?;:"))
        else:
            out.append(u)
    return joiner.join(out)


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def build_corpora(work):
    corpora = {}
    rng = random.Random(2026)
    words = ("the cat sat on mat a dog ran 3.5 km , . ! ? ( ) & &amp; &lt; don't it's 1,000 "
             "mtoto alikula chakula haraka sana ibaia etxea Москва река 北京 我们 東京 "
             "नदी गाँव مرحبا العالم สวัสดี – — « » ' \" 10-20 U.S.A. e-mail").split()
    refs = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 25))) for _ in range(400)]
    corpora["generated"] = (
        [perturb(r, rng) for r in refs],
        [refs, [perturb(r, rng) for r in refs]],
    )
    for locale in ["de", "eu", "ru", "tt", "ar", "hi", "zh_CN", "ja", "th"]:
        pairs = catalog_pairs(locale, 300)
        if len(pairs) < 50:
            continue
        refs = [t for _, t in pairs]
        hyps = [s if rng.random() < 0.1 else perturb(t, rng) for s, t in pairs]
        corpora[f"gettext-{locale}"] = (hyps, [refs])
        corpora[f"gettext-{locale}-2refs"] = (hyps, [refs, [perturb(t, rng) for t in refs]])
    files = {}
    for name, (hyps, refs) in corpora.items():
        d = work / name
        d.mkdir(parents=True, exist_ok=True)
        write_lines(d / "hyp.txt", hyps)
        ref_paths = []
        for k, r in enumerate(refs):
            write_lines(d / f"ref{k}.txt", r)
            ref_paths.append(d / f"ref{k}.txt")
        files[name] = (d / "hyp.txt", ref_paths, hyps, refs)
    return files


# (metric, CLI flags, sacrebleu constructor)
CONFIGS = []
for tok in ["13a", "none", "intl", "zh", "char"]:
    for lc in [False, True]:
        for smooth, value in [("exp", None), ("floor", None), ("floor", 0.3), ("add-k", None), ("add-k", 2.0), ("none", None)]:
            flags = ["-m", "bleu", "-tok", tok, "-s", smooth] + (["-lc"] if lc else []) + (["-sv", str(value)] if value is not None else [])
            CONFIGS.append(("bleu", flags, dict(tokenize=tok, lowercase=lc, smooth_method=smooth, smooth_value=value)))
for cw in [0, 2]:
    for extra, kwargs in [([], {}), (["--chrf-lowercase"], dict(lowercase=True)), (["--chrf-whitespace"], dict(whitespace=True)),
                          (["--chrf-eps-smoothing"], dict(eps_smoothing=True)), (["--chrf-beta", "3"], dict(beta=3)),
                          (["-cc", "4"], dict(char_order=4))]:
        CONFIGS.append(("chrf", ["-m", "chrf", "-cw", str(cw)] + extra, dict(word_order=cw, **kwargs)))
for norm in [False, True]:
    for punct in [False, True]:
        for asian in [False, True]:
            for case in [False, True]:
                flags = ["-m", "ter"] + (["--ter-normalized"] if norm else []) + (["--ter-no-punct"] if punct else []) \
                    + (["--ter-asian-support"] if asian else []) + (["--ter-case-sensitive"] if case else [])
                CONFIGS.append(("ter", flags, dict(normalized=norm, no_punct=punct, asian_support=asian, case_sensitive=case)))


def metric(kind, kwargs, sentence=False):
    if kind == "bleu":
        return BLEU(effective_order=sentence, **kwargs)
    if kind == "chrf":
        return CHRF(**kwargs)
    return TER(**kwargs)


def run(binary, args):
    proc = subprocess.run([binary, "eval", "score", *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"retarget eval score {' '.join(map(str, args))}: {proc.stderr}")
    return proc.stdout


def check_scores(binary, files):
    for corpus, (hyp_path, ref_paths, hyps, refs) in files.items():
        worst = 0.0
        for kind, flags, kwargs in CONFIGS:
            if kind == "ter" and len(hyps) > 150:
                hyps_c, refs_c = hyps[:150], [r[:150] for r in refs]
                d = hyp_path.parent / "ter-subset"
                d.mkdir(exist_ok=True)
                write_lines(d / "hyp.txt", hyps_c)
                paths = []
                for k, r in enumerate(refs_c):
                    write_lines(d / f"ref{k}.txt", r)
                    paths.append(d / f"ref{k}.txt")
                h_path = d / "hyp.txt"
            else:
                hyps_c, refs_c, paths, h_path = hyps, refs, ref_paths, hyp_path
            expected = metric(kind, kwargs).corpus_score(hyps_c, refs_c).score
            got = float(run(binary, [*paths, "-i", h_path, *flags, "-b", "-w", "15", "-f", "text"]).strip())
            diff = abs(got - expected)
            worst = max(worst, diff)
            if diff > TOLERANCE:
                report(False, f"{corpus} {' '.join(flags)}", f"retarget {got!r} vs sacrebleu {expected!r}")
            # Sentence level on a prefix.
            n = 40
            m = metric(kind, kwargs, sentence=True)
            sub = hyp_path.parent / "sl"
            sub.mkdir(exist_ok=True)
            write_lines(sub / "hyp.txt", hyps_c[:n])
            sl_refs = []
            for k, r in enumerate(refs_c):
                write_lines(sub / f"ref{k}.txt", r[:n])
                sl_refs.append(sub / f"ref{k}.txt")
            ours = [float(x) for x in run(binary, [*sl_refs, "-i", sub / "hyp.txt", *flags, "-sl", "-b", "-w", "15"]).split()]
            theirs = [m.sentence_score(h, [r[i] for r in refs_c]).score for i, h in enumerate(hyps_c[:n])]
            sl_diff = max(abs(a - b) for a, b in zip(ours, theirs))
            worst = max(worst, sl_diff)
            if sl_diff > TOLERANCE or len(ours) != len(theirs):
                report(False, f"{corpus} {' '.join(flags)} -sl", f"max diff {sl_diff}")
        report(worst <= TOLERANCE, f"{corpus}: {len(CONFIGS)} configurations, corpus and sentence scores", f"max abs diff {worst:.2g}")


def check_output_format(binary, sacrebleu_cli, files):
    hyp_path, ref_paths, _, _ = files["gettext-de-2refs"] if "gettext-de-2refs" in files else files["generated"]
    cases = [
        ["-m", "bleu", "chrf", "ter"],
        ["-m", "bleu", "chrf", "ter", "-f", "text"],
        ["-m", "chrf", "-cw", "2", "-w", "3"],
        ["-m", "bleu", "-tok", "intl", "-lc", "-s", "floor", "-f", "text", "-w", "4"],
        ["-m", "bleu", "chrf", "-b", "-f", "text"],
        ["-m", "ter", "--ter-normalized", "--ter-asian-support"],
    ]
    for args in cases:
        ours = run(binary, [*ref_paths, "-i", hyp_path, *args]).replace("retarget-0.1.0", "2.6.0")
        proc = subprocess.run([sacrebleu_cli, *map(str, ref_paths), "-i", str(hyp_path), *args, "-q"],
                              capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"})
        report(ours == proc.stdout, f"output format identical to sacrebleu's: {' '.join(args)}",
               "" if ours == proc.stdout else f"\n--- retarget\n{ours}--- sacrebleu\n{proc.stdout}")


P_TOLERANCE = 0.02


def check_paired(binary, files, work):
    """--paired-bs / --paired-ar: the same scores, p-values (issue: within
    0.02; the same seed gives numpy's stream, so they are usually equal) and
    bootstrap means / confidence intervals as sacrebleu's PairedTest."""
    from sacrebleu.metrics import BLEU, CHRF, TER
    from sacrebleu.significance import PairedTest

    rng = random.Random(11)
    for corpus in ["generated", "gettext-de-2refs", "gettext-ru", "gettext-zh_CN", "gettext-th-2refs"]:
        if corpus not in files:
            continue
        hyp_path, ref_paths, hyps, refs = files[corpus]
        # A close competitor and a clearly worse system.
        close = [r if rng.random() < 0.1 else h for h, r in zip(hyps, refs[0])]
        worse = [perturb(h, rng) for h in hyps]
        systems = [hyps, close, worse]
        paths = [hyp_path]
        for k, system in enumerate(systems[1:]):
            paths.append(work / corpus / f"system{k + 1}.txt")
            write_lines(paths[-1], system)
        for test, n, flags in [("bs", 1000, ["--paired-bs"]), ("ar", 2000, ["--paired-ar", "--paired-ar-n", "2000"])]:
            metrics = {"bleu": BLEU(references=refs), "chrf": CHRF(references=refs, word_order=2),
                       "ter": TER(references=refs)}
            named = [(f"Baseline: {paths[0]}", systems[0])] + [(str(p), s) for p, s in zip(paths[1:], systems[1:])]
            _, theirs = PairedTest(named, metrics, references=None, test_type=test, n_samples=n)()
            ours = json.loads(run(binary, [*ref_paths, "-i", *paths, "-m", "bleu", "chrf", "ter", "-cw", "2",
                                           "-f", "json", *flags]))
            worst_p = worst_other = 0.0
            for name in ["BLEU", "chrF2++", "TER"]:
                for k, result in enumerate(theirs[name]):
                    mine = ours[k][name]
                    if result.p_value is not None:
                        worst_p = max(worst_p, abs(mine["p_value"] - result.p_value))
                    worst_other = max(worst_other, abs(mine["score"] - result.score))
                    for key in ["mean", "ci"]:
                        if getattr(result, key) is not None:
                            worst_other = max(worst_other, abs(mine[key] - float(getattr(result, key))))
            report(worst_p <= P_TOLERANCE and worst_other <= 1e-3,
                   f"{corpus} --paired-{test} ({n} samples, 3 systems)",
                   f"max |Δp| {worst_p:.2g}, max |Δscore/mean/ci| {worst_other:.2g}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args()
    files = build_corpora(args.work)
    check_scores(args.retarget, files)
    check_output_format(args.retarget, str(Path(sys.executable).parent / "sacrebleu"), files)
    check_paired(args.retarget, files, args.work)
    common.finish()


if __name__ == "__main__":
    main()
