"""retarget `--device DEVICE` against transformers on the same device, in the
shapes of SmolLM2-135M and Gemma 3 270M (scripts/cuda/shapes/), with random
weights made here by transformers (only the configuration files travel).
Run by scripts/cuda/device-check.sh; on a machine without a GPU the same
checks run on the CPU.

Per shape:
- logits of every position of 8 lines in 8 languages (`score
  --save-logits`) against transformers float32 and a float64 evaluation:
  retarget's error against float64 at most twice transformers' own;
- greedy tokens (`generate --ignore-eos`), single stream and as one padded
  batch, against transformers' greedy loop (scripts/bench/infer_torch.py);
  a difference counts only where transformers' own top two logits are
  closer than the logits' error bound (a tie in float32), and is reported;
- prompt and generated tokens/s, single stream and batch 8 (a first batch of
  warm-up prompts not counted, on both sides), and peak memory: GPU memory
  used (nvidia-smi, above what was in use before) on CUDA, and anonymous
  host memory.

Writes REPORT.md and REPORT.json into --out; exits 1 when a check fails.

Usage: device_check.py --retarget BIN --device cuda|cpu --tokenizer FILE --out DIR
       [--new-tokens N] [--prompts N] [--shapes NAME,...]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file
from tokenizers import Tokenizer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "bench"))
from infer_summary import rates  # noqa: E402
from measure import rss_anon_kib  # noqa: E402

transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()

# Article 1 of the Universal Declaration of Human Rights in eight languages.
TEXTS = [
    "All human beings are born free and equal in dignity and rights. They are endowed with reason "
    "and conscience and should act towards one another in a spirit of brotherhood.",
    "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und "
    "Gewissen begabt und sollen einander im Geist der Brüderlichkeit begegnen.",
    "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de "
    "raison et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité.",
    "Todos los seres humanos nacen libres e iguales en dignidad y derechos y, dotados como están de "
    "razón y conciencia, deben comportarse fraternalmente los unos con los otros.",
    "Watu wote wamezaliwa huru, hadhi na haki zao ni sawa. Wote wamejaliwa akili na dhamiri, hivyo "
    "yapasa watendeane kindugu.",
    "Gizon-emakume guztiak aske jaiotzen dira, duintasun eta eskubide berberak dituztela; eta ezaguera "
    "eta kontzientzia dutenez gero, elkarren artean senide legez jokatu beharra dute.",
    "Все люди рождаются свободными и равными в своем достоинстве и правах. Они наделены разумом и "
    "совестью и должны поступать в отношении друг друга в духе братства.",
    "Tutti gli esseri umani nascono liberi ed eguali in dignità e diritti. Essi sono dotati di "
    "ragione e di coscienza e devono agire gli uni verso gli altri in spirito di fratellanza.",
]
WARMUP = "Warm-up: the first batch loads kernels and libraries on both sides and is not counted."


def run(command, **kwargs):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(map(str, command))}\n{done.stderr[-3000:]}")
    return done.stdout


class PeakMemory:
    """Peak memory of one child process: its anonymous resident memory on
    the host (scripts/bench/measure.py's RssAnon) and, on CUDA, the GPU
    memory in use (nvidia-smi) above what was in use before it started,
    both polled every 20 ms."""

    def __init__(self, device):
        self.cuda = device.startswith("cuda")
        self.index = device.split(":")[1] if ":" in device else "0"

    def gpu_used(self):
        out = subprocess.run(["nvidia-smi", "-i", self.index, "--query-gpu=memory.used",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True)
        return int(out.stdout.strip() or 0)

    def run(self, command):
        """Runs `command`; returns (stdout, {"host_mib", "gpu_mib"})."""
        baseline = self.gpu_used() if self.cuda else 0
        peak = {"host_mib": 0.0, "gpu_mib": 0.0}
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            child = subprocess.Popen([str(c) for c in command], stdout=out, stderr=err, text=True)
            while child.poll() is None:
                peak["host_mib"] = max(peak["host_mib"], rss_anon_kib(child.pid) / 1024)
                if self.cuda:
                    peak["gpu_mib"] = max(peak["gpu_mib"], self.gpu_used() - baseline)
                time.sleep(0.02)
            out.seek(0), err.seek(0)
            if child.returncode != 0:
                raise SystemExit(f"failed ({child.returncode}): {' '.join(map(str, command))}\n{err.read()[-3000:]}")
            return out.read(), peak


def make_model(shape, tokenizer, folder, device):
    """A random-weight transformers model in `shape` (config.json), saved
    into `folder` with `tokenizer`; returns it in float32 on `device`."""
    folder.mkdir(parents=True)
    shutil.copy(shape, folder / "config.json")
    shutil.copy(tokenizer, folder / "tokenizer.json")
    config = transformers.AutoConfig.from_pretrained(folder)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(folder, safe_serialization=True)
    return model.to(device).eval()


def check_logits(args, model, folder, tokenizer, work):
    """retarget's logits of every position against transformers float32 and
    a float64 evaluation; returns the result and the error bound used for
    ties in the greedy check."""
    lines = work / "lines.txt"
    lines.write_text("\n".join(TEXTS) + "\n")
    saved_file = work / "logits.safetensors"
    out = run([args.retarget, "score", "--model", folder, "-i", lines, "--json", "--device", args.device,
               "--save-logits", saved_file])
    summary = json.loads(out.splitlines()[-1])
    saved = load_file(str(saved_file))
    exact = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float64).to(args.device).eval()
    ours, theirs, versus = 0.0, 0.0, 0.0
    for index, text in enumerate(TEXTS):
        ids = torch.tensor([tokenizer.encode(text).ids], device=args.device)
        with torch.inference_mode():
            reference = model(ids).logits[0].double().cpu().numpy()
            truth = exact(ids).logits[0].cpu().numpy()
        got = saved[f"line.{index}"].astype(np.float64)
        if got.shape != reference.shape:
            return {"ok": False, "detail": f"line {index}: shape {got.shape} vs {reference.shape}"}, 0.0
        ours = max(ours, float(np.abs(got - truth).max()))
        theirs = max(theirs, float(np.abs(reference - truth).max()))
        versus = max(versus, float(np.abs(got - reference).max()))
    del exact
    return {"ok": ours <= 2 * theirs, "retarget_vs_float64": ours, "transformers_vs_float64": theirs,
            "retarget_vs_transformers": versus, "tokens": summary["total_tokens"]}, ours + theirs


def tie_margin(model, tokenizer, prompt, ids, step, device):
    """transformers' gap between its top two logits before generated token
    `step` (the prompt and the tokens before it as context)."""
    context = torch.tensor([tokenizer.encode(prompt).ids + ids[:step]], device=device)
    with torch.inference_mode():
        top = model(context).logits[0, -1].float().topk(2).values
    return float(top[0] - top[1])


def compare_generations(mine, reference, model, tokenizer, prompts, bound, device):
    same, ties, wrong = 0, [], []
    for prompt, a, b in zip(prompts, mine, reference):
        if a["ids"] == b["ids"]:
            same += 1
            continue
        step = next((i for i, (x, y) in enumerate(zip(a["ids"], b["ids"])) if x != y), min(len(a["ids"]), len(b["ids"])))
        margin = tie_margin(model, tokenizer, prompt, b["ids"], step, device)
        (ties if margin <= bound else wrong).append({"prompt": prompt[:30], "step": step, "top2_gap": margin})
    return {"ok": not wrong, "identical": same, "of": len(prompts), "ties": ties, "differences": wrong}


def check_generation(args, model, folder, tokenizer, work, bound):
    """Greedy tokens and speed, batch 1 and 8, retarget and transformers."""
    prompts = [" ".join([text] * args.repeat) for text in TEXTS[:args.prompts]]
    memory = PeakMemory(args.device)
    result = {}
    reference_single = None
    for batch in (1, 8):
        batch_prompts = [WARMUP] * batch + prompts
        prompts_file = work / f"prompts-{batch}.txt"
        prompts_file.write_text("\n".join(batch_prompts) + "\n")
        ours_out, ours_memory = memory.run([args.retarget, "generate", "--model", folder, "-i", prompts_file,
                                            "--batch", batch, "--max-new-tokens", args.new_tokens, "--ignore-eos",
                                            "--json", "--device", args.device])
        theirs_out, theirs_memory = memory.run([sys.executable, HERE.parent / "bench" / "infer_torch.py", folder,
                                                prompts_file, batch, args.new_tokens, args.device])
        ours = [json.loads(line) for line in ours_out.splitlines() if line.strip()][batch:]
        theirs = [json.loads(line) for line in theirs_out.splitlines() if line.strip()][batch:]
        if batch == 1:
            reference_single = theirs
        ours_prompt, ours_generated = rates(ours)
        theirs_prompt, theirs_generated = rates(theirs)
        result[f"batch{batch}"] = {
            "retarget": {"prompt_tokens_per_s": ours_prompt, "generated_tokens_per_s": ours_generated,
                         "peak_mib": ours_memory},
            "transformers": {"prompt_tokens_per_s": theirs_prompt, "generated_tokens_per_s": theirs_generated,
                             "peak_mib": theirs_memory},
            "prompt_tokens": sum(len(r["prompt_ids"]) for r in ours),
            "greedy_vs_transformers_single": compare_generations(ours, reference_single, model, tokenizer,
                                                                 prompts, bound, args.device),
        }
    return result


def write_whole(path, text):
    """Writes `text` to `path` through a temporary file renamed into place,
    so that an interrupted run leaves no half report."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def report_markdown(info, results):
    cuda = info["device"].startswith("cuda")

    def mib(m):
        return f"{m['gpu_mib']:,.0f} GPU + {m['host_mib']:,.0f} host" if cuda else f"{m['host_mib']:,.0f}"
    lines = [f"# retarget device check ({info['device']})", "",
             f"{info['when']}; {info['gpu']}; torch {info['torch']}, transformers {info['transformers']}; "
             f"{info['build']}", "",
             "| shape | logits: retarget vs float64 | transformers f32 vs float64 | retarget vs transformers | ok |",
             "| --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        lg = r["logits"]
        lines.append(f"| {name} | {lg.get('retarget_vs_float64', 0):.2e} | {lg.get('transformers_vs_float64', 0):.2e} "
                     f"| {lg.get('retarget_vs_transformers', 0):.2e} | {'yes' if lg['ok'] else 'NO'} |")
    lines += ["", f"| shape | batch | prompt tok/s retarget / transformers | generated tok/s retarget / transformers "
                  f"| peak MiB retarget / transformers | greedy = transformers |",
              "| --- | --- | --- | --- | --- | --- |"]
    for name, r in results.items():
        for batch in ("batch1", "batch8"):
            g = r[batch]
            ours, theirs, same = g["retarget"], g["transformers"], g["greedy_vs_transformers_single"]
            lines.append(
                f"| {name} | {batch[5:]} | {ours['prompt_tokens_per_s']:,.0f} / {theirs['prompt_tokens_per_s']:,.0f} "
                f"({ours['prompt_tokens_per_s'] / theirs['prompt_tokens_per_s']:.2f}×) "
                f"| {ours['generated_tokens_per_s']:,.1f} / {theirs['generated_tokens_per_s']:,.1f} "
                f"({ours['generated_tokens_per_s'] / theirs['generated_tokens_per_s']:.2f}×) "
                f"| {mib(ours['peak_mib'])} / {mib(theirs['peak_mib'])} "
                f"| {same['identical']}/{same['of']}{' (ties: ' + str(len(same['ties'])) + ')' if same['ties'] else ''}"
                f"{'' if same['ok'] else ' NO'} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--retarget", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--tokenizer", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2, help="each prompt is its text this many times")
    parser.add_argument("--shapes", default="smollm2-135m,gemma3-270m")
    parser.add_argument("--build-info", default="")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer.from_file(str(args.tokenizer))
    gpu = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else f"{os.cpu_count()} CPU cores"
    info = {"device": args.device, "gpu": gpu, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "torch": torch.__version__, "transformers": transformers.__version__, "build": args.build_info}
    results, failures = {}, []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.shapes.split(","):
            began = time.time()
            work = Path(scratch) / name
            folder = work / "model"
            model = make_model(HERE / "shapes" / f"{name}.json", args.tokenizer, folder, args.device)
            logits, bound = check_logits(args, model, folder, tokenizer, work)
            results[name] = {"logits": logits, **check_generation(args, model, folder, tokenizer, work, bound)}
            failures += [f"{name} logits"] * (not logits["ok"])
            failures += [f"{name} {b} greedy tokens" for b in ("batch1", "batch8")
                         if not results[name][b]["greedy_vs_transformers_single"]["ok"]]
            print(f"{name}: done in {time.time() - began:.0f} s", file=sys.stderr, flush=True)
            del model
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()
    write_whole(args.out / "REPORT.json",
                json.dumps({"info": info, "results": results, "failures": failures}, indent=1) + "\n")
    text = report_markdown(info, results)
    text += "\n" + ("All checks passed.\n" if not failures else "FAILED: " + ", ".join(failures) + "\n")
    write_whole(args.out / "REPORT.md", text)
    print(text)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
