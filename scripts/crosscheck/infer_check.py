"""Cross-checks retarget's inference (`retarget score`, `retarget generate`)
against Hugging Face `transformers`.

For each decoder: the llama fixtures (tied and untied head), random qwen2,
qwen3, gemma and mistral (also with a sliding window) models built here with
transformers itself, SmolLM2 as an HF folder
(from `retarget convert`) and SmolLM2 read straight from its GGUF file:
- the logits of every position of every line equal transformers' within
  1e-4 max abs (f32). For SmolLM2 (30 layers, logits up to ~40) that bound is
  the float32 noise floor: transformers' own float32 logits are 4e-5 to 7e-5
  away from a float64 evaluation, and an independent float32 implementation
  lands about 1e-4 from transformers'. There the check compares both against
  transformers in float64 and requires retarget's error to be at most twice
  transformers' own; the plain difference is printed as `info`, and so is
  the difference between transformers' own sdpa and eager attention in
  float32 (9e-5 on these lines: the same noise);
- per-line NLL equals transformers' loss with `labels=input_ids` times the
  number of scored tokens, and the summary's perplexity and bits per byte
  follow from those sums;
- greedy generation of 32 new tokens gives the same token ids as
  `generate(do_sample=False)`, one prompt at a time and as one left-padded
  batch (`retarget generate -i FILE --batch N`).
- `generate --chat` on SmolLM2-Instruct: the prompt ids equal
  `apply_chat_template(..., add_generation_prompt=True)` and the greedy answer
  equals `generate()`'s;
- `--quantized` SmolLM2 GGUF (candle's quantized kernels, activations
  quantized for the dot products as llama.cpp does): total NLL within 1 %
  of transformers' (dequantized) GGUF model and the same most likely next
  token at ≥ 90 % of positions (quantizing activations flips near-ties: 96 %
  agree on these lines; a wrong layout or rotary order agrees at chance);
- masked language models (the bert fixture; a random xlm-roberta with the
  XLM-R tokenizer built by transformers): logits within 1e-4 and the
  pseudo-log-likelihood of each line (every non-special token masked in
  turn) equal to the same computation in transformers;
- `retarget lens` on SmolLM2: every layer's top tokens, their probabilities
  and the probability mass per language (with retarget's token-language
  assignment, read from its cache file) equal a plain transformers logit lens
  (hidden_states through `model.norm` and `lm_head`; the last layer is the
  model's own logits), and the last layer's top token is the model's
  prediction.
"""

import argparse
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from common import finish, report, retarget, save_random

torch.set_num_threads(os.cpu_count() or 1)
transformers.logging.set_verbosity_error()

LINES = [
    "The capital of France is",
    "Once upon a time, in a small village, there lived an old fisherman.",
    "Habari ya asubuhi, rafiki yangu. Watu wote wamezaliwa huru.",
    "Gizon-emakume guztiak aske jaiotzen dira, duintasun eta eskubide berberak dituztela.",
    "def fibonacci(n):    return fibonacci(n - 1) + fibonacci(n - 2)",
    "",
    "x",
]
PROMPTS = ["The capital of France is", "Habari ya asubuhi,"]


def encoded_lines(tokenizer):
    """(index, token ids as a 1 × n tensor) of every line of LINES that has
    tokens."""
    for index, line in enumerate(LINES):
        ids = tokenizer.encode(line).ids
        if ids:
            yield index, torch.tensor([ids])


def random_decoder(kind, template, out):
    """A small random qwen2 or mistral model saved by transformers, with the
    llama fixture's tokenizer."""
    vocab = Tokenizer.from_file(str(template / "tokenizer.json")).get_vocab_size(True)
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=112, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                  rms_norm_eps=1e-5, rope_theta=50000.0)
    if kind == "gemma":
        config = transformers.GemmaConfig(**common, head_dim=16)
        model = transformers.GemmaForCausalLM(config)
    elif kind == "qwen3":
        config = transformers.Qwen3Config(**common, head_dim=16, tie_word_embeddings=True)
        model = transformers.Qwen3ForCausalLM(config)
    elif kind == "mistral-window":
        config = transformers.MistralConfig(**common, sliding_window=4)
        model = transformers.MistralForCausalLM(config)
    elif kind == "qwen2":
        config = transformers.Qwen2Config(**common, tie_word_embeddings=False)
        model = transformers.Qwen2ForCausalLM(config)
    else:
        config = transformers.MistralConfig(**common, sliding_window=None)
        model = transformers.MistralForCausalLM(config)
    return save_random(model, out, [template / "tokenizer.json"])


