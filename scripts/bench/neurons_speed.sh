#!/usr/bin/env bash
# LAPE activation counting, retarget against transformers + forward hooks (the
# reference's counting of `act_fn(gate) > 0` per MLP neuron, as
# scripts/crosscheck/neurons_check.py recomputes it) on the same tokens: the
# UDHR of 8 languages (≈ 5,000 tokens each on SmolLM2), windows of 512 tokens,
# PyTorch on 2 threads. Wall time, tokens/s and peak anonymous memory.
# Usage: [GGUF=path NAME=label] scripts/bench/neurons_speed.sh
source "$(dirname "$0")/common.sh" retarget-neurons-bench
gguf=${GGUF:-examples/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
"$bin" convert "$gguf" "$work/model" >/dev/null
langs=(eng deu_1996 fra spa swh eus tat rus)
"$venv/bin/python" - "$work" "${langs[@]}" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "scripts/crosscheck")
from texts import udhr_paragraphs
work = Path(sys.argv[1])
for code in sys.argv[2:]:
    paragraphs = [p for p in udhr_paragraphs(Path("examples/assets/udhr/declaration") / f"{code}.html") if p]
    (work / f"{code}.txt").write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
PY
texts=()
for code in "${langs[@]}"; do texts+=(--text "$code=$work/$code.txt"); done
echo "${NAME:-SmolLM2-135M} f32; $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for run in 1 2; do
  measure "retarget neurons (run $run)" -- "$bin" neurons --model "$work/model" "${texts[@]}" \
    --window 512 --out "$work/neurons.safetensors" --force --json
  measure "transformers + hooks (run $run)" -- "$venv/bin/python" - "$work/model" "$work" "${langs[@]}" <<'PY'
import sys
from pathlib import Path
import torch
import transformers
torch.set_num_threads(2)
folder, work, langs = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
counts = torch.zeros(model.config.num_hidden_layers, model.config.intermediate_size, dtype=torch.int64)
def hook(i):
    def count(_m, _x, out):
        counts[i] += (out > 0).sum(dim=(0, 1))
    return count
for i, layer in enumerate(model.model.layers):
    layer.mlp.act_fn.register_forward_hook(hook(i))
total = 0
with torch.no_grad():
    for code in langs:
        ids = []
        for line in (work / f"{code}.txt").read_text(encoding="utf-8").splitlines():
            ids += tokenizer(line, add_special_tokens=False).input_ids
        total += len(ids)
        for start in range(0, len(ids), 512):
            model(torch.tensor([ids[start:start + 512]]))
print(f"{total} tokens", file=sys.stderr)
PY
done
rm -rf "$work"
