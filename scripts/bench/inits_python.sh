#!/usr/bin/env bash
# FOCUS and WECHSEL against the authors' Python packages (deepfocus 1.0.1,
# wechsel 0.0.4) on the same input: SmolLM2-135M (f32, byte-level BPE, 49,152
# tokens, tied head) whose vocabulary is replaced by a 16,000-token German
# tokenizer trained by retarget on 2,000 Debian gettext messages. FOCUS's
# auxiliary token vectors: fastText CBOW (dim 50) on those messages tokenized
# with the new tokenizer. WECHSEL's inputs: fastText skip-gram models (dim 100)
# of the English msgids and German msgstrs of every catalog, and their one-word
# message pairs as the dictionary. Times `retarget vocab expand --replace
# --init focus|wechsel` (read, compute, write the model) against a Python
# script doing the same with the package (load with transformers, initialise,
# save); the package's own call alone is printed too. Peak anonymous memory of
# each.
# Usage: scripts/bench/inits_python.sh
source "$(dirname "$0")/common.sh" retarget-inits-python-bench
addons=$(bash scripts/crosscheck/addons.sh "$venv")
"$bin" convert examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$work/model" >/dev/null
"$venv/bin/python" scripts/bench/german_messages.py "$work/de.txt"
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
PYTHONPATH="$venv/isolated/fasttext-wheel" "$venv/bin/python" - "$work" <<'PY'
import sys
from pathlib import Path
import fasttext
sys.path.insert(0, "scripts/crosscheck")
from texts import gettext_catalogs
work = Path(sys.argv[1])
pairs = [(" ".join(k.split()), " ".join(t.split())) for c in gettext_catalogs("de") for k, t in c.items()
         if isinstance(k, str) and k.strip() and isinstance(t, str) and t.strip()]
for side, lines in [("en", [k for k, _ in pairs]), ("de", [t for _, t in pairs])]:
    (work / f"{side}.txt").write_text("\n".join(lines) + "\n")
    m = fasttext.train_unsupervised(str(work / f"{side}.txt"), model="skipgram", dim=100, epoch=5, minCount=3,
                                    minn=3, maxn=6, bucket=200000, thread=2, verbose=0)
    m.save_model(str(work / f"{side}.bin"))
words = sorted({(k, t) for k, t in pairs if k.isalpha() and t.isalpha()})
(work / "en-de.txt").write_text("".join(f"{k}\t{t}\n" for k, t in words))
PY
cat > "$work/wechsel_run.py" <<'PY'
import sys, time
from pathlib import Path
import fasttext
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from wechsel import WECHSEL
work = Path(sys.argv[1])
model = AutoModelForCausalLM.from_pretrained(work / "model", dtype=torch.float32)
source, target = AutoTokenizer.from_pretrained(work / "model"), AutoTokenizer.from_pretrained(work / "target")
start = time.perf_counter()
wechsel = WECHSEL(fasttext.load_model(str(work / "en.bin")), fasttext.load_model(str(work / "de.bin")),
                  bilingual_dictionary=str(work / "en-de.txt"))
rows, _ = wechsel.apply(source, target, model.get_input_embeddings().weight.detach().numpy())
print(f"wechsel WECHSEL(...).apply() alone: {time.perf_counter() - start:.2f} s", file=sys.stderr)
model.resize_token_embeddings(len(target))
model.get_input_embeddings().weight.data = torch.from_numpy(rows).float()
model.save_pretrained(work / "wechsel-out")
target.save_pretrained(work / "wechsel-out")
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
  measure "retarget vocab expand --replace --init wechsel (run $run)" -- "$bin" vocab expand --model "$work/model" \
    --replace --tokenizer "$work/target/tokenizer.json" --init wechsel --source-vectors "$work/en.bin" \
    --target-vectors "$work/de.bin" --dictionary "$work/en-de.txt" --out "$work/out"
  rm -rf "$work/out"; sync
  measure "python + wechsel 0.0.4 (run $run)" -- env PYTHONPATH="$addons:$venv/isolated/fasttext-wheel" \
    "$venv/bin/python" "$work/wechsel_run.py" "$work"
  rm -rf "$work/wechsel-out"; sync
done
rm -rf "$work"
