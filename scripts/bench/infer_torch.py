"""PyTorch (transformers) side of scripts/bench/infer.sh: greedy decoding of
every prompt of a file with a KV cache, the loop written out (prefill, then
one token per step, argmax) so that no `generate()` overhead is counted
against PyTorch. Prints one JSON object per batch, like `retarget generate
--json` reports timings.

Usage: infer_torch.py MODEL_DIR PROMPTS_FILE BATCH NEW_TOKENS [DEVICE]
DEVICE is a torch device (default cpu); on CUDA the clock stops only after
the device has finished (scripts/cuda/device-check.sh).
"""

import json
import os
import sys
import time

import torch
import transformers
from tokenizers import Tokenizer

torch.set_num_threads(os.cpu_count() or 1)
transformers.logging.set_verbosity_error()


def main():
    folder, prompts_file, batch, new_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    device = torch.device(sys.argv[5] if len(sys.argv) > 5 else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).to(device).eval()
    tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
    prompts = [line.rstrip("\n") for line in open(prompts_file, encoding="utf-8") if line.strip()]
    for start in range(0, len(prompts), batch):
        rows = [tokenizer.encode(p).ids for p in prompts[start:start + batch]]
        longest = max(map(len, rows))
        ids = torch.tensor([[r[0]] * (longest - len(r)) + r for r in rows], device=device)
        mask = torch.tensor([[0] * (longest - len(r)) + [1] * len(r) for r in rows], device=device)
        with torch.inference_mode():
            sync()
            began = time.perf_counter()
            positions = (mask.cumsum(-1) - 1).clamp(min=0)
            out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
            cache = out.past_key_values
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            sync()
            prefill = time.perf_counter() - began
            generated = [nxt]
            for _ in range(new_tokens - 1):
                mask = torch.cat([mask, torch.ones_like(nxt)], dim=1)
                positions = positions[:, -1:] + 1
                out = model(input_ids=nxt, attention_mask=mask, position_ids=positions,
                            past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
                generated.append(nxt)
            sync()
            total = time.perf_counter() - began
        ids_out = torch.cat(generated, dim=1).tolist()
        for prompt, row in zip(rows, ids_out):
            print(json.dumps({"prompt_ids": prompt, "ids": row, "prompt_seconds": prefill,
                              "generation_seconds": total - prefill}))


if __name__ == "__main__":
    main()