def check_model(binary, name, model_path, ref, tokenizer, work, truth=None):
    text = work / f"{name}.txt"
    text.write_text("\n".join(LINES) + "\n")
    logits_file = work / f"{name}.logits.safetensors"
    out = retarget(binary, "score", "--model", model_path, "-i", text, "--json", "--save-logits", logits_file)
    rows = [json.loads(line) for line in out.splitlines()]
    lines, summary = rows[:-1], rows[-1]
    saved = load_file(str(logits_file))
    worst_logit, worst_nll, total_nll, total_tokens = 0.0, 0.0, 0.0, 0
    error_vs_truth, reference_vs_truth, truth_nll = 0.0, 0.0, 0.0
    for index, tensor in encoded_lines(tokenizer):
        ids = tensor[0].tolist()
        with torch.no_grad():
            out = ref(tensor, labels=tensor if len(ids) > 1 else None)
        expected = out.logits[0].float().numpy()
        got = saved[f"line.{index}"]
        if got.shape != expected.shape:
            report(False, f"{name} logits line {index}", f"shape {got.shape} vs {expected.shape}")
            return
        worst_logit = max(worst_logit, float(np.abs(got - expected).max()))
        if truth is not None:
            with torch.no_grad():
                exact = truth(tensor).logits[0].numpy()
            error_vs_truth = max(error_vs_truth, float(np.abs(got - exact).max()))
            reference_vs_truth = max(reference_vs_truth, float(np.abs(expected - exact).max()))
            if len(ids) > 1:
                log_probs = torch.log_softmax(torch.from_numpy(exact[:-1]), dim=-1)
                truth_nll -= float(log_probs[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum())
        scored = len(ids) - 1
        nll = float(out.loss) * scored if scored else 0.0
        total_nll += nll
        total_tokens += scored
        if lines[index]["tokens"] != scored:
            report(False, f"{name} tokens line {index}", f"{lines[index]['tokens']} vs {scored}")
            return
        worst_nll = max(worst_nll, abs(lines[index]["nll"] - nll) / max(1.0, nll))
    if truth is None:
        report(worst_logit <= 1e-4, f"{name} logits of every position", f"max abs diff {worst_logit:.2e}")
    else:
        print(f"info {name} logits of every position: max abs diff from transformers {worst_logit:.2e}")
        report(error_vs_truth <= 2 * reference_vs_truth, f"{name} logits vs a float64 evaluation",
               f"retarget {error_vs_truth:.2e}, transformers float32 {reference_vs_truth:.2e}")
    report(worst_nll <= 1e-5, f"{name} per-line NLL", f"max relative diff {worst_nll:.2e}")
    total_bytes = sum(len(line.encode()) for line in LINES)
    expected = {
        "total_tokens": total_tokens,
        "total_bytes": total_bytes,
        "perplexity": math.exp(total_nll / total_tokens),
        "bits_per_byte": total_nll / math.log(2) / total_bytes,
    }
    bad = [k for k, v in expected.items() if abs(summary[k] - v) > 1e-5 * max(1.0, abs(v))]
    if truth is None:
        report(not bad, f"{name} summary", f"ppl {summary['perplexity']:.4f} vs {expected['perplexity']:.4f}, "
               f"bpb {summary['bits_per_byte']:.5f} vs {expected['bits_per_byte']:.5f}")
    else:
        # The totals by the same criterion as the logits: no farther from the
        # float64 evaluation than twice transformers' own float32 distance.
        counts_ok = all(summary[k] == expected[k] for k in ("total_tokens", "total_bytes"))
        ours, theirs = abs(summary["total_nll"] - truth_nll), abs(total_nll - truth_nll)
        report(counts_ok and ours <= 2 * theirs + 1e-9 * truth_nll, f"{name} summary vs a float64 evaluation",
               f"total NLL off by {ours:.2e} (transformers float32 {theirs:.2e}); ppl {summary['perplexity']:.4f} "
               f"vs {expected['perplexity']:.4f}, bpb {summary['bits_per_byte']:.5f} vs {expected['bits_per_byte']:.5f}")

    expected_by_prompt = {}
    eos = ref.generation_config.eos_token_id
    eos = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
    for prompt in PROMPTS:
        got = json.loads(retarget(binary, "generate", "--model", model_path, "--prompt", prompt,
                                  "--max-new-tokens", 32, "--temperature", 0, "--json"))
        ids = torch.tensor([tokenizer.encode(prompt).ids])
        with torch.no_grad():
            generated = ref.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=32,
                                     do_sample=False, pad_token_id=0)
        expected_ids = generated[0, ids.shape[1]:].tolist()
        while expected_ids and expected_ids[-1] in eos:
            expected_ids.pop()
        expected_by_prompt[prompt] = expected_ids
        report(got["ids"] == expected_ids, f"{name} greedy generation after {prompt!r}",
               f"{len(got['ids'])} tokens" + ("" if got["ids"] == expected_ids else
                                                f": {got['ids']} vs {expected_ids}"))
    prompts_file = work / f"{name}.prompts.txt"
    prompts_file.write_text("\n".join(PROMPTS) + "\n")
    out = retarget(binary, "generate", "--model", model_path, "-i", prompts_file, "--batch", len(PROMPTS),
                   "--max-new-tokens", 32, "--json")
    batch = [json.loads(line)["ids"] for line in out.splitlines()]
    report(batch == [expected_by_prompt[p] for p in PROMPTS], f"{name} greedy generation as one padded batch",
           f"{len(PROMPTS)} prompts of {[len(tokenizer.encode(p).ids) for p in PROMPTS]} tokens")


