"""INCLINE's effect on held-out NLL: maps fitted (`retarget steer fit incline`)
on the 20 Swahili UDHR articles the README example learns from and their
English versions, held-out Swahili NLL per token (`retarget score`, the other
10 articles) with `--steer MAPS:incline=α` for every α of a fixed sweep, at
both sites (MLP output, the released code; hidden state, the paper's best).
Nothing is chosen on the held-out text: every α is printed.

Usage: incline_effect.py RETARGET MODEL WORK [--assets examples/assets]
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "crosscheck"))
from texts import udhr_articles  # noqa: E402

ALPHAS = [-0.1, 0.0, 0.02, 0.05, 0.1, 0.2]


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True).stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("retarget")
    parser.add_argument("model")
    parser.add_argument("work", type=Path)
    parser.add_argument("--assets", type=Path, default=Path("examples/assets"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    folder = args.assets / "udhr" / "declaration"
    swahili, english = udhr_articles(folder / "swh.html"), udhr_articles(folder / "eng.html")
    held = [n for n in sorted(swahili) if n % 3 == 0 and n in english and swahili[n] and english[n]]
    pairs = [n for n in sorted(swahili) if n not in held and n in english and swahili[n] and english[n]]
    source, target, held_file = (args.work / name for name in ["pairs.swh.txt", "pairs.eng.txt", "held.swh.txt"])
    source.write_text("\n".join(swahili[n] for n in pairs) + "\n", encoding="utf-8")
    target.write_text("\n".join(english[n] for n in pairs) + "\n", encoding="utf-8")
    held_file.write_text("\n".join(swahili[n] for n in held) + "\n", encoding="utf-8")
    print(f"{len(pairs)} pairs, {len(held)} held-out Swahili articles")
    print("| site | " + " | ".join(f"α = {a:g}" for a in ALPHAS) + " |")
    print("| --- |" + " ---: |" * len(ALPHAS))
    for site, label in [("mlp", "MLP output (released code)"), ("residual", "hidden state (paper's best)")]:
        maps = args.work / f"incline-{site}.safetensors"
        run(args.retarget, "steer", "fit", "incline", "--model", args.model, "--parallel", source, target,
            "--site", site, "--out", maps, "--force")
        cells = []
        for alpha in ALPHAS:
            out = run(args.retarget, "score", "--model", args.model, "-i", held_file, "--json",
                      "--steer", f"{maps}:incline={alpha}")
            summary = json.loads(out.splitlines()[-1])
            cells.append(f"{summary['total_nll'] / summary['total_tokens']:.3f}")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
