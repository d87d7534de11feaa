"""Runs a command and reports its wall time and peak anonymous memory.

Peak anonymous memory is the maximum of `RssAnon` in /proc/PID/status (not
file-backed pages, so memory-mapped inputs do not count), sampled every 2 ms
over the process and its children. Prints one JSON object.

Usage: python3 measure.py LABEL -- COMMAND [ARGS...]
"""

import json
import os
import subprocess
import sys
import time


def rss_anon_kib(pid):
    total = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    total += int(line.split()[1])
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            for child in f.read().split():
                total += rss_anon_kib(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def main():
    label = sys.argv[1]
    command = sys.argv[sys.argv.index("--") + 1:]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, rss_anon_kib(proc.pid))
        time.sleep(0.002)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{label}: command failed with exit code {proc.returncode}")
    print(json.dumps({"label": label, "wall_s": round(wall, 3), "peak_anon_mib": round(peak / 1024, 1)}))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
