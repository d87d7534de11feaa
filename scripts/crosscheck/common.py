"""Helpers shared by the cross-check scripts: PASS/FAIL reporting with a
final tally, running the retarget binary, and saving random models (also
for the benchmarks)."""

import shutil
import subprocess
import sys

RESULTS = {"passed": 0, "failed": 0}


def report(ok, name, detail="", quiet=False):
    """Counts one check and prints its PASS/FAIL line (a passing `quiet`
    check prints nothing)."""
    RESULTS["passed" if ok else "failed"] += 1
    if not ok or not quiet:
        print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


def finish():
    """Prints the tally and exits 1 if anything failed."""
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)


def run(binary, *args, check=True):
    """Runs `retarget ARGS`; returns the completed process (raises on a
    non-zero exit when `check`)."""
    proc = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"retarget {' '.join(map(str, args))} failed ({proc.returncode}): {proc.stderr}")
    return proc


def retarget(binary, *args):
    """Runs `retarget ARGS` and returns its standard output."""
    return run(binary, *args).stdout


def save_random(model, out, tokenizer_files):
    """Fills every parameter of the transformers `model` from N(0, 0.3²)
    (torch seed 0), saves it into `out` (safetensors) and copies
    `tokenizer_files` beside it; returns `out`."""
    import torch
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    model.save_pretrained(out, safe_serialization=True)
    for path in tokenizer_files:
        shutil.copy(path, out / path.name)
    return out


def xlmr_llama(folder, tokenizer, hidden, inter, layers, heads):
    """Writes a llama folder with XLM-R's 250,002-token Unigram tokenizer
    (`tokenizer`, a tokenizer.json) and random f32 weights (seed 0, N(0,
    0.02²); untied head) of the given sizes."""
    import json

    import numpy as np
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    vocab = 250002
    rng = np.random.default_rng(0)
    w = lambda *shape: rng.standard_normal(shape, dtype=np.float32) * 0.02
    tensors = {"model.embed_tokens.weight": w(vocab, hidden), "lm_head.weight": w(vocab, hidden),
               "model.norm.weight": np.ones(hidden, np.float32)}
    for i in range(layers):
        p = f"model.layers.{i}."
        tensors[p + "input_layernorm.weight"] = np.ones(hidden, np.float32)
        tensors[p + "post_attention_layernorm.weight"] = np.ones(hidden, np.float32)
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            tensors[p + f"self_attn.{proj}.weight"] = w(hidden, hidden)
        tensors[p + "mlp.gate_proj.weight"] = w(inter, hidden)
        tensors[p + "mlp.up_proj.weight"] = w(inter, hidden)
        tensors[p + "mlp.down_proj.weight"] = w(hidden, inter)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab,
              "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
              "num_attention_heads": heads, "num_key_value_heads": heads, "tie_word_embeddings": False,
              "bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    shutil.copy(tokenizer, folder / "tokenizer.json")
    return folder
