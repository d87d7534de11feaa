#!/usr/bin/env bash
# How far SmolLM2-135M's float32 logits (retarget and transformers) lie from
# a float64 evaluation, and from each other, on the inference cross-check's
# lines: the float32 noise floor behind issue #6's 1e-4 bound.
# Usage: scripts/bench/logits_precision.sh
source "$(dirname "$0")/common.sh" retarget-logits-precision
"$bin" convert examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$work/model" >/dev/null
"$venv/bin/python" - "$bin" "$work" <<'PY'
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file
from tokenizers import Tokenizer

sys.path.insert(0, "scripts/crosscheck")
from infer_check import LINES, encoded_lines

binary, work = sys.argv[1], Path(sys.argv[2])
transformers.logging.set_verbosity_error()
model = work / "model"
text = work / "lines.txt"
text.write_text("\n".join(LINES) + "\n")
subprocess.run([binary, "score", "--model", model, "-i", text, "--save-logits", work / "logits.safetensors"],
               check=True, capture_output=True)
ours = load_file(str(work / "logits.safetensors"))
tokenizer = Tokenizer.from_file(str(model / "tokenizer.json"))


def load(dtype, attention):
    return transformers.AutoModelForCausalLM.from_pretrained(model, dtype=dtype, attn_implementation=attention).eval()


sdpa, eager, exact = load(torch.float32, "sdpa"), load(torch.float32, "eager"), load(torch.float64, "eager")
print("max abs difference of the logits, per line (r = retarget, t = transformers sdpa, e = transformers eager, "
      "x = transformers float64)")
print(f"{'line':>4} {'tokens':>6} {'r-t':>9} {'r-e':>9} {'e-t':>9} {'r-x':>9} {'t-x':>9} {'e-x':>9} {'max |logit|':>11}")
for index, tensor in encoded_lines(tokenizer):
    with torch.no_grad():
        t, e = sdpa(tensor).logits[0].numpy(), eager(tensor).logits[0].numpy()
        x = exact(tensor).logits[0].numpy()
    r = ours[f"line.{index}"]
    diff = lambda a, b: f"{np.abs(a - b).max():9.2e}"
    print(f"{index:>4} {tensor.shape[1]:>6} {diff(r, t)} {diff(r, e)} {diff(e, t)} {diff(r, x)} {diff(t, x)} {diff(e, x)} "
          f"{np.abs(x).max():11.1f}")
PY
rm -rf "$work"