def check_quantized(binary, name, gguf, ref, tokenizer, work):
    text = work / "quantized.txt"
    lines = [line for line in LINES if line]
    text.write_text("\n".join(lines) + "\n")
    logits_file = work / "quantized.logits.safetensors"
    rows = [json.loads(line) for line in retarget(binary, "score", "--model", gguf, "--quantized", "-i", text,
                                                  "--json", "--save-logits", logits_file).splitlines()]
    saved = load_file(str(logits_file))
    total, same, positions = 0.0, 0, 0
    for n, line in enumerate(lines):
        ids = tokenizer.encode(line).ids
        with torch.no_grad():
            tensor = torch.tensor([ids])
            out = ref(tensor, labels=tensor if len(ids) > 1 else None)
        total += float(out.loss) * (len(ids) - 1) if len(ids) > 1 else 0.0
        same += int((saved[f"line.{n}"].argmax(1) == out.logits[0].numpy().argmax(1)).sum())
        positions += len(ids)
    relative = abs(rows[-1]["total_nll"] - total) / total
    report(relative <= 0.01, f"{name} quantized NLL", f"{rows[-1]['total_nll']:.3f} vs {total:.3f} "
           f"({100 * relative:.2f} %)")
    report(same >= 0.9 * positions, f"{name} quantized top-1 predictions", f"{same}/{positions} agree")


def check_chat(binary, name, folder, ref):
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    for question in ["What is the capital of France?", "Tafsiri kwa Kiingereza: habari ya asubuhi"]:
        got = json.loads(retarget(binary, "generate", "--model", folder, "--prompt", question, "--chat",
                                  "--max-new-tokens", 24, "--json"))
        ids = tok.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                      return_dict=True)["input_ids"]
        with torch.no_grad():
            out = ref.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                               max_new_tokens=24, do_sample=False, pad_token_id=0)
        expected = out[0, len(ids):].tolist()
        eos = ref.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        while expected and expected[-1] in eos:
            expected.pop()
        report(got["prompt_ids"] == ids, f"{name} chat prompt {question[:24]!r}", f"{len(ids)} tokens")
        report(got["ids"] == expected, f"{name} chat answer {question[:24]!r}", repr(got["text"][:60]))


