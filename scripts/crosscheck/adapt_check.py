"""Cross-check of `retarget adapt`'s report: every before/after difference and
its 95 % interval recomputed here from per-line counts with numpy — the same
paired bootstrap (numpy `default_rng(0)`, `choice(n, size=(1000, n))`,
`percentile(…, [2.5, 97.5])`) over held-out lines.

Token counts come from the Python `tokenizers` package (the base and the
adapted tokenizer.json); per-line negative log-likelihoods from
`retarget score` on the written models (their agreement with transformers is
infer_check.py's job). The adapted model is the llama fixture expanded with
Swahili tokens learnt from UDHR articles, several whole articles held out,
English as the parity reference; once untrimmed, once trimmed (trimming's
own line: trimmed minus untrimmed).

Usage: adapt_check.py --retarget BIN --fixtures DIR --assets DIR --work DIR
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from common import finish, report, retarget
from texts import udhr_articles

RESAMPLES, SEED = 1000, 0


def ratio(num, den):
    """Σ num / Σ den over the last axis (0 where the denominators sum to 0)."""
    n, d = num.sum(axis=-1), den.sum(axis=-1)
    return np.where(d == 0, 0.0, n / np.where(d == 0, 1.0, d))


def bootstrap(after, before, den_after, den_before=None):
    """after − before (ratios of per-line sums) and its 95 % interval."""
    den_before = den_after if den_before is None else den_before
    n = len(after)
    value = ratio(after, den_after) - ratio(before, den_before)
    idx = np.random.default_rng(SEED).choice(n, size=(RESAMPLES, n), replace=True)
    deltas = ratio(after[idx], den_after[idx]) - ratio(before[idx], den_before[idx])
    low, high = np.percentile(deltas, [2.5, 97.5])
    return float(value), float(low), float(high)


def compare(name, got, want, tol):
    value, low, high = want
    diff = max(abs(got["value"] - value), abs(got["low"] - low), abs(got["high"] - high))
    excludes = low > 0 or high < 0
    report(
        diff <= tol and got["excludes_zero"] == excludes,
        name,
        f"retarget {got['value']:+.6f} [{got['low']:+.6f}, {got['high']:+.6f}], "
        f"numpy {value:+.6f} [{low:+.6f}, {high:+.6f}] (max diff {diff:.1e})",
    )


def per_line_tokens(tokenizer_file, lines):
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    return np.array([len(tokenizer.encode(l, add_special_tokens=False).ids) for l in lines], float)


def per_line_nll(binary, model, text_file):
    rows = [json.loads(l) for l in retarget(binary, "score", "--model", model, "-i", text_file, "--json").splitlines()]
    return np.array([r["nll"] for r in rows[:-1]], float)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--fixtures", required=True, type=Path)
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    folder = args.assets / "udhr" / "declaration"
    swahili, english = udhr_articles(folder / "swh.html"), udhr_articles(folder / "eng.html")
    base = args.fixtures / "llama-untied"
    # Whole articles that fit the fixture's 256-token context, the last ten.
    fits = Tokenizer.from_file(str(base / "tokenizer.json"))
    short = lambda text: len(fits.encode(text, add_special_tokens=False).ids) <= 200
    both = [n for n in sorted(swahili) if n in english and swahili[n] and english[n]
            and short(swahili[n]) and short(english[n])]
    held = both[-10:]
    (work / "sw.txt").write_text("\n".join(swahili[n] for n in sorted(swahili) if n not in held and swahili[n]) + "\n")
    (work / "held.txt").write_text("\n".join(swahili[n] for n in held) + "\n")
    (work / "en.txt").write_text("\n".join(english[n] for n in held) + "\n")
    held_lines = (work / "held.txt").read_text().splitlines()
    en_lines = (work / "en.txt").read_text().splitlines()
    reports = {}
    for name, extra in [("untrimmed", []), ("trimmed", ["--trim"])]:
        out = work / name
        reports[name] = json.loads(retarget(
            args.retarget, "adapt", "--model", base, "--lang", "swh", "--corpus", work / "sw.txt",
            "--held-out", work / "held.txt", "--parallel-ref", work / "en.txt", "--add", "40",
            "--out", out, "--json", *extra))
    r, t = reports["untrimmed"], reports["trimmed"]
    report(r["uncertainty"]["lines"] == len(held_lines) == 10, "held-out lines", f"{len(held_lines)}")

    before = per_line_tokens(base / "tokenizer.json", held_lines)
    after = per_line_tokens(work / "untrimmed" / "tokenizer.json", held_lines)
    words = np.array([len(l.split()) for l in held_lines], float)
    reference = per_line_tokens(base / "tokenizer.json", en_lines)
    compare("Δ fertility (tokens/word)", r["deltas"]["fertility"], bootstrap(after, before, words), 1e-12)
    compare("Δ parity (vs English)", r["deltas"]["parity"], bootstrap(after, before, reference), 1e-12)

    nbytes = np.array([len(l.encode()) for l in held_lines], float)
    base_bits = per_line_nll(args.retarget, base, work / "held.txt") / np.log(2)
    adapted_bits = per_line_nll(args.retarget, work / "untrimmed", work / "held.txt") / np.log(2)
    trimmed_bits = per_line_nll(args.retarget, work / "trimmed", work / "held.txt") / np.log(2)
    compare("Δ bits per byte (adapted − base)", r["deltas"]["bits_per_byte"],
            bootstrap(adapted_bits, base_bits, nbytes), 1e-9)
    compare("Δ bits per byte (initialisation mean, listed)", r["initialisations"][0]["delta"],
            bootstrap(adapted_bits, base_bits, nbytes), 1e-9)
    # Trimming's own line, and the untrimmed difference unchanged by trimming.
    compare("Δ bits per byte from trimming (trimmed − untrimmed)", t["trimming"]["delta"],
            bootstrap(trimmed_bits, adapted_bits, nbytes), 1e-9)
    report(t["deltas"]["bits_per_byte"] == r["deltas"]["bits_per_byte"]
           and t["after"]["bits_per_byte"] == r["after"]["bits_per_byte"],
           "with --trim, after and its difference are the untrimmed model's")
    # Warnings exactly where an interval includes zero (and is not a point at zero).
    unclear = [d for d in [t["deltas"]["fertility"], t["deltas"]["parity"], t["deltas"]["bits_per_byte"],
                           t["trimming"]["delta"]]
               if not d["excludes_zero"] and not (d["low"] == 0 and d["high"] == 0)]
    main_warnings = [w for w in t["warnings"] if w.startswith("Δ")]
    report(len(main_warnings) == len(unclear), "a warning for each interval that includes zero",
           f"{len(main_warnings)} warnings, {len(unclear)} such intervals")
    # Paths in report.json exist after the run.
    paths = [t["output"], t["before"]["held_out"]["tokenizer"], t["after"]["held_out"]["tokenizer"]]
    report(all(Path(p).exists() for p in paths), "report.json names only existing paths", ", ".join(paths))
    finish()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
