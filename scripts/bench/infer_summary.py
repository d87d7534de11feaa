"""Summarises the JSON Lines of `retarget generate --json` or infer_torch.py:
prompt tokens/s (real prompt tokens over prefill time, per batch) and
generated tokens/s (generated tokens over decoding time, per batch).

Usage: infer_summary.py LABEL FILE [REFERENCE_FILE]
With REFERENCE_FILE, also reports how many generations have the same ids.
"""

import json
import sys


def load(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def rates(rows):
    batches = {}
    for row in rows:  # rows of one batch share their timings
        key = (row["prompt_seconds"], row["generation_seconds"])
        batches.setdefault(key, []).append(row)
    prompt_tokens = sum(len(r["prompt_ids"]) for r in rows)
    generated = sum(len(r["ids"]) for r in rows)
    prefill = sum(k[0] for k in batches)
    decode = sum(k[1] for k in batches)
    return prompt_tokens / prefill, (generated - len(rows)) / decode


def main():
    label, path = sys.argv[1], sys.argv[2]
    rows = load(path)
    prompt_rate, generate_rate = rates(rows)
    line = f"{label}: prompt {prompt_rate:,.0f} tokens/s, generation {generate_rate:,.1f} tokens/s"
    if len(sys.argv) > 3:
        reference = load(sys.argv[3])
        same = sum(a["ids"] == b["ids"] for a, b in zip(rows, reference))
        line += f", {same}/{len(rows)} generations identical to the reference"
    print(line)


if __name__ == "__main__":
    main()
