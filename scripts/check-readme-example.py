#!/usr/bin/env python3
"""Checks that the report README.md shows for the example is what
`scripts/example.sh` prints. Reads the example's output on standard input.
Usage: RETARGET=target/debug/retarget bash scripts/example.sh | python3 scripts/check-readme-example.py
"""
import re
import sys
from pathlib import Path

readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
shown = re.search(r"It ends with this report[^\n]*\n[^\n]*\n\n```\n(.*?)```", readme, re.S)
if not shown:
    sys.exit("README.md: the example's report block is missing")
printed = sys.stdin.read()
start = printed.find("wrote examples/out/smollm2-135m-swahili")
if start < 0:
    sys.exit("scripts/example.sh printed no adapt report")
if printed[start:] != shown.group(1):
    sys.stderr.write("README.md shows:\n" + shown.group(1) + "\nscripts/example.sh printed:\n" + printed[start:])
    sys.exit("README.md's example report differs from what scripts/example.sh prints")
print("README.md's example report matches scripts/example.sh")
