"""Runs sacrebleu 2.6.0's own test suite (from its sdist, cached in
~/.cache/retarget) with ``sacrebleu`` aliased to ``retarget.sacrebleu``, and
reports which tests pass. Tests that cannot apply are listed with the reason;
any other failure fails this script.

Usage: python scripts/py/sacrebleu_suite.py --work DIR
"""

import argparse
import os
import subprocess
import sys
import tarfile
from pathlib import Path

VERSION = "2.6.0"

# Tests that exercise what retarget.sacrebleu does not provide, and why.
NOT_APPLICABLE = {
    "test/test_api.py": "test-set catalogue and downloads (sacrebleu.dataset, utils.get_available_testsets): "
                        "retarget downloads nothing",
    "test/test_dataset.py": "test-set downloads and parsing (sacrebleu.dataset)",
    "test/test_bleu.py::test_max_ngram_order[5-hyps4-refs4-46.14]": "BLEU n-grams above order 4 (retarget counts orders 1-4)",
    "test/test_bleu.py::test_max_ngram_order[6-hyps5-refs5-43.28]": "BLEU n-grams above order 4 (retarget counts orders 1-4)",
}


def sdist(cache):
    path = cache / f"sacrebleu-{VERSION}.tar.gz"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                        f"sacrebleu=={VERSION}", "-d", str(cache)], check=True)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args()
    cache = Path(os.environ.get("RETARGET_CACHE", Path.home() / ".cache" / "retarget")) / "sacrebleu-sdist"
    args.work.mkdir(parents=True, exist_ok=True)
    with tarfile.open(sdist(cache)) as tar:
        tar.extractall(args.work, filter="data")
    src = args.work / f"sacrebleu-{VERSION}"
    (src / "test" / "conftest.py").write_text("import retarget.sacrebleu\nretarget.sacrebleu.install()\n")
    report = args.work / "report.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-rA",
         "--continue-on-collection-errors", "test"],
        cwd=src, capture_output=True, text=True)
    report.write_text(proc.stdout + proc.stderr)
    passed, failed = [], []
    for line in proc.stdout.splitlines():
        word, _, rest = line.partition(" ")
        test = rest.split(" - ")[0].strip()
        if word == "PASSED":
            passed.append(test)
        elif word in ("FAILED", "ERROR"):
            failed.append(test)
    unexpected = [t for t in failed if t not in NOT_APPLICABLE]
    print(f"sacrebleu {VERSION}'s suite on retarget.sacrebleu: {len(passed)} passed, "
          f"{len(failed)} not applicable or failed")
    for test in failed:
        print(f"  {test}: {NOT_APPLICABLE.get(test, 'UNEXPECTED FAILURE')}")
    if unexpected or not passed:
        print(proc.stdout[-5000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