def check_lens(binary, name, folder, ref):
    prompt = 'Le chat est sur la table. In English: "The'
    out = json.loads(retarget(binary, "lens", "--model", folder, "--prompt", prompt,
                              "--langs", "eng,fra,swh", "--top", 5, "--json"))
    assignment = json.loads(Path(out["token_languages"]).read_text())["assignment"]
    languages = torch.tensor([-1 if a is None else a for a in assignment])
    ids = torch.tensor([out["prompt_ids"]])
    with torch.no_grad():
        result = ref(ids, output_hidden_states=True)
        states = result.hidden_states
        layers = len(states) - 1
        lens = [ref.lm_head(ref.model.norm(h))[0] for h in states[:-1]] + [result.logits[0]]
    worst_p, worst_mass, same_top, total = 0.0, 0.0, 0, 0
    for reading in out["readings"]:
        probs = torch.softmax(lens[reading["layer"]][reading["position"]].double(), -1)
        top_ids = [t["id"] for t in reading["top"]]
        expected = probs[top_ids]
        worst_p = max(worst_p, max(abs(t["probability"] - float(e)) for t, e in zip(reading["top"], expected)))
        ranked = torch.argsort(probs, descending=True)[:len(top_ids)].tolist()
        total += 1
        same_top += ranked[0] == top_ids[0] or abs(float(probs[ranked[0]] - probs[top_ids[0]])) < 1e-5
        mass = [float(probs[languages == i].sum()) for i in range(len(out["languages"]))]
        worst_mass = max(worst_mass, max(abs(a - b) for a, b in zip(mass, reading["language_mass"])))
    report(len(out["readings"]) == (layers + 1) * ids.shape[1], f"{name} lens readings",
           f"{layers + 1} layers x {ids.shape[1]} positions")
    report(same_top == total, f"{name} lens top token of every reading", f"{same_top}/{total}")
    report(worst_p <= 1e-4, f"{name} lens probabilities", f"max abs diff {worst_p:.2e}")
    report(worst_mass <= 1e-4, f"{name} lens language mass", f"max abs diff {worst_mass:.2e}")
    final = [r for r in out["readings"] if r["layer"] == layers and r["position"] == ids.shape[1] - 1][0]
    prediction = int(result.logits[0, -1].argmax())
    report(final["top"][0]["id"] == prediction, f"{name} lens last layer = the model's prediction",
           f"{final['top'][0]['text']!r}")


