"""Cross-check `retarget merge` against mergekit (PyPI) on the same YAML.

Builds small llama models with transformers (random weights, the fixture
tokenizer) and perturbed copies of them, then for every deterministic method
runs mergekit in-process and `retarget merge`, and compares every output
tensor: max |retarget - mergekit| / max |mergekit| must be <= 1e-6 in f32.
Also: mergekit's examples/*.yml shapes with the models substituted, merges of
differing vocabularies (rows compared by token text, since mergekit numbers
added tokens in hash order), the random methods' kept fraction and L1
rescaling, reproducibility with --seed, and SmolLM2 merged with perturbed
copies of itself. Run by scripts/crosscheck/run.sh.
"""

import argparse
import json
import shutil
import subprocess
from pathlib import Path

import torch
import yaml
from safetensors.torch import load_file, save_file

from common import finish, report

F32_TOLERANCE = 1e-6
# mergekit computes float16 merges in float16 step by step; retarget computes
# in float32 and rounds once, so they may differ by a rounding or two.
F16_TOLERANCE = 2e-3
def tensors(folder):
    out = {}
    for f in sorted(Path(folder).glob("*.safetensors")):
        out.update(load_file(f))
    return out


def save_model(state, config, tokenizer_dir, out):
    out.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, out / "model.safetensors", metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(config, indent=2))
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(Path(tokenizer_dir) / name, out / name)


def make_base(tokenizer_dir, out, tied, seed, layers=6, hidden=256, vocab=400):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=688, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        tie_word_embeddings=tied, bos_token_id=1, eos_token_id=2,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.05)
    state = {k: v for k, v in model.state_dict().items() if not (tied and k == "lm_head.weight")}
    cfg = config.to_dict()
    cfg["architectures"] = ["LlamaForCausalLM"]
    cfg["torch_dtype"] = "float32"
    cfg.pop("dtype", None)
    save_model(state, cfg, tokenizer_dir, out)


def perturb(src, out, seed, scale=0.02, dtype=None):
    generator = torch.Generator().manual_seed(seed)
    state = tensors(src)
    new = {}
    for k, v in state.items():
        noise = torch.randn(v.shape, generator=generator) * scale
        t = v + noise
        new[k] = t.to(dtype) if dtype else t
    config = json.loads((Path(src) / "config.json").read_text())
    if dtype:
        config["torch_dtype"] = str(dtype).removeprefix("torch.")
    shutil.copytree(src, out, ignore=shutil.ignore_patterns("*.safetensors"))
    save_file(new, out / "model.safetensors", metadata={"format": "pt"})


class StableSorting:
    """torch's sort as mergekit's sparsification sees it, made stable.

    PyTorch's CPU sort is not stable, so among equal magnitudes (common in
    float16) mergekit keeps an arbitrary one; retarget keeps the earliest.
    """

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def argsort(x, dim=-1, descending=False):
        return torch.sort(x, dim=dim, descending=descending, stable=True).indices

    @staticmethod
    def sort(x, dim=-1, descending=False):
        return torch.sort(x, dim=dim, descending=descending, stable=True)


def run_mergekit(config_text, out, seed=None, stable=False):
    import mergekit.sparsify
    from mergekit.config import MergeConfiguration
    from mergekit.merge import run_merge
    from mergekit.options import MergeOptions

    mergekit.sparsify.torch = StableSorting() if stable else torch
    cfg = MergeConfiguration.model_validate(yaml.safe_load(config_text))
    run_merge(cfg, str(out), options=MergeOptions(copy_tokenizer=True, quiet=True, random_seed=seed,
                                                   write_model_card=False))
    mergekit.sparsify.torch = torch


def run_retarget(binary, config_path, out, *extra):
    return subprocess.run([binary, "merge", str(config_path), str(out), *extra], capture_output=True, text=True)


def relative_error(a, b):
    scale = b.abs().max().item() or 1.0
    return (a.double() - b.double()).abs().max().item() / scale


