"""Accuracy of lingua's two modes on the UDHR (issue #19): every paragraph of
every declaration in the example assets whose language lingua knows,
identified by `retarget eval langid --backend lingua` and `--backend
lingua:low` with `--expect` the declaration's language (a label counts as
right when it is that language or its macrolanguage: `cmn` is `zh`). Per
mode: paragraphs right, wrong and undetermined, for paragraphs under 120
characters (where the high-accuracy mode uses n-grams of orders 1-5 and the
low one trigrams only), the longer ones, and all; and the wall time of the
pass.

Usage: lingua_accuracy.py RETARGET_BIN WORK_DIR
"""

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "crosscheck"))
from texts import udhr_paragraphs  # noqa: E402

MODES = ["lingua", "lingua:low"]


def main():
    binary, work = sys.argv[1], Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    files = sorted(Path("examples/assets/udhr/declaration").glob("*.html"))
    # One file of paragraphs per declaration whose language lingua knows
    # (asked through --langs: retarget refuses a language lingua cannot output).
    known = []
    for html in files:
        code = html.stem.split("_")[0]
        lines = [p for p in udhr_paragraphs(html) if p.strip()]
        check = subprocess.run([binary, "eval", "langid", "--langs", code, "--summary-only"],
                               input="x\n", capture_output=True, text=True)
        if check.returncode != 0 or not lines:
            continue
        # Short and long paragraphs apart, so that each file's summary counts one kind.
        for part, chosen in (("short", [p for p in lines if len(p) < 120]), ("long", [p for p in lines if len(p) >= 120])):
            if chosen:
                path = work / f"{html.stem}.{part}.txt"
                path.write_text("".join(line + "\n" for line in chosen), encoding="utf-8")
                known.append((code, part, path))
    paragraphs = sum(len(path.read_text(encoding="utf-8").splitlines()) for _, _, path in known)
    print(f"{len({c for c, _, _ in known})} languages lingua knows among {len(files)} UDHR declarations, "
          f"{paragraphs} paragraphs")
    for mode in MODES:
        counts = {"short": [0, 0, 0], "long": [0, 0, 0]}  # right, wrong, undetermined
        began = time.perf_counter()
        for code, part, path in known:
            out = subprocess.run([binary, "eval", "langid", "-i", path, "--backend", mode, "--expect", code,
                                  "--json", "--summary-only"], capture_output=True, text=True, check=True)
            summary = json.loads(out.stdout)["summary"]
            counts[part][0] += summary["on_target"]
            counts[part][1] += summary["off_target"]
            counts[part][2] += summary["undetermined"]
        seconds = time.perf_counter() - began
        every = [a + b for a, b in zip(counts["short"], counts["long"])]
        for part, (right, wrong, undetermined) in [*counts.items(), ("all", every)]:
            total = right + wrong + undetermined
            print(f"{mode} ({part}: {total} paragraphs): right {right} ({100 * right / total:.2f} %), "
                  f"wrong {wrong}, undetermined {undetermined}")
        print(f"{mode}: {seconds:.1f} s for the pass ({paragraphs / seconds:,.0f} paragraphs/s, "
              f"one process per file)")


if __name__ == "__main__":
    main()