def random_xlmr(tokenizer_file, out):
    """A small random XLMRobertaForMaskedLM with the XLM-R tokenizer."""
    tok = Tokenizer.from_file(str(tokenizer_file))
    config = transformers.XLMRobertaConfig(vocab_size=tok.get_vocab_size(True), hidden_size=32, num_hidden_layers=2,
                                           num_attention_heads=4, intermediate_size=64, max_position_embeddings=130,
                                           pad_token_id=tok.token_to_id("<pad>"), bos_token_id=0, eos_token_id=2)
    torch.manual_seed(0)
    model = transformers.XLMRobertaForMaskedLM(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" not in name and "layer_norm" not in name:
                p.normal_(0.0, 0.2)
    model.save_pretrained(out, safe_serialization=True)
    shutil.copy(tokenizer_file, out / "tokenizer.json")
    return out


def check_masked(binary, name, folder, work):
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    model = transformers.AutoModelForMaskedLM.from_pretrained(folder, dtype=torch.float32).eval()
    special = {i for i, t in tok.get_added_tokens_decoder().items() if t.special}
    mask = tok.token_to_id("[MASK]") if tok.token_to_id("[MASK]") is not None else tok.token_to_id("<mask>")
    lines = [line for line in LINES[:4] if line]
    text = work / f"{name}.txt"
    text.write_text("\n".join(lines) + "\n")
    logits_file = work / f"{name}.logits.safetensors"
    rows = [json.loads(line) for line in retarget(binary, "score", "--model", folder, "-i", text, "--json",
                                                  "--save-logits", logits_file).splitlines()]
    saved = load_file(str(logits_file))
    worst_logit, worst_nll = 0.0, 0.0
    for n, line in enumerate(lines):
        ids = tok.encode(line).ids
        with torch.no_grad():
            plain = model(torch.tensor([ids])).logits[0].numpy()
            positions = [i for i, t in enumerate(ids) if t not in special]
            batch = torch.tensor([[mask if j == i else t for j, t in enumerate(ids)] for i in positions])
            log_probs = torch.log_softmax(model(batch).logits, -1)
        nll = -sum(float(log_probs[r, i, ids[i]]) for r, i in enumerate(positions))
        worst_logit = max(worst_logit, float(np.abs(saved[f"line.{n}"] - plain).max()))
        worst_nll = max(worst_nll, abs(rows[n]["nll"] - nll) / nll)
        if rows[n]["tokens"] != len(positions):
            report(False, f"{name} scored tokens line {n}", f"{rows[n]['tokens']} vs {len(positions)}")
    report(worst_logit <= 1e-4, f"{name} masked-LM logits", f"max abs diff {worst_logit:.2e}")
    report(worst_nll <= 1e-5, f"{name} pseudo-log-likelihood", f"max relative diff {worst_nll:.2e}")


def print_float32_floor(name, reference, eager, tokenizer):
    """How far transformers' own two float32 attention paths (sdpa, the
    default, and eager) land from each other on LINES: the scale of the
    float32 noise that the 1e-4 bound sits in."""
    worst = 0.0
    for _, tensor in encoded_lines(tokenizer):
        with torch.no_grad():
            a, b = reference(tensor).logits, eager(tensor).logits
        worst = max(worst, float((a - b).abs().max()))
    print(f"info {name} logits: transformers sdpa vs transformers eager (both float32): max abs diff {worst:.2e}")


def load(folder, dtype=torch.float32, **kwargs):
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, **kwargs)
    model.eval()
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--fixtures", type=Path, required=True)
    ap.add_argument("--smollm2", type=Path, help="SmolLM2 as an HF folder (from retarget convert)")
    ap.add_argument("--smollm2-gguf", type=Path, help="SmolLM2's GGUF file")
    ap.add_argument("--assets", type=Path, help="the example assets (for the XLM-R tokenizer)")
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    models = [(name, args.fixtures / name) for name in ("llama-tied", "llama-untied")]
    for kind in ("qwen2", "qwen3", "gemma", "mistral", "mistral-window"):
        models.append((f"{kind}-random", random_decoder(kind, args.fixtures / "llama-tied",
                                                        args.work / f"{kind}-random")))
    for name, folder in models:
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        reference = load(folder)
        check_model(args.retarget, name, folder, reference, tokenizer, args.work)
        check_lens(args.retarget, name, folder, reference)
    check_masked(args.retarget, "bert", args.fixtures / "bert", args.work)
    if args.assets:
        xlmr = random_xlmr(args.assets / "xlmr-tokenizer" / "tokenizer.json", args.work / "xlmr-random")
        check_masked(args.retarget, "xlm-roberta-random", xlmr, args.work)
    if args.smollm2:
        tokenizer = Tokenizer.from_file(str(args.smollm2 / "tokenizer.json"))
        truth = load(args.smollm2, dtype=torch.float64, attn_implementation="eager")
        reference = load(args.smollm2)
        check_model(args.retarget, "SmolLM2-135M", args.smollm2, reference, tokenizer, args.work, truth)
        print_float32_floor("SmolLM2-135M", reference, load(args.smollm2, attn_implementation="eager"), tokenizer)
        check_lens(args.retarget, "SmolLM2-135M", args.smollm2, reference)
        check_chat(args.retarget, "SmolLM2-135M", args.smollm2, reference)
        if args.smollm2_gguf:
            gguf = args.smollm2_gguf
            ref = load(gguf.parent, gguf_file=gguf.name)
            check_model(args.retarget, "SmolLM2-135M (GGUF)", gguf, ref, tokenizer, args.work, truth)
            check_quantized(args.retarget, "SmolLM2-135M (GGUF)", gguf, ref, tokenizer, args.work)
    finish()


if __name__ == "__main__":
    main()