def compare(name, ours_dir, theirs_dir, tolerance, informational=False, exact=None):
    """Every tensor within `tolerance` of mergekit's. With `exact` (a float64
    evaluation of the method, by tensor name), a tensor also passes when
    retarget is within `tolerance` of it and closer to it than mergekit is
    (mergekit's own float32 rounding can exceed the tolerance)."""
    ours, theirs = tensors(ours_dir), tensors(theirs_dir)
    extra = set(theirs) - set(ours)
    # mergekit stores a tied head again as lm_head.weight; retarget keeps it tied.
    tied_copy = extra == {"lm_head.weight"} and torch.equal(theirs["lm_head.weight"], theirs["model.embed_tokens.weight"])
    if (extra and not tied_copy) or set(ours) - set(theirs):
        report(False, name, f"tensor names differ: only retarget {sorted(set(ours) - set(theirs))}, only mergekit {sorted(extra)}")
        return
    worst, where, exact_notes, exact_ok = 0.0, "", [], True
    for key, value in ours.items():
        if value.shape != theirs[key].shape or value.dtype != theirs[key].dtype:
            report(False, name, f"{key}: {value.dtype}{tuple(value.shape)} vs {theirs[key].dtype}{tuple(theirs[key].shape)}")
            return
        err = relative_error(value.float(), theirs[key].float())
        if err > tolerance and exact is not None:
            reference = exact(key)
            ours_err, theirs_err = relative_error(value, reference), relative_error(theirs[key], reference)
            exact_ok &= ours_err <= tolerance and ours_err <= theirs_err
            exact_notes.append(f"{key}: vs float64 retarget {ours_err:.1e}, mergekit {theirs_err:.1e}")
            continue
        if err > worst:
            worst, where = err, key
    detail = f"{len(ours)} tensors, max relative error {worst:.2e}{' at ' + where if where else ''}"
    if exact_notes:
        detail += (f"; {len(exact_notes)} tensors farther than that from mergekit but closer to the exact"
                   f" float64 result, worst {max(exact_notes, key=lambda n: float(n.split()[-1]))}")
        worst = worst if exact_ok else float("inf")
    if informational:
        print(f"info {name}: {detail}")
    else:
        report(worst <= tolerance, name, detail)


def merge_both(binary, work, name, config_text, tolerance=F32_TOLERANCE, stable=False, exact=None,
               mergekit_text=None):
    """Merges with retarget (`config_text`) and mergekit (`mergekit_text`, by
    default the same) and compares the outputs."""
    folder = work / name
    folder.mkdir(parents=True)
    config_path = folder / "config.yml"
    config_path.write_text(config_text)
    ours, theirs = folder / "retarget", folder / "mergekit"
    result = run_retarget(binary, config_path, ours)
    if result.returncode != 0:
        report(False, name, f"retarget failed: {result.stderr.strip()}")
        return None
    run_mergekit(mergekit_text or config_text, theirs, stable=stable)
    compare(name + (" (mergekit with stable sorting)" if stable else ""), ours, theirs, tolerance, exact=exact)
    if stable:
        stock = folder / "mergekit-stock"
        run_mergekit(config_text, stock)
        compare(name + " vs stock mergekit (ties among equal magnitudes broken differently)",
                ours, stock, tolerance, informational=True)
    return ours, theirs


