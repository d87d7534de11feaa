"""Helpers shared by the cross-check scripts: PASS/FAIL reporting with a
final tally, and running the retarget binary."""

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
