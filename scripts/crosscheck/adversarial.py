#!/usr/bin/env python3
"""Adversarial probe of the retarget binary, as a table.

- kills at random moments (SIGKILL, SIGTERM, SIGINT) during convert, merge,
  vocab expand and adapt: the output is complete or absent; a handled signal
  leaves no temporaries and exits 128 + signal; after SIGKILL the next run
  beside the debris removes it;
- a full disk, on a small tmpfs (where this machine allows mounting one; the
  rows say "skipped" otherwise), for every command that writes: exit 1, one
  line naming a path on that disk, nothing left behind;
- hostile files: a truncated GGUF, garbage weights, a YAML alias bomb, deep
  nesting, binary text, /dev/zero and a named pipe as text inputs: exit 2 with
  one line, quickly.

Only the standard library. Prints "N passed, M failed"; exits 1 on a failure.
Usage: adversarial.py --retarget BIN --fixtures-bin MAKE_FIXTURES --gguf SMOLLM2.gguf
       --work DIR [--seed N] [--kills N]
"""

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time

RESULTS = []


def record(name, ok, detail=""):
    RESULTS.append((name, ok, detail))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


def temporaries(folder):
    return sorted(n for n in os.listdir(folder) if "retarget-partial" in n)


class Probe:
    def __init__(self, args):
        self.bin = args.retarget
        self.work = args.work
        self.rng = random.Random(args.seed)
        self.kills = args.kills
        os.makedirs(self.work, exist_ok=True)
        fixtures = os.path.join(self.work, "fixtures")
        subprocess.run([args.fixtures_bin, fixtures], check=True, stdout=subprocess.DEVNULL)
        self.tiny = os.path.join(fixtures, "llama-tied")
        self.gguf = args.gguf
        self.text = os.path.join(self.work, "sw.txt")
        with open(self.text, "w") as f:
            for i in range(60):
                f.write(f"habari ya asubuhi rafiki {i}, nataka chai na mkate leo\n")

    def run(self, args, timeout=600):
        return subprocess.run([self.bin, *args], capture_output=True, text=True, timeout=timeout)

    def complete_or_absent(self, out):
        """Whether `out` is absent or a model that inspects cleanly, and why not."""
        if not os.path.exists(out):
            return True, ""
        inspected = self.run(["inspect", out])
        return inspected.returncode == 0, inspected.stderr.strip()[-200:]

    # ---- kills -------------------------------------------------------------

    def kill_rows(self, name, make_args):
        """make_args(out) gives the command writing `out`."""
        folder = os.path.join(self.work, "kill-" + name)
        os.makedirs(folder, exist_ok=True)
        out = os.path.join(folder, "out")
        start = time.monotonic()
        first = self.run(make_args(out))
        duration = time.monotonic() - start
        if first.returncode != 0:
            record(f"kill {name}: reference run", False, first.stderr.strip()[-300:])
            return
        shutil.rmtree(out)
        signals = [signal.SIGTERM, signal.SIGINT, signal.SIGKILL]
        for k in range(self.kills):
            sig = signals[k % len(signals)]
            delay = self.rng.uniform(0, duration * 1.1)
            proc = subprocess.Popen(
                [self.bin, *make_args(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            time.sleep(delay)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=300)
            code = proc.returncode
            row = f"kill {name} with {sig.name} after {delay:.2f}s of ~{duration:.2f}s"
            complete, why = self.complete_or_absent(out)
            if sig == signal.SIGKILL:
                ok = complete and code in (0, -signal.SIGKILL)
                left = temporaries(folder)
                probe = os.path.join(folder, "after-kill")
                cleaned = self.run(["convert", self.tiny, probe])
                shutil.rmtree(probe, ignore_errors=True)
                ok = ok and cleaned.returncode == 0 and not temporaries(folder)
                if left and "no longer runs" not in cleaned.stderr:
                    ok = False
                detail = f"exit {code}, debris {left} removed by the next run" if left else f"exit {code}"
            else:
                ok = complete and code in (0, 128 + sig) and not temporaries(folder)
                detail = f"exit {code}, temporaries {temporaries(folder)}"
            if "panicked" in err.decode(errors="replace"):
                ok = False
            if not complete:
                detail += f"; the output is incomplete: {why}"
            record(row, ok, detail)
            shutil.rmtree(out, ignore_errors=True)

    # ---- full disk -----------------------------------------------------------

    def mount_small(self, size):
        disk = os.path.join(self.work, f"small-{size}")
        os.makedirs(disk, exist_ok=True)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", disk], capture_output=True
        )
        return disk if mounted.returncode == 0 else None

    def disk_rows(self):
        merge_yml = os.path.join(self.work, "merge.yml")
        untied = os.path.join(os.path.dirname(self.tiny), "llama-untied")
        with open(merge_yml, "w") as f:
            f.write(
                f"merge_method: linear\nmodels:\n  - {{model: {self.tiny}, parameters: {{weight: 0.5}}}}\n"
                f"  - {{model: {untied}, parameters: {{weight: 0.5}}}}\n"
            )
        commands = {
            "convert": lambda out: ["convert", self.tiny, out],
            "vocab expand": lambda out: [
                "vocab", "expand", "--model", self.tiny, "--corpus", self.text, "--add", "20", "--out", out
            ],
            "vocab trim": lambda out: ["vocab", "trim", "--model", self.tiny, "--corpus", self.text, "--out", out],
            "merge": lambda out: ["merge", merge_yml, out],
            "adapt": lambda out: [
                "adapt", "--model", self.tiny, "--lang", "swh", "--corpus", self.text, "--add", "20", "--out", out
            ],
            "score --save-logits": lambda out: [
                "score", "--model", self.tiny, "-i", self.text, "--save-logits", out
            ],
            "translate -o": lambda out: [
                "translate", "--model", self.tiny, "--tgt", "swh", "-i", self.text,
                "--max-new-tokens", "2", "-o", out,
            ],
        }
        for full in (False, True):
            for name, make in commands.items():
                row = f"disk {'full' if full else 'filling up'}: {name}"
                if not full and name == "translate -o":
                    continue  # its output is a few bytes: only the full disk applies
                disk = self.mount_small("256k")
                if disk is None:
                    record(row, True, "skipped: this machine does not allow mounting a tmpfs")
                    continue
                try:
                    filler = os.path.join(disk, "filler")
                    if full:
                        try:
                            with open(filler, "wb", buffering=0) as f:
                                while True:
                                    f.write(b"\0" * 4096)
                        except OSError:
                            pass
                    result = self.run(make(os.path.join(disk, "out")))
                    lines = result.stderr.strip().splitlines()
                    left = sorted(set(os.listdir(disk)) - {"filler"})
                    ok = (
                        result.returncode == 1
                        and len(lines) == 1
                        and disk in lines[0]
                        and "panicked" not in result.stderr
                        and not left
                    )
                    record(row, ok, f"exit {result.returncode}: {lines[-1] if lines else ''}; left {left}")
                finally:
                    subprocess.run(["umount", disk])

    # ---- hostile files -------------------------------------------------------

    def hostile_rows(self):
        folder = os.path.join(self.work, "hostile")
        os.makedirs(folder, exist_ok=True)
        p = lambda name: os.path.join(folder, name)
        with open(self.gguf, "rb") as src, open(p("truncated.gguf"), "wb") as dst:
            dst.write(src.read(1 << 20))
        garbage = p("garbage")
        shutil.copytree(self.tiny, garbage)
        with open(os.path.join(garbage, "model.safetensors"), "wb") as f:
            f.write(random.Random(1).randbytes(1 << 16))
        with open(p("bomb.yml"), "w") as f:
            f.write('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n')
            for prev, name in zip("abcdefgh", "bcdefghi"):
                f.write(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n")
            f.write("merge_method: linear\nmodels: *i\n")
        with open(p("deep.yml"), "w") as f:
            f.write("merge_method: linear\nmodels: " + "[" * 200_000 + "]" * 200_000 + "\n")
        with open(p("binary.txt"), "wb") as f:
            f.write(random.Random(2).randbytes(4096))
        os.mkfifo(p("fifo"))
        cases = [
            ("truncated GGUF: inspect", ["inspect", p("truncated.gguf")]),
            ("truncated GGUF: convert", ["convert", p("truncated.gguf"), p("o1")]),
            ("garbage weights: score", ["score", "--model", garbage, "-i", self.text]),
            ("YAML alias bomb: merge", ["merge", p("bomb.yml"), p("o2")]),
            ("200,000-deep YAML: merge", ["merge", p("deep.yml"), p("o3")]),
            ("binary text: eval score", ["eval", "score", self.text, "-i", p("binary.txt")]),
            ("/dev/zero as text: eval tokenize", ["eval", "tokenize", "-i", "/dev/zero"]),
            ("named pipe without writer: vocab trim",
             ["vocab", "trim", "--model", self.tiny, "--corpus", p("fifo"), "--out", p("o4")]),
        ]
        for name, args in cases:
            start = time.monotonic()
            result = self.run(args, timeout=60)
            took = time.monotonic() - start
            lines = result.stderr.strip().splitlines()
            ok = result.returncode == 2 and len(lines) == 1 and took < 10 and not temporaries(folder)
            record(f"hostile {name}", ok, f"exit {result.returncode} in {took:.1f}s: {lines[-1][:160] if lines else ''}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retarget", required=True)
    parser.add_argument("--fixtures-bin", required=True)
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kills", type=int, default=6)
    probe = Probe(parser.parse_args())
    probe.kill_rows("convert GGUF", lambda out: ["convert", probe.gguf, out])
    smollm2 = os.path.join(probe.work, "smollm2")
    if not os.path.exists(smollm2):
        probe.run(["convert", probe.gguf, smollm2])
    merge_yml = os.path.join(probe.work, "kill-merge.yml")
    with open(merge_yml, "w") as f:
        f.write(
            f"merge_method: linear\nmodels:\n  - {{model: {smollm2}, parameters: {{weight: 0.3}}}}\n"
            f"  - {{model: {probe.gguf}, parameters: {{weight: 0.7}}}}\n"
        )
    probe.kill_rows("merge", lambda out: ["merge", merge_yml, out])
    probe.kill_rows(
        "vocab expand",
        lambda out: ["vocab", "expand", "--model", smollm2, "--corpus", probe.text, "--add", "10", "--out", out],
    )
    probe.kill_rows(
        "adapt",
        lambda out: [
            "adapt", "--model", smollm2, "--lang", "swh", "--corpus", probe.text, "--add", "10", "--out", out
        ],
    )
    probe.disk_rows()
    probe.hostile_rows()
    failed = sum(1 for _, ok, _ in RESULTS if not ok)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