def method_configs(m):
    """Configurations in mergekit's format over models base, a, b, c."""
    base, a, b, c = m["base"], m["a"], m["b"], m["c"]
    return {
        "linear": f"""
merge_method: linear
models:
  - {{model: {a}, parameters: {{weight: 1.0}}}}
  - {{model: {b}, parameters: {{weight: [0.2, 0.8]}}}}
  - {{model: {c}, parameters: {{weight: [{{filter: mlp, value: 0.5}}, {{value: 0.1}}]}}}}
dtype: float32
""",
        "linear-unnormalized": f"""
merge_method: linear
models:
  - {{model: {a}, parameters: {{weight: 0.7}}}}
  - {{model: {b}, parameters: {{weight: 0.6}}}}
parameters: {{normalize: false}}
dtype: float32
""",
        "task_arithmetic": f"""
merge_method: task_arithmetic
base_model: {base}
models:
  - {{model: {a}, parameters: {{weight: 0.6}}}}
  - {{model: {b}, parameters: {{weight: [0.1, 0.9]}}}}
  - {{model: {c}, parameters: {{weight: 0.3}}}}
parameters: {{lambda: 0.9}}
dtype: float32
""",
        "ties": f"""
merge_method: ties
base_model: {base}
models:
  - {{model: {a}, parameters: {{density: [1, 0.7, 0.1], weight: 1.0}}}}
  - {{model: {b}, parameters: {{density: 0.5, weight: [0, 0.3, 0.7, 1]}}}}
  - {{model: {c}, parameters: {{density: 0.33, weight: [{{filter: mlp, value: 0.5}}, {{value: 0.2}}]}}}}
parameters: {{normalize: true, int8_mask: true}}
dtype: float32
""",
        "ties-unnormalized-lambda": f"""
merge_method: ties
base_model: {base}
models:
  - {{model: {a}, parameters: {{density: 0.4, weight: 0.5}}}}
  - {{model: {b}, parameters: {{density: 0.6, weight: 0.5}}}}
parameters: {{normalize: false, lambda: 1.3}}
dtype: float32
""",
        "breadcrumbs": f"""
merge_method: breadcrumbs
base_model: {base}
models:
  - {{model: {a}, parameters: {{density: 0.8, gamma: 0.05, weight: 0.5}}}}
  - {{model: {b}, parameters: {{density: 0.6, weight: 0.5}}}}
dtype: float32
""",
        "breadcrumbs_ties": f"""
merge_method: breadcrumbs_ties
base_model: {base}
models:
  - {{model: {a}, parameters: {{density: 0.7, gamma: 0.02, weight: 0.6}}}}
  - {{model: {b}, parameters: {{density: 0.5, gamma: 0.01, weight: 0.4}}}}
  - {{model: {c}, parameters: {{density: 0.9, weight: 0.3}}}}
dtype: float32
""",
        "slerp": f"""
merge_method: slerp
base_model: {a}
slices:
  - sources:
      - {{model: {a}, layer_range: [0, 6]}}
      - {{model: {b}, layer_range: [0, 6]}}
parameters:
  t:
    - {{filter: self_attn, value: [0, 0.5, 0.3, 0.7, 1]}}
    - {{filter: mlp, value: [1, 0.5, 0.7, 0.3, 0]}}
    - value: 0.5
dtype: float32
""",
        "model_stock": f"""
merge_method: model_stock
base_model: {base}
models:
  - model: {a}
  - model: {b}
  - model: {c}
dtype: float32
""",
        "model_stock-filter_wise": f"""
merge_method: model_stock
base_model: {base}
models:
  - model: {a}
  - model: {b}
parameters: {{filter_wise: true}}
dtype: float32
""",
        "passthrough-stack": f"""
merge_method: passthrough
slices:
  - sources: [{{model: {a}, layer_range: [0, 4]}}]
  - sources: [{{model: {b}, layer_range: [2, 6]}}]
dtype: float32
""",
        "linear-slices": f"""
merge_method: linear
slices:
  - sources:
      - {{model: {a}, layer_range: [0, 3], parameters: {{weight: 0.2}}}}
      - {{model: {b}, layer_range: [0, 3], parameters: {{weight: [0.8, 0.1]}}}}
    parameters: {{normalize: false}}
  - sources:
      - {{model: {a}, layer_range: [3, 6]}}
      - {{model: {b}, layer_range: [3, 6]}}
    parameters: {{weight: [{{filter: self_attn, value: 0.7}}, {{value: 0.4}}]}}
dtype: float32
""",
        "task_arithmetic-slice-base": f"""
merge_method: task_arithmetic
base_model: {base}
slices:
  - sources:
      - {{model: {base}, layer_range: [0, 4]}}
      - {{model: {a}, layer_range: [0, 4], parameters: {{weight: 0.5}}}}
  - sources:
      - {{model: {c}, layer_range: [4, 6]}}
      - {{model: {b}, layer_range: [4, 6], parameters: {{weight: 0.9}}}}
    base_model: {c}
    parameters: {{lambda: 0.5}}
dtype: float32
""",
        "passthrough-scale": f"""
merge_method: passthrough
models:
  - model: {a}
    parameters:
      scale: [{{filter: o_proj, value: 0.0}}, {{filter: down_proj, value: 0.5}}, {{value: 1.0}}]
""",
    }


