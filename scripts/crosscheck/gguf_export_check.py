"""Cross-check of `retarget convert --to gguf` against llama.cpp (its
libraries from llama-cpp-python, built from PyPI's sdist) and the `gguf`
package:

- edge cases: a random llama-layout model (rows of zeros, constants,
  huge and tiny magnitudes, mixed magnitudes, exact halves) exported to
  every type: each quantized tensor's bytes equal llama.cpp's
  `ggml_quantize_chunk` (its reference quantizers, no importance matrix)
  applied to the f32 export's tensor; `gguf`'s reader reads every file,
  and its dequantization of each tensor equals retarget's (`retarget
  convert X.gguf back/`, interleaving undone);
- SmolLM2: the same byte comparison for every type on the real tensors
  (k-quants fall back per tensor as llama.cpp does where 576-wide rows do
  not divide into 256-value blocks);
- llama.cpp's own converter (`convert_hf_to_gguf.py` from the same sdist)
  on the same folders writes the same file: every metadata key and value
  (but `general.name`, which it title-cases, and `general.size_label`) and
  every tensor byte for byte — SmolLM2 (f16, q8_0) and random qwen3 and
  mistral models with SmolLM2's tokenizer (which llama.cpp's converter
  recognises; it refuses the Swahili model, whose changed vocabulary its
  pre-tokenizer hash does not know, and SmolLM2's tokenizer in a qwen2
  folder);
- llama.cpp runs the exports: SmolLM2 f32, f16 and q8_0 and the SmolLM2 →
  Swahili model of `scripts/example.sh` (200 new tokens, trimmed) tokenize
  held-out UDHR lines exactly as the HF tokenizer does (new tokens
  included); llama.cpp's logits equal `retarget score` on the same GGUF
  within 1e-4 for f32 (both in f32; llama.cpp's key/value cache set to f32)
  and within 0.1 with equal argmax for f16, where llama.cpp rounds the
  activations to f16 inside its products (q8_0, where it rounds them to
  8-bit blocks, is printed, not counted); greedy generation of 32 tokens
  equals retarget's on the f16 exports.

Usage: gguf_export_check.py --retarget BIN --smollm2 DIR --fixtures DIR --assets DIR
       --llama-cpp DIR --gemma-gguf FILE --work DIR
"""

import argparse
import ctypes
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

sys.path.insert(0, str(Path(__file__).parent))
from common import finish, report, retarget, save_random  # noqa: E402
from texts import udhr_articles, udhr_paragraphs  # noqa: E402

TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"]
GGML_IDS = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q4_K": 12, "Q5_K": 13,
            "Q6_K": 14, "BF16": 30}


def ggml(llama_cpp_dir):
    lib = ctypes.CDLL(str(llama_cpp_dir / "llama_cpp" / "lib" / "libggml-base.so"))
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    lib.ggml_row_size.restype = ctypes.c_size_t
    lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]

    def quantize(type_name, values):
        values = np.ascontiguousarray(values, dtype=np.float32)
        rows, row = values.reshape(-1, values.shape[-1]).shape
        type_id = GGML_IDS[type_name]
        out = np.zeros(lib.ggml_row_size(type_id, row) * rows, np.uint8)
        lib.ggml_quantize_chunk(type_id, values.ctypes.data, out.ctypes.data, 0, rows, row, None)
        return out
    return quantize


def tensors(path):
    import gguf
    reader = gguf.GGUFReader(str(path))
    return reader, {t.name: t for t in reader.tensors}


def compare_bytes(quantize, f32_file, exported, label):
    """Every non-f32 tensor of `exported` against llama.cpp's quantizer of the f32 export."""
    _, source = tensors(f32_file)
    reader, written = tensors(exported)
    checked, differing, types = 0, [], set()
    for name, tensor in written.items():
        kind = tensor.tensor_type.name
        if kind == "F32":
            continue
        types.add(kind)
        values = np.array(source[name].data, dtype=np.float32)
        want = quantize(kind, values)
        got = np.array(tensor.data).view(np.uint8).reshape(-1)
        checked += 1
        if got.shape != want.shape or not np.array_equal(got, want):
            differing.append(name)
    report(checked > 0 and not differing, f"{label}: blocks equal llama.cpp's ggml_quantize_chunk byte for byte",
           f"{checked} tensors ({', '.join(sorted(types))})" + (f"; differing: {differing[:5]}" if differing else ""))
    return reader


