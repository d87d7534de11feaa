"""Benchmarks scripts/ray/filter_corpus.py on a local Ray cluster: lines per
second with 1 and 2 workers, the peak anonymous memory of each worker
(sampled from /proc every 20 ms), beside `retarget eval langid` on the same
file (one process, all cores). Backend: fastText lid.176.ftz. Each result is
one JSON line. Usage: python ray_filter.py WORK RETARGET_BIN [COPIES]
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "crosscheck"))
from texts import udhr_paragraphs  # noqa: E402


def workers_rss():
    """RssAnon (KiB) of every Ray map worker process."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"MapWorker" not in cmd:
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    out[pid] = int(line.split()[1])
        except OSError:
            continue
    return out


def run_sampled(cmd):
    peaks, done = {}, threading.Event()

    def sample():
        while not done.is_set():
            for pid, kib in workers_rss().items():
                peaks[pid] = max(peaks.get(pid, 0), kib)
            time.sleep(0.02)

    thread = threading.Thread(target=sample)
    thread.start()
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    done.set()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return wall, proc.stdout, peaks


def main():
    work, binary = Path(sys.argv[1]), sys.argv[2]
    copies = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    work.mkdir(parents=True, exist_ok=True)
    folder = ROOT / "examples/assets/udhr/declaration"
    lines = [p for f in sorted(folder.glob("*.html")) for p in udhr_paragraphs(f) if p] * copies
    text = work / "corpus.txt"
    text.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    model = ROOT / "examples/assets/fasttext/lid.176.ftz"
    backend = f"fasttext:{model}"
    wall, _, _ = run_sampled([binary, "eval", "langid", "-i", str(text), "--backend", backend, "--expect", "sw",
                              "--summary-only"])
    print(json.dumps({"bench": "retarget eval langid", "lines": len(lines), "seconds": round(wall, 2),
                      "lines_per_s": round(len(lines) / wall)}), flush=True)
    for workers in (1, 2):
        out = work / f"kept-{workers}"
        wall, stdout, peaks = run_sampled(
            [sys.executable, str(ROOT / "scripts/ray/filter_corpus.py"), "--input", str(text), "--lang", "sw",
             "--out", str(out), "--workers", str(workers), "--backend", backend, "--batch-size", "8192"])
        report = json.loads(stdout)
        print(json.dumps({
            "bench": f"ray filter, {workers} worker(s)", "lines": report["lines"],
            "pipeline_seconds": report["seconds"], "lines_per_s": report["lines_per_second"],
            "wall_with_ray_start_s": round(wall, 2),
            "worker_peak_rss_anon_mib": sorted(round(k / 1024) for k in peaks.values()),
            "kept": report["on_target"]}), flush=True)


if __name__ == "__main__":
    main()