def example_configs(m, dtype):
    """The shapes of mergekit's examples/*.yml with the models substituted."""
    base, a, b, c = m["base"], m["a"], m["b"], m["c"]
    return {
        "bio-merge": f"""
models:
  - {{model: {a}, parameters: {{density: 0.5, weight: 0.5}}}}
  - {{model: {b}, parameters: {{density: 0.5, weight: 0.5}}}}
merge_method: ties
base_model: {base}
parameters: {{normalize: false, int8_mask: true}}
dtype: {dtype}
""",
        "gradient-slerp": f"""
slices:
  - sources:
      - {{model: {a}, layer_range: [0, 6]}}
      - {{model: {b}, layer_range: [0, 6]}}
merge_method: slerp
base_model: {a}
parameters:
  t:
    - {{filter: self_attn, value: [0, 0.5, 0.3, 0.7, 1]}}
    - {{filter: mlp, value: [1, 0.5, 0.7, 0.3, 0]}}
    - value: 0.5
dtype: {dtype}
""",
        "linear": f"""
models:
  - {{model: {a}, parameters: {{weight: 1.0}}}}
  - {{model: {b}, parameters: {{weight: 0.3}}}}
  - {{model: {c}, parameters: {{weight: 0.5}}}}
merge_method: linear
dtype: {dtype}
""",
        "orcamini-platy-44layer": f"""
slices:
  - sources: [{{model: {a}, layer_range: [0, 4]}}]
  - sources: [{{model: {b}, layer_range: [3, 6]}}]
merge_method: passthrough
dtype: {dtype}
""",
        "ties": f"""
models:
  - {{model: {a}, parameters: {{density: [1, 0.7, 0.1], weight: 1.0}}}}
  - {{model: {b}, parameters: {{density: 0.5, weight: [0, 0.3, 0.7, 1]}}}}
  - model: {c}
    parameters:
      density: 0.33
      weight: [{{filter: mlp, value: 0.5}}, {{value: 0}}]
merge_method: ties
base_model: {base}
parameters: {{normalize: true, int8_mask: true}}
dtype: {dtype}
""",
    }


def add_tokens(src, out, new_tokens, seed):
    """A copy of `src` whose tokenizer and embedding have extra tokens."""
    from tokenizers import Tokenizer

    shutil.copytree(src, out)
    tok = Tokenizer.from_file(str(out / "tokenizer.json"))
    tok.add_tokens(new_tokens)
    tok.save(str(out / "tokenizer.json"))
    n = tok.get_vocab_size(with_added_tokens=True)
    state = tensors(out)
    generator = torch.Generator().manual_seed(seed)
    for key in ["model.embed_tokens.weight", "lm_head.weight"]:
        if key in state:
            old = state[key]
            state[key] = torch.cat([old, torch.randn(n - old.shape[0], old.shape[1], generator=generator) * 0.05])
    save_file(state, out / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((out / "config.json").read_text())
    config["vocab_size"] = n
    (out / "config.json").write_text(json.dumps(config, indent=2))


def rows_by_token(folder):
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(Path(folder) / "tokenizer.json")).get_vocab(with_added_tokens=True)
    state = tensors(folder)
    return {key: {t: state[key][i] for t, i in vocab.items()} for key in ["model.embed_tokens.weight", "lm_head.weight"] if key in state}, len(vocab), state