def unpermute(values, heads):
    rows = values.shape[0]
    half = rows // heads // 2
    return values.reshape(heads, half, 2, -1).swapaxes(1, 2).reshape(values.shape)


def compare_dequantized(binary, exported, config, work, label):
    """gguf's dequantization of each tensor against retarget's reading of the file."""
    from gguf.quants import dequantize
    back = work / f"{exported.stem}-back"
    retarget(binary, "convert", exported, back)
    ours = load_file(str(back / "model.safetensors"))
    reader, written = tensors(exported)
    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    suffixes = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
                "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
                "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    heads = {"attn_q": config["num_attention_heads"], "attn_k": config["num_key_value_heads"]}
    worst, missing = 0.0, []
    for name, tensor in written.items():
        with np.errstate(invalid="ignore", over="ignore"):
            values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        values = values.reshape([int(d) for d in reversed(tensor.shape)])
        if name in names:
            hf = names[name]
        else:
            _, layer, part, kind = name.split(".")
            hf = f"model.layers.{layer}.{suffixes[part]}.{kind}"
            if part in heads:
                values = unpermute(values, heads[part])
        if hf not in ours:
            missing.append(hf)
            continue
        mine = ours[hf]
        finite = np.isfinite(values)
        same_inf = np.array_equal(np.isinf(values), np.isinf(mine))
        scale = max(float(np.abs(values[finite]).max(initial=0.0)), 1e-30)
        difference = float(np.abs(values[finite] - mine[finite]).max(initial=0.0)) / scale
        worst = max(worst, difference if same_inf else float("inf"))
    architecture = reader.fields["general.architecture"].contents()
    report(worst <= 1e-6 and not missing,
           f"{label}: the gguf package reads the file and dequantizes every tensor as retarget does",
           f"{len(written)} tensors, architecture {architecture}, max difference relative to the tensor {worst:.1e}"
           + (f"; not in retarget's folder: {missing[:3]}" if missing else ""))
    shutil.rmtree(back)


def edge_model(template, out):
    """A one-layer llama with 512-wide rows (whole k-quant blocks) whose tensors
    hold the edge cases quantizers meet."""
    out.mkdir(parents=True)
    config = json.loads((template / "config.json").read_text())
    config.update(hidden_size=512, intermediate_size=768, num_hidden_layers=1, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=128)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    for name in ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]:
        if (template / name).exists():
            shutil.copy(template / name, out / name)
    rng = np.random.default_rng(7)

    def matrix(rows, cols):
        m = rng.standard_normal((rows, cols)).astype(np.float32) * 0.3
        cases = [np.zeros(cols), np.full(cols, 0.37), rng.standard_normal(cols) * 1e30,
                 rng.standard_normal(cols) * 1e-30, rng.standard_normal(cols) * np.exp(rng.uniform(-30, 30, cols)),
                 rng.integers(-20, 20, cols) / 2, -np.abs(rng.standard_normal(cols)), np.abs(rng.standard_normal(cols)),
                 np.where(np.arange(cols) % 32 == 0, 5.0, 0.0)]
        for i, case in enumerate(cases):
            m[i % rows] = case
        return m.astype(np.float32)
    vocab = config["vocab_size"]
    weights = {"model.embed_tokens.weight": matrix(vocab, 512), "model.norm.weight": np.ones(512, np.float32)}
    layer = "model.layers.0."
    weights.update({
        layer + "input_layernorm.weight": np.ones(512, np.float32),
        layer + "post_attention_layernorm.weight": np.ones(512, np.float32),
        layer + "self_attn.q_proj.weight": matrix(512, 512), layer + "self_attn.k_proj.weight": matrix(256, 512),
        layer + "self_attn.v_proj.weight": matrix(256, 512), layer + "self_attn.o_proj.weight": matrix(512, 512),
        layer + "mlp.gate_proj.weight": matrix(768, 512), layer + "mlp.up_proj.weight": matrix(768, 512),
        layer + "mlp.down_proj.weight": matrix(512, 768),
    })
    save_file(weights, str(out / "model.safetensors"))
    return out, config


