#!/usr/bin/env bash
# FOCUS against the authors' deepfocus package on the same input: SmolLM2-135M
# (f32, byte-level BPE, 49,152 tokens, tied head) whose vocabulary is replaced by
# a 16,000-token German tokenizer trained by retarget on 2,000 Debian gettext
# messages, with auxiliary token vectors from fastText CBOW (dim 50) on those
# messages tokenized with the new tokenizer. Times `retarget vocab expand
# --replace --init focus` (read, compute, write the model) against a Python
# script doing the same with deepfocus (load with transformers, FOCUS, save),
# and deepfocus's FOCUS() call alone; peak anonymous memory of each.
# Usage: scripts/bench/focus.sh
source "$(dirname "$0")/common.sh" retarget-focus-bench
addons=$(bash scripts/crosscheck/addons.sh "$venv")
"$bin" convert examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$work/model" >/dev/null
"$venv/bin/python" - "$work/de.txt" <<'PY'
import sys
sys.path.insert(0, "scripts/crosscheck")
from texts import gettext_catalogs
lines = [" ".join(t.split()) for c in gettext_catalogs("de") for k, t in c.items()
         if k and isinstance(t, str) and t.strip()][:2000]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
"$bin" vocab expand --model "$work/model" --replace --corpus "$work/de.txt" --vocab-size 16000 --out "$work/target" >/dev/null
PYTHONPATH="$venv/isolated/fasttext-wheel" "$venv/bin/python" - "$work" <<'PY'
import sys
from pathlib import Path
import fasttext
from transformers import AutoTokenizer
work = Path(sys.argv[1])
tok = AutoTokenizer.from_pretrained(work / "target")
text = work / "tokenized.txt"
text.write_text("".join(" ".join(tok.tokenize(l)) + "\n" for l in (work / "de.txt").read_text().splitlines()))
m = fasttext.train_unsupervised(str(text), model="cbow", dim=50, epoch=3, minCount=3, neg=10, thread=2, verbose=0)
with (work / "aux.vec").open("w") as f:
    f.write(f"{len(m.words)} {m.get_dimension()}\n")
    for w in m.words:
        f.write(w + " " + " ".join(f"{x:.9g}" for x in m.get_word_vector(w)) + "\n")
PY
cat > "$work/deepfocus_run.py" <<'PY'
import sys, time
from pathlib import Path
import numpy as np
import torch
import deepfocus.focus as focus
from transformers import AutoModelForCausalLM, AutoTokenizer
work = Path(sys.argv[1])
vectors = {l.split(" ", 1)[0]: np.array(l.split()[1:], dtype=np.float32)
           for l in (work / "aux.vec").read_text().splitlines()[1:]}
focus.load_target_token_embedding = lambda **kwargs: vectors
model = AutoModelForCausalLM.from_pretrained(work / "model", dtype=torch.float32)
source, target = AutoTokenizer.from_pretrained(work / "model"), AutoTokenizer.from_pretrained(work / "target")
start = time.perf_counter()
rows = focus.FOCUS(target_tokenizer=target, source_tokenizer=source,
                   source_embeddings=model.get_input_embeddings().weight.detach(),
                   fasttext_model_path="(given)", verbosity="silent")
print(f"deepfocus FOCUS() alone: {time.perf_counter() - start:.2f} s", file=sys.stderr)
model.resize_token_embeddings(len(target))
model.get_input_embeddings().weight.data = rows
model.save_pretrained(work / "deepfocus-out")
target.save_pretrained(work / "deepfocus-out")
PY
echo "model: $(du -sb "$work/model" | cut -f1) bytes; new tokenizer: $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['model']['vocab']))" "$work/target/tokenizer.json") tokens; $(nproc) cores"
cat "$work/model/model.safetensors" >/dev/null
for run in 1 2; do
  measure "retarget vocab expand --replace --init focus (run $run)" -- "$bin" vocab expand --model "$work/model" \
    --replace --tokenizer "$work/target/tokenizer.json" --init focus --aux-vectors "$work/aux.vec" --out "$work/out"
  rm -rf "$work/out"; sync
  measure "python + deepfocus 1.0.1 (run $run)" -- env PYTHONPATH="$addons:$venv/isolated/fasttext-wheel" \
    "$venv/bin/python" "$work/deepfocus_run.py" "$work"
  rm -rf "$work/deepfocus-out"; sync
done
rm -rf "$work"
