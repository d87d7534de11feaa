"""The effect of deactivating a language's LAPE neurons, measured on held-out text.

For each language, UDHR paragraphs are split: the first two thirds (plus up
to 300 Debian gettext messages where the language has a catalog) to find
the neurons with `retarget neurons`, the last third held out. Then every
held-out text is scored (`retarget score`, NLL in nats per token) with no
steer and with each language's neurons deactivated (`--steer
FILE:deactivate=LANG`). Prints a table: rows = deactivated language,
columns = held-out language, entries = change in NLL per token against no
steer; and the neurons per language.

Usage: neurons_effect.py RETARGET MODEL_DIR WORK_DIR [--max-tokens N]
Standard library only (the UDHR and gettext readers of scripts/crosscheck).
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "crosscheck"))
from texts import gettext_catalogs, udhr_paragraphs  # noqa: E402

# UDHR code, gettext locale (None: no catalog used).
LANGUAGES = [("eng", None), ("deu_1996", "de"), ("fra", "fr"), ("spa", "es"), ("swh", None),
             ("eus", "eu"), ("tat", "tt"), ("rus", "ru")]


def texts(assets, work):
    fit, held = {}, {}
    for code, locale in LANGUAGES:
        paragraphs = [p for p in udhr_paragraphs(assets / "udhr" / "declaration" / f"{code}.html") if p]
        cut = 2 * len(paragraphs) // 3
        lines = paragraphs[:cut]
        if locale:
            messages = []
            for catalog in gettext_catalogs(locale):
                messages += [v for v in catalog.values() if isinstance(v, str) and v.strip() and "\n" not in v]
                if len(messages) >= 300:
                    break
            lines += messages[:300]
        fit[code] = work / f"fit.{code}.txt"
        fit[code].write_text("\n".join(lines) + "\n", encoding="utf-8")
        held[code] = paragraphs[cut:]
    return fit, held


def score(binary, model, held_file, steer):
    args = [binary, "score", "--model", model, "-i", held_file, "--json"]
    if steer:
        args += ["--steer", steer]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()][:-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("retarget")
    parser.add_argument("model")
    parser.add_argument("work", type=Path)
    parser.add_argument("--assets", type=Path, default=Path("examples/assets"))
    parser.add_argument("--max-tokens", type=int, default=100_000)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    fit, held = texts(args.assets, args.work)
    neurons = args.work / "neurons.safetensors"
    started = time.time()
    command = [args.retarget, "neurons", "--model", args.model, "--out", str(neurons), "--force", "--json",
               "--max-tokens", str(args.max_tokens)]
    for code, path in fit.items():
        command += ["--text", f"{code}={path}"]
    summary = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    seconds = time.time() - started
    tokens = sum(summary["tokens"])
    print(f"neurons: {tokens} tokens in {seconds:.1f} s ({tokens / seconds:.0f} tokens/s, model load included); "
          + ", ".join(f"{p['language']} {p['total']}" for p in summary["per_language"]))
    held_file = args.work / "held-out.txt"
    order = [code for code, _ in LANGUAGES]
    lines = [line for code in order for line in held[code]]
    held_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spans, start = {}, 0
    for code in order:
        spans[code] = (start, start + len(held[code]))
        start += len(held[code])

    def per_language(rows):
        result = {}
        for code, (a, b) in spans.items():
            nll = sum(r["nll"] for r in rows[a:b])
            n = sum(r["tokens"] for r in rows[a:b])
            result[code] = nll / n
        return result

    base = per_language(score(args.retarget, args.model, held_file, None))
    print("held-out NLL per token, no steer: " + ", ".join(f"{c} {base[c]:.3f}" for c in order))
    print("change in held-out NLL per token (nats) with a language's neurons deactivated")
    print(f"{'deactivated':<12}" + "".join(f"{c[:8]:>9}" for c in order))
    for deactivated in order:
        steered = per_language(score(args.retarget, args.model, held_file, f"{neurons}:deactivate={deactivated}"))
        print(f"{deactivated:<12}" + "".join(f"{steered[c] - base[c]:>+9.3f}" for c in order))


if __name__ == "__main__":
    main()