def check_edge_cases(binary, quantize, fixtures, work):
    folder, config = edge_model(fixtures / "llama-tied", work / "edge")
    files = {}
    for kind in TYPES:
        files[kind] = work / f"edge-{kind}.gguf"
        retarget(binary, "convert", folder, files[kind], "--to", "gguf", "--quant", kind)
    for kind in TYPES[1:]:
        compare_bytes(quantize, files["f32"], files[kind], f"edge cases {kind}")
    for kind in TYPES:
        compare_dequantized(binary, files[kind], config, work, f"edge cases {kind}")


def check_smollm2_types(binary, quantize, smollm2, work):
    f32 = work / "smollm2-f32.gguf"
    retarget(binary, "convert", smollm2, f32, "--to", "gguf", "--quant", "f32")
    for kind in TYPES[1:]:
        out = work / f"smollm2-{kind}.gguf"
        retarget(binary, "convert", smollm2, out, "--to", "gguf", "--quant", kind)
        compare_bytes(quantize, f32, out, f"SmolLM2 {kind}")
        if kind not in ("f16", "q8_0"):
            out.unlink()
    config = json.loads((smollm2 / "config.json").read_text())
    compare_dequantized(binary, work / "smollm2-q8_0.gguf", config, work, "SmolLM2 q8_0")


def converter_check(llama_cpp_dir, binary, folder, kind, work, label, expect_refusal=False):
    """Our export of `folder` against llama.cpp's convert_hf_to_gguf.py's (which
    recognises a pre-tokenizer by hashing the token ids of a test text, so it
    refuses a vocabulary retarget changed: `expect_refusal`)."""
    import gguf
    ours, theirs = work / f"ours-{kind}.gguf", work / f"theirs-{kind}.gguf"
    retarget(binary, "convert", folder, ours, "--to", "gguf", "--quant", kind, "--force")
    proc = subprocess.run([sys.executable, str(llama_cpp_dir / "convert" / "convert_hf_to_gguf.py"), str(folder),
                           "--outfile", str(theirs), "--outtype", kind], capture_output=True, text=True)
    if proc.returncode != 0 or expect_refusal:
        last = proc.stderr.strip().splitlines()[-1][:160] if proc.stderr.strip() else ""
        if expect_refusal:
            print(f"info {label} {kind}: llama.cpp's converter exits {proc.returncode}: {last}")
        else:
            report(False, f"{label} {kind}: llama.cpp's converter", last)
        ours.unlink()
        return

    def fields(path):
        reader = gguf.GGUFReader(str(path))
        values = {}
        for key, field in reader.fields.items():
            if key.startswith("GGUF.") or key in ("general.name", "general.size_label"):
                continue
            try:
                values[key] = field.contents()
            except Exception:
                values[key] = [bytes(part) for part in field.parts]
        return values, {t.name: (t.tensor_type, list(t.shape), np.array(t.data).view(np.uint8).tobytes())
                        for t in reader.tensors}

    (our_fields, our_tensors), (their_fields, their_tensors) = fields(ours), fields(theirs)
    keys = sorted(set(our_fields) | set(their_fields))
    differing_keys = [k for k in keys if our_fields.get(k) != their_fields.get(k)]
    differing_tensors = [n for n in sorted(set(our_tensors) | set(their_tensors))
                         if our_tensors.get(n) != their_tensors.get(n)]
    report(not differing_keys and not differing_tensors,
           f"{label} {kind}: the same file as llama.cpp's convert_hf_to_gguf.py writes",
           f"{len(keys)} metadata keys, {len(our_tensors)} tensors identical"
           + (f"; keys differing: {differing_keys[:4]}" if differing_keys else "")
           + (f"; tensors differing: {differing_tensors[:4]}" if differing_tensors else ""))
    ours.unlink()
    theirs.unlink()