def check_vocabularies(binary, work, m):
    """Models whose vocabularies differ, merged through tokenizer sources."""
    base, a = m["base"], m["a"]
    b_plus, c_plus = work / "vocab-b", work / "vocab-c"
    add_tokens(m["b"], b_plus, ["kwaheri", "habari", "shared_tok"], 11)
    add_tokens(m["c"], c_plus, ["eskerrik", "shared_tok"], 12)
    for source in ["union", "base", str(b_plus)]:
        text = f"""
merge_method: task_arithmetic
base_model: {base}
models:
  - {{model: {a}, parameters: {{weight: 0.5}}}}
  - {{model: {b_plus}, parameters: {{weight: 0.3}}}}
  - {{model: {c_plus}, parameters: {{weight: 0.4}}}}
tokenizer_source: {source}
dtype: float32
"""
        label = "model" if source.startswith("/") else source
        folder = work / f"vocab-{label}"
        folder.mkdir()
        (folder / "config.yml").write_text(text)
        result = run_retarget(binary, folder / "config.yml", folder / "retarget")
        if result.returncode != 0:
            report(False, f"vocabulary {label}", result.stderr.strip())
            continue
        run_mergekit(text, folder / "mergekit")
        ours, n_ours, ours_state = rows_by_token(folder / "retarget")
        theirs, n_theirs, theirs_state = rows_by_token(folder / "mergekit")
        config = json.loads((folder / "retarget" / "config.json").read_text())
        rows = ours_state["model.embed_tokens.weight"].shape[0]
        consistent = config["vocab_size"] == rows == n_ours
        same_tokens = set(ours["model.embed_tokens.weight"]) == set(theirs["model.embed_tokens.weight"])
        worst = 0.0
        for key, table in ours.items():
            for token, row in table.items():
                worst = max(worst, relative_error(row, theirs[key][token]))
        others = max(relative_error(v, theirs_state[k]) for k, v in ours_state.items() if k not in ours)
        report(consistent and same_tokens and n_ours == n_theirs and max(worst, others) <= F32_TOLERANCE,
               f"vocabulary {label}",
               f"{n_ours} tokens (mergekit {n_theirs}), config vocab_size {config['vocab_size']}, "
               f"embedding rows {rows}; rows by token max relative error {worst:.2e}, other tensors {others:.2e}")
        if label == "union":
            from transformers import AutoModelForCausalLM, AutoTokenizer

            model = AutoModelForCausalLM.from_pretrained(folder / "retarget")
            tok = AutoTokenizer.from_pretrained(folder / "retarget")
            ids = tok("habari eskerrik", return_tensors="pt").input_ids
            with torch.no_grad():
                logits = model(ids).logits
            report(len(tok) == rows and logits.shape[-1] == rows, "vocabulary union loads in transformers",
                   f"len(tokenizer) {len(tok)}, logits width {logits.shape[-1]}")
    missing = f"""
merge_method: linear
models:
  - {{model: {a}, parameters: {{weight: 0.5}}}}
  - {{model: {b_plus}, parameters: {{weight: 0.5}}}}
"""
    path = work / "vocab-mismatch.yml"
    path.write_text(missing)
    result = run_retarget(binary, path, work / "vocab-mismatch-out")
    report(result.returncode == 2 and "tokenizer_source" in result.stderr and not (work / "vocab-mismatch-out").exists(),
           "vocabulary mismatch without a tokenizer source is refused", result.stderr.strip())


def check_random_methods(binary, work, m):
    """DARE and DELLA: reproducible with --seed; kept fraction and L1 rescaling as defined."""
    base, a = m["base"], m["a"]
    base_state, a_state = tensors(base), tensors(a)
    for method, density, extra in [("dare_linear", 0.3, ""), ("dare_ties", 0.5, ""),
                                   ("della_linear", 0.4, ", epsilon: 0.1"), ("della", 0.6, ", epsilon: 0.2")]:
        text = f"""
merge_method: {method}
base_model: {base}
models:
  - {{model: {a}, parameters: {{weight: 1.0, density: {density}{extra}}}}}
parameters: {{normalize: false}}
dtype: float32
"""
        folder = work / method
        folder.mkdir()
        (folder / "config.yml").write_text(text)
        runs = [run_retarget(binary, folder / "config.yml", folder / name, "--seed", seed)
                for name, seed in [("s1", "1"), ("s1-again", "1"), ("s2", "2")]]
        if any(r.returncode for r in runs):
            report(False, method, "; ".join(r.stderr.strip() for r in runs if r.returncode))
            continue
        one, again, two = (tensors(folder / n) for n in ["s1", "s1-again", "s2"])
        reproducible = all(torch.equal(one[k], again[k]) for k in one)
        differs = any(not torch.equal(one[k], two[k]) for k in one)
        key = "model.layers.1.mlp.up_proj.weight"
        delta_in = a_state[key] - base_state[key]
        delta_out = one[key] - base_state[key]
        kept = (delta_out.abs() > 1e-12).double().mean().item()
        l1_ratio = delta_out.abs().sum().item() / delta_in.abs().sum().item()
        n = delta_in.numel()
        tolerance = 5 * (density * (1 - density) / n) ** 0.5
        run_mergekit(text, folder / "mergekit", seed=1)
        theirs = tensors(folder / "mergekit")
        their_kept = ((theirs[key] - base_state[key]).abs() > 1e-12).double().mean().item()
        report(reproducible and differs and abs(kept - density) < tolerance and abs(l1_ratio - 1) < 1e-3
               and abs(their_kept - density) < tolerance,
               f"{method} (random)",
               f"same seed identical: {reproducible}, other seed differs: {differs}; kept {kept:.4f} "
               f"(density {density}, mergekit {their_kept:.4f}, ±{tolerance:.4f}), L1 after/before {l1_ratio:.5f}")


