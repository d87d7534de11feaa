"""Helpers shared by the cross-check scripts: PASS/FAIL reporting with a
final tally, running the retarget binary, and saving random models."""

import shutil
import subprocess
import sys

RESULTS = {"passed": 0, "failed": 0}


def report(ok, name, detail="", quiet=False):
    """Counts one check and prints its PASS/FAIL line (a passing `quiet`
    check prints nothing)."""
    RESULTS["passed" if ok else "failed"] += 1
    if not ok or not quiet:
        print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


def finish():
    """Prints the tally and exits 1 if anything failed."""
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


def run(binary, *args, check=True):
    """Runs `retarget ARGS`; returns the completed process (raises on a
    non-zero exit when `check`)."""
    proc = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"retarget {' '.join(map(str, args))} failed ({proc.returncode}): {proc.stderr}")
    return proc


def retarget(binary, *args):
    """Runs `retarget ARGS` and returns its standard output."""
    return run(binary, *args).stdout


def save_random(model, out, tokenizer_files):
    """Fills every parameter of the transformers `model` from N(0, 0.3²)
    (torch seed 0), saves it into `out` (safetensors) and copies
    `tokenizer_files` beside it; returns `out`."""
    import torch
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    model.save_pretrained(out, safe_serialization=True)
    for path in tokenizer_files:
        shutil.copy(path, out / path.name)
    return out