def random_decoder(kind, smollm2, out):
    """A small random qwen2, qwen3 or mistral model saved by transformers, with
    SmolLM2's tokenizer."""
    import transformers
    common = dict(vocab_size=49152, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                  rms_norm_eps=1e-5, rope_theta=50000.0, bos_token_id=1, eos_token_id=2)
    if kind == "qwen2":
        model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**common, tie_word_embeddings=False))
    elif kind == "qwen3":
        model = transformers.Qwen3ForCausalLM(transformers.Qwen3Config(**common, head_dim=32,
                                                                       tie_word_embeddings=True))
    else:
        model = transformers.MistralForCausalLM(transformers.MistralConfig(**common, sliding_window=None))
    return save_random(model, out, [smollm2 / name for name in
                                    ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]])


def check_families(binary, llama_cpp_dir, smollm2, work):
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(str(smollm2 / "tokenizer.json"))
    for kind in ["qwen2", "qwen3", "mistral"]:
        folder = random_decoder(kind, smollm2, work / f"random-{kind}")
        if kind != "qwen2":
            # (llama.cpp's converter does not recognise SmolLM2's tokenizer in a qwen2 folder.)
            converter_check(llama_cpp_dir, binary, folder, "f32", work, f"random {kind}")
        exported = work / f"random-{kind}.gguf"
        retarget(binary, "convert", folder, exported, "--to", "gguf", "--quant", "f32")
        llm = load_llama(llama_cpp_dir, exported)
        logits(binary, work, llm, folder, tokenizer, f"random {kind} f32", 1e-4)
        del llm


def check_gemma(binary, llama_cpp_dir, gemma_gguf, assets, work):
    import gguf
    from tokenizers import Tokenizer
    folder, exported = work / "gemma", work / "gemma-f32.gguf"
    retarget(binary, "convert", gemma_gguf, folder)
    retarget(binary, "convert", folder, exported, "--to", "gguf", "--quant", "f32")
    ours, original = gguf.GGUFReader(str(exported)), gguf.GGUFReader(str(gemma_gguf))

    def value(reader, key):
        field = reader.fields.get(key)
        return None if field is None else field.contents()
    keys = [k for k in original.fields if k.startswith("gemma3.") or k.startswith("tokenizer.")]
    differing = [k for k in keys if k not in ("tokenizer.ggml.scores", "tokenizer.chat_template",
                                              "tokenizer.ggml.add_sep_token")
                 and value(ours, k) != value(original, k)]
    types = np.array(value(original, "tokenizer.ggml.token_type"))
    our_scores, their_scores = (np.array(value(r, "tokenizer.ggml.scores")) for r in (ours, original))
    normal = types == 1
    same_order = np.array_equal(np.argsort(-our_scores[normal], kind="stable"),
                                np.argsort(-their_scores[normal], kind="stable")) \
        and np.array_equal(our_scores[~normal], their_scores[~normal])
    report(not differing and same_order, "Gemma 3 f32: vocabulary and hyper-parameters as in the original GGUF",
           f"{len(types)} pieces and types identical, scores in the same order; {len(keys)} keys compared"
           + (f"; differing: {differing}" if differing else ""))
    llm = load_llama(llama_cpp_dir, exported)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    lines = held_out_lines(assets) + ["<start_of_turn>user\nHabari 123<end_of_turn>", "emoji 😀 👩‍👩‍👧"]
    tokenization(llm, tokenizer, lines, "Gemma 3 f32")
    # ggml computes GELU through an f16 table: 0.05, not the float32 floor.
    logits(binary, work, llm, exported, tokenizer, "Gemma 3 f32", 0.05)
    greedy(binary, llm, exported, tokenizer, "The capital of France is", "Gemma 3 f32")
    del llm
    # Gemma (1): a random model with Gemma 3's tokenizer.
    import transformers
    gemma1 = save_random(transformers.GemmaForCausalLM(transformers.GemmaConfig(
        vocab_size=len(types), hidden_size=64, intermediate_size=112, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-6,
        hidden_activation="gelu_pytorch_tanh", bos_token_id=2, eos_token_id=1, pad_token_id=0)),
        work / "gemma1", [folder / name for name in ["tokenizer.json", "tokenizer_config.json",
                                                     "special_tokens_map.json"]])
    exported1 = work / "gemma1-f32.gguf"
    retarget(binary, "convert", gemma1, exported1, "--to", "gguf", "--quant", "f32")
    llm = load_llama(llama_cpp_dir, exported1)
    logits(binary, work, llm, gemma1, tokenizer, "random Gemma (1) f32", 0.05)
    del llm
    shutil.rmtree(folder)
    exported.unlink()