def check_bad_input(binary, work, m):
    a = m["a"]
    cases = {
        "unknown method": (f"merge_method: frankenmerge\nmodels: [{{model: {a}}}]\n", "unknown merge method"),
        "unknown parameter": (f"merge_method: linear\nmodels: [{{model: {a}, parameters: {{weight: 1, densty: 0.5}}}}]\n", "densty"),
        "layer_range out of bounds": (f"merge_method: passthrough\nslices: [{{sources: [{{model: {a}, layer_range: [0, 9]}}]}}]\n", "out of bounds"),
        "missing base": (f"merge_method: ties\nmodels: [{{model: {a}, parameters: {{weight: 1}}}}]\n", "base_model"),
    }
    for name, (text, expected) in cases.items():
        path = work / f"bad-{name.replace(' ', '-')}.yml"
        path.write_text(text)
        out = work / f"bad-{name.replace(' ', '-')}-out"
        result = run_retarget(binary, path, out)
        report(result.returncode == 2 and expected in result.stderr and not out.exists(), f"bad input: {name}",
               result.stderr.strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--fixtures", required=True, type=Path)
    ap.add_argument("--smollm2", type=Path, help="SmolLM2 as an HF folder (from retarget convert)")
    ap.add_argument("--smollm2-gguf", type=Path, help="the GGUF file that folder was converted from")
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--only", choices=["fixtures", "smollm2"], help="run one part")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.only != "smollm2":
        check_fixtures(args)
    if args.smollm2 and args.only != "fixtures":
        check_smollm2(args)
    finish()


def check_fixtures(args):
    work = args.work
    tokenizer_dir = args.fixtures / "llama-untied"

    for tied in [False, True]:
        label = "tied" if tied else "untied"
        root = work / label
        models = {"base": root / "base"}
        make_base(tokenizer_dir, models["base"], tied, seed=3)
        for i, name in enumerate(["a", "b", "c"]):
            models[name] = root / name
            perturb(models["base"], models[name], seed=100 + i)
        for name, text in method_configs(models).items():
            merge_both(args.retarget, root, f"{label}/{name}", text)
        if not tied:
            for dtype, tolerance in [("float32", F32_TOLERANCE), ("float16", F16_TOLERANCE)]:
                for name, text in example_configs(models, dtype).items():
                    # Magnitude cuts in float16 meet many equal magnitudes (see StableSorting).
                    merge_both(args.retarget, root, f"examples-{dtype}/{name}", text, tolerance,
                               stable=dtype == "float16" and name in ("bio-merge", "ties"))
            check_vocabularies(args.retarget, root, models)
            check_random_methods(args.retarget, root, models)
            check_bad_input(args.retarget, root, models)

    # Mixed input types: a bfloat16 model merged with float32 ones.
    root = work / "untied"
    perturb(root / "base", root / "a-bf16", seed=200, dtype=torch.bfloat16)
    merge_both(args.retarget, root, "mixed-dtypes/task_arithmetic", f"""
merge_method: task_arithmetic
base_model: {root / 'base'}
models:
  - {{model: {root / 'a-bf16'}, parameters: {{weight: 0.5}}}}
  - {{model: {root / 'b'}, parameters: {{weight: 0.5}}}}
dtype: float32
""")

    # All-bfloat16 inputs without `dtype`: mergekit computes TIES in bfloat16.
    perturb(root / "base", root / "base-bf16", seed=201, scale=0.0, dtype=torch.bfloat16)
    perturb(root / "base", root / "b-bf16", seed=202, dtype=torch.bfloat16)
    merge_both(args.retarget, root, "bfloat16/ties", f"""
merge_method: ties
base_model: {root / 'base-bf16'}
models:
  - {{model: {root / 'a-bf16'}, parameters: {{weight: 0.7, density: 0.5}}}}
  - {{model: {root / 'b-bf16'}, parameters: {{weight: 0.4, density: 0.8}}}}
""", F16_TOLERANCE, stable=True)


def check_smollm2(args):
    """SmolLM2 (HF folder converted from the example GGUF) merged with perturbed copies of itself."""
    root = args.work / "smollm2"
    root.mkdir()
    models = {"base": args.smollm2}
    for i, name in enumerate(["a", "b"]):
        models[name] = root / name
        perturb(args.smollm2, models[name], seed=300 + i, scale=0.01)
    smol = {
        "ties": f"""
merge_method: ties
base_model: {models['base']}
models:
  - {{model: {models['a']}, parameters: {{density: 0.5, weight: 0.6}}}}
  - {{model: {models['b']}, parameters: {{density: [0.9, 0.3], weight: 0.4}}}}
dtype: float32
""",
        "task_arithmetic": f"""
merge_method: task_arithmetic
base_model: {models['base']}
models:
  - {{model: {models['a']}, parameters: {{weight: 0.7}}}}
  - {{model: {models['b']}, parameters: {{weight: 0.3}}}}
dtype: float32
""",
        "slerp": f"""
merge_method: slerp
base_model: {models['base']}
models:
  - model: {models['base']}
  - model: {models['a']}
parameters: {{t: [0, 0.5, 1]}}
dtype: float32
""",
        "linear": f"""
merge_method: linear
models:
  - {{model: {models['base']}, parameters: {{weight: 0.5}}}}
  - {{model: {models['a']}, parameters: {{weight: [0.2, 0.4]}}}}
  - {{model: {models['b']}, parameters: {{weight: 0.3}}}}
dtype: float32
""",
        "breadcrumbs": f"""
merge_method: breadcrumbs
base_model: {models['base']}
models:
  - {{model: {models['a']}, parameters: {{density: 0.7, gamma: 0.02, weight: 0.5}}}}
  - {{model: {models['b']}, parameters: {{density: 0.5, weight: 0.5}}}}
dtype: float32
""",
        "model_stock": f"""
merge_method: model_stock
base_model: {models['base']}
models:
  - model: {models['a']}
  - model: {models['b']}
dtype: float32
""",
        "passthrough": f"""
merge_method: passthrough
slices:
  - sources: [{{model: {models['base']}, layer_range: [0, 20]}}]
  - sources: [{{model: {models['a']}, layer_range: [10, 30]}}]
dtype: float32
""",
    }
    base_state, a_state = tensors(models["base"]), tensors(models["a"])
    layers = json.loads((args.smollm2 / "config.json").read_text())["num_hidden_layers"]

    def exact_slerp(key):
        layer = int(key.split(".")[2]) if key.startswith("model.layers.") else 0
        t = layer / (layers - 1)
        a, b = base_state[key].double(), a_state[key].double()
        dot = ((a / a.norm()) * (b / b.norm())).sum().clamp(-1, 1)
        theta = torch.acos(dot)
        return torch.sin((1 - t) * theta) / torch.sin(theta) * a + torch.sin(t * theta) / torch.sin(theta) * b

    for name, text in smol.items():
        merge_both(args.retarget, root, f"smollm2/{name}", text, stable=name in ("ties", "breadcrumbs"),
                   exact=exact_slerp if name == "slerp" else None)
        shutil.rmtree(root / "smollm2" / name)  # 0.5 GB per output
    if args.smollm2_gguf:
        # The GGUF file itself as the base: retarget converts it on the way in;
        # mergekit gets the folder retarget convert made from it.
        text = """
merge_method: task_arithmetic
base_model: {base}
models:
  - {{model: {a}, parameters: {{weight: 0.8}}}}
dtype: float32
"""
        merge_both(args.retarget, root, "smollm2/gguf-input",
                   text.format(base=args.smollm2_gguf, a=models["a"]),
                   mergekit_text=text.format(base=models["base"], a=models["a"]))


if __name__ == "__main__":
    main()
