"""Cross-checks retarget's model I/O against Hugging Face `transformers`.

Run through scripts/crosscheck/run.sh, which builds the pinned virtualenv,
the retarget binary, the fixtures and the example assets first.

Checks:
- HF -> HF convert (same dtype) is byte-identical tensor by tensor and gives
  identical logits in transformers, for every fixture, MiniLM and the
  GGUF-converted SmolLM2; also after resharding, and a bf16 conversion equals
  torch's own `.to(torch.bfloat16)` bit for bit.
- GGUF -> HF SmolLM2: logits on 5 prompts match transformers'
  `from_pretrained(..., gguf_file=...)` within 1e-4 max abs difference, and
  the rebuilt tokenizer gives transformers' token ids.
- `retarget inspect`'s parameter count equals `num_parameters()`.
"""

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
import transformers
from safetensors import safe_open

from common import finish, report, retarget

torch.set_num_threads(os.cpu_count() or 1)
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village,",
    "Habari ya asubuhi, rafiki yangu.",
    "Translate to Basque: the weather is nice today.",
    "def fibonacci(n):\n    return",
]

def weight_files(folder):
    folder = Path(folder)
    index = folder / "model.safetensors.index.json"
    if index.exists():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        return [folder / s for s in shards]
    return [folder / "model.safetensors"]


def raw_tensors(folder):
    """name -> (dtype, shape, bytes) over all shards."""
    out = {}
    for path in weight_files(folder):
        with safe_open(path, "pt") as f:
            for name in f.keys():
                t = f.get_tensor(name)
                out[name] = (str(t.dtype), tuple(t.shape), t.contiguous().view(torch.uint8).numpy().tobytes())
    return out


def load(folder, **kwargs):
    config = json.loads((Path(folder) / "config.json").read_text())
    arch = (config.get("architectures") or ["AutoModel"])[0]
    cls = getattr(transformers, arch, transformers.AutoModel)
    model = cls.from_pretrained(folder, **kwargs)
    model.eval()
    return model


def outputs(model, ids):
    with torch.no_grad():
        if model.config.is_encoder_decoder:
            out = model(input_ids=ids, decoder_input_ids=ids[:, :4])
        else:
            out = model(input_ids=ids)
    return out.logits if hasattr(out, "logits") else out.last_hidden_state


def probe_ids(model):
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, vocab, (2, 12), generator=g)


def check_same_dtype_convert(binary, name, src, work):
    out = work / f"{name}-copy"
    retarget(binary, "convert", src, out)
    a, b = raw_tensors(src), raw_tensors(out)
    report(a == b, f"{name}: HF->HF convert is byte-identical", f"{len(a)} tensors")
    sharded = work / f"{name}-sharded"
    largest = max(len(v[2]) for v in a.values())
    retarget(binary, "convert", src, sharded, "--max-shard-size", str(max(largest, 4096)))
    shards = len(weight_files(sharded))
    report(raw_tensors(sharded) == a and shards > 1, f"{name}: resharded copy is byte-identical", f"{shards} shards")
    m_src, m_out, m_sh = load(src), load(out), load(sharded)
    ids = probe_ids(m_src)
    ref = outputs(m_src, ids)
    d1 = (outputs(m_out, ids) - ref).abs().max().item()
    d2 = (outputs(m_sh, ids) - ref).abs().max().item()
    report(d1 == 0.0 and d2 == 0.0, f"{name}: converted copies give identical outputs", f"max abs diff {d1}, {d2}")
    params = json.loads(retarget(binary, "inspect", src, "--json"))["parameters"]
    report(params == m_src.num_parameters(), f"{name}: inspect parameter count", f"{params} vs transformers {m_src.num_parameters()}")


def check_bf16_convert(binary, name, src, work):
    out = work / f"{name}-bf16"
    retarget(binary, "convert", src, out, "--dtype", "bf16")
    ours = raw_tensors(out)
    ok = True
    for path in weight_files(src):
        with safe_open(path, "pt") as f:
            for key in f.keys():
                t = f.get_tensor(key)
                expect = t.to(torch.bfloat16) if t.is_floating_point() else t
                got = ours[key]
                ok &= got[0] == str(expect.dtype) and got[2] == expect.contiguous().view(torch.uint8).numpy().tobytes()
    cfg = json.loads((out / "config.json").read_text())
    ok &= cfg.get("torch_dtype", cfg.get("dtype")) == "bfloat16"
    report(ok, f"{name}: --dtype bf16 equals torch's .to(bfloat16) bit for bit, other dtypes untouched")


def check_gguf(binary, gguf, converted):
    ref = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    ref.eval()
    ref_tok = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    ours = load(converted)
    our_tok = transformers.AutoTokenizer.from_pretrained(converted)
    worst = 0.0
    same_ids = True
    for prompt in PROMPTS:
        ids = our_tok(prompt, return_tensors="pt").input_ids
        same_ids &= ids[0].tolist() == ref_tok(prompt).input_ids
        with torch.no_grad():
            worst = max(worst, (ours(ids).logits - ref(ids).logits).abs().max().item())
    report(worst <= 1e-4, "SmolLM2 GGUF->HF logits match transformers' GGUF loading", f"max abs diff {worst:.3g} over {len(PROMPTS)} prompts")
    report(same_ids, "SmolLM2 rebuilt tokenizer.json gives transformers' GGUF token ids")
    params = json.loads(retarget(binary, "inspect", gguf, "--json"))["parameters"]
    report(params == ref.num_parameters(), "SmolLM2 GGUF: inspect parameter count", f"{params} vs transformers {ref.num_parameters()}")
    params = json.loads(retarget(binary, "inspect", converted, "--json"))["parameters"]
    report(params == ours.num_parameters(), "SmolLM2 HF: inspect parameter count", f"{params} vs transformers {ours.num_parameters()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--fixtures", required=True, type=Path)
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=args.work))

    gguf = args.assets / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    smol_hf = work / "smollm2-hf"
    retarget(args.retarget, "convert", gguf, smol_hf)
    check_gguf(args.retarget, gguf, smol_hf)

    sources = {p.name: p for p in sorted(args.fixtures.iterdir()) if (p / "config.json").exists()}
    sources["all-MiniLM-L6-v2"] = args.assets / "all-MiniLM-L6-v2"
    sources["smollm2-hf"] = smol_hf
    for name, src in sources.items():
        check_same_dtype_convert(args.retarget, name, src, work)
    for name in ["llama-untied", "t5", "all-MiniLM-L6-v2"]:
        check_bf16_convert(args.retarget, name, sources[name], work)
    shutil.rmtree(work)  # 1.8 GB of converted copies

    finish()


if __name__ == "__main__":
    main()