def held_out_lines(assets):
    lines = []
    for code in ["eng", "swh", "deu_1996", "fra", "rus", "tat", "eus", "arb", "cmn_hans", "hin"]:
        path = assets / "udhr" / "declaration" / f"{code}.html"
        if path.exists():
            lines += [p for p in udhr_paragraphs(path) if p][-4:]
    return lines + ["<|im_start|>user\nHabari 123 4567!<|im_end|>", "  spaces\tand\n\nnew lines  "]


SHORT = ["Haki za binadamu ni za watu wote.", "The capital of France is Paris, and the capital of Germany is"]


def load_llama(llama_cpp_dir, path):
    """llama.cpp on `path`, every position's logits kept, keys and values in f32."""
    sys.path.insert(0, str(llama_cpp_dir))
    import llama_cpp
    return llama_cpp.Llama(model_path=str(path), n_ctx=4096, logits_all=True, verbose=False, n_threads=2,
                           type_k=0, type_v=0, flash_attn=False)


def tokenization(llm, tokenizer, lines, label):
    differing = [line for line in lines
                 if tokenizer.encode(line).ids != llm.tokenize(line.encode(), add_bos=True, special=True)]
    report(not differing, f"{label}: llama.cpp tokenizes held-out lines as the HF tokenizer",
           f"{len(lines)} lines, {sum(len(tokenizer.encode(l).ids) for l in lines)} tokens"
           + (f"; differing: {differing[:2]}" if differing else ""))


def logits(binary, work, llm, model, tokenizer, label, bound=None):
    """llama.cpp's logits of SHORT against `retarget score --model model` (the
    exported file or the folder it came from); `bound` None: printed only."""
    text = work / "logit-lines.txt"
    text.write_text("\n".join(SHORT) + "\n", encoding="utf-8")
    saved = work / "logits.safetensors"
    retarget(binary, "score", "--model", model, "-i", text, "--save-logits", saved, "--force")
    ours = load_file(str(saved))
    worst, agree, total = 0.0, 0, 0
    for i, line in enumerate(SHORT):
        ids = tokenizer.encode(line).ids
        llm.reset()
        llm.eval(ids)
        theirs = np.array(llm.scores[:len(ids)])
        mine = ours[f"line.{i}"]
        worst = max(worst, float(np.abs(theirs - mine).max()))
        agree += int((theirs.argmax(1) == mine.argmax(1)).sum())
        total += len(ids)
    what = "the HF folder" if Path(model).is_dir() else "the same file"
    name = f"{label}: llama.cpp's logits against retarget score on {what}"
    detail = f"max |Δ| {worst:.1e}" + (f" (bound {bound:g})" if bound else "") + \
        f", argmax equal at {agree}/{total} positions"
    if bound is None:
        print(f"info {name}: {detail}")
    else:
        report(worst <= bound and agree == total, name, detail)


def greedy(binary, llm, model, tokenizer, prompt, label):
    ids = tokenizer.encode(prompt).ids
    llm.reset()
    theirs = []
    for token in llm.generate(ids, top_k=1, temp=0.0, repeat_penalty=1.0):
        if token == llm.token_eos() or len(theirs) == 32:
            break
        theirs.append(token)
    mine = json.loads(retarget(binary, "generate", "--model", model, "--prompt", prompt, "--max-new-tokens", 32,
                               "--json"))["ids"]
    report(mine == theirs, f"{label}: greedy generation equals retarget's",
           f"{len(theirs)} tokens" + ("" if mine == theirs else f": {mine} vs {theirs}"))


def check_llama_cpp(binary, llama_cpp_dir, smollm2, assets, work):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(smollm2 / "tokenizer.json"))
    lines = held_out_lines(assets)
    for kind, bound in [("f32", 1e-4), ("f16", 0.1), ("q8_0", None)]:
        path = work / f"smollm2-{kind}.gguf"
        llm = load_llama(llama_cpp_dir, path)
        tokenization(llm, tokenizer, lines, f"SmolLM2 {kind}")
        logits(binary, work, llm, path, tokenizer, f"SmolLM2 {kind}", bound)
        if kind == "f16":
            greedy(binary, llm, path, tokenizer, "The capital of France is", f"SmolLM2 {kind}")
        del llm

    # The README example's adapted model: 200 Swahili tokens added, vocabulary trimmed.
    declarations = assets / "udhr" / "declaration"
    swahili, english = udhr_articles(declarations / "swh.html"), udhr_articles(declarations / "eng.html")
    held = [n for n in sorted(swahili) if n % 3 == 0 and n in english and swahili[n] and english[n]]
    corpus, held_file, english_file = work / "swahili.txt", work / "swahili-held.txt", work / "english-held.txt"
    corpus.write_text("\n".join(swahili[n] for n in sorted(swahili) if n not in held and swahili[n]) + "\n")
    held_file.write_text("\n".join(swahili[n] for n in held) + "\n")
    english_file.write_text("\n".join(english[n] for n in held) + "\n")
    adapted = work / "smollm2-swahili"
    retarget(binary, "adapt", "--model", smollm2, "--lang", "swh", "--corpus", corpus, "--held-out", held_file,
             "--parallel-ref", english_file, "--add", 200, "--trim", "--out", adapted)
    exported = work / "smollm2-swahili-f16.gguf"
    retarget(binary, "convert", adapted, exported, "--to", "gguf", "--quant", "f16")
    adapted_tokenizer = Tokenizer.from_file(str(adapted / "tokenizer.json"))
    original = tokenizer.get_vocab(True)
    new = {i for t, i in adapted_tokenizer.get_vocab(True).items() if t not in original}
    llm = load_llama(llama_cpp_dir, exported)
    swahili_lines = [swahili[n] for n in held]
    used = sum(1 for line in swahili_lines for i in adapted_tokenizer.encode(line).ids if i in new)
    tokenization(llm, adapted_tokenizer, swahili_lines + lines[:8],
                 f"SmolLM2 → Swahili ({adapted_tokenizer.get_vocab_size(True)} tokens, {len(new)} new; "
                 f"{used} new-token occurrences in the held-out Swahili) f16")
    greedy(binary, llm, exported, adapted_tokenizer, "Kila mtu ana haki", "SmolLM2 → Swahili f16")
    del llm
    converter_check(llama_cpp_dir, binary, adapted, "f16", work, "SmolLM2 → Swahili", expect_refusal=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--retarget", type=Path, required=True)
    parser.add_argument("--smollm2", type=Path, required=True)
    parser.add_argument("--fixtures", type=Path, required=True)
    parser.add_argument("--assets", type=Path, required=True)
    parser.add_argument("--llama-cpp", type=Path, required=True)
    parser.add_argument("--gemma-gguf", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    quantize = ggml(args.llama_cpp)
    check_edge_cases(args.retarget, quantize, args.fixtures, args.work)
    check_smollm2_types(args.retarget, quantize, args.smollm2, args.work)
    for kind in ["f16", "q8_0"]:
        converter_check(args.llama_cpp, args.retarget, args.smollm2, kind, args.work, "SmolLM2")
    check_families(args.retarget, args.llama_cpp, args.smollm2, args.work)
    check_llama_cpp(args.retarget, args.llama_cpp, args.smollm2, args.assets, args.work)
    check_gemma(args.retarget, args.llama_cpp, args.gemma_gguf, args.assets, args.work)
    finish()


if __name__ == "__main__":
    main()
