"""The effect of steering toward a target language on translation: off-target
rate and target-language NLL, measured on held-out text.

Fitting text: the first two thirds of each language's UDHR paragraphs
(English, German, French, Spanish, Swahili, Basque, Tatar, Russian). From it:
ITLC language vectors (`retarget steer fit itlc`, LDA in the reference's
standardised units and in model units, and plain means; the middle layer)
and LAPE neurons (`retarget neurons`, for `activate=TGT`, the LAPE paper's
way of steering the output language).

Held out, never used for fitting or for choosing a setting: the prompts are
English Debian gettext messages (single-line msgids of 20–120 characters,
the first N in catalog order), translated by `retarget translate` (greedy,
the decoder prompt "Translate the following text to LANG") into each target
language without a steer and with each steer; its off-target rate comes from
lingua. The NLL cost is the target language's (and English's) last UDHR
third scored with the same steer (`retarget score`, nats per token).

The steers are added at every position (`at=all`, the reference's
"prompt_and_gen"), with alpha = 1 for every vector kind: nothing is tuned.

Usage: steer_effect.py RETARGET MODEL_DIR WORK_DIR [--prompts N] [--targets swh,eus,...]
(steer files already in WORK_DIR are reused: delete them to fit again)
Standard library only (the UDHR and gettext readers of scripts/crosscheck).
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "crosscheck"))
from texts import gettext_catalogs, udhr_paragraphs  # noqa: E402

LANGUAGES = ["eng", "deu_1996", "fra", "spa", "swh", "eus", "tat", "rus"]
# UDHR code -> ISO 639-3 code `translate --tgt` takes.
ISO = {"deu_1996": "deu", "fra": "fra", "spa": "spa", "swh": "swh", "eus": "eus", "tat": "tat", "rus": "rus"}


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True).stdout


def english_prompts(count):
    seen, prompts = set(), []
    for catalog in gettext_catalogs("de"):
        for msgid in catalog:
            if isinstance(msgid, tuple) or not isinstance(msgid, str):
                continue
            text = " ".join(msgid.split())
            if 20 <= len(text) <= 120 and "%" not in text and "\n" not in msgid and text not in seen:
                seen.add(text)
                prompts.append(text)
                if len(prompts) == count:
                    return prompts
    return prompts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("retarget")
    parser.add_argument("model")
    parser.add_argument("work", type=Path)
    parser.add_argument("--assets", type=Path, default=Path("examples/assets"))
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=40)
    parser.add_argument("--targets", default="swh,eus,tat,deu_1996")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    fit, held = {}, {}
    for code in LANGUAGES:
        paragraphs = [p for p in udhr_paragraphs(args.assets / "udhr" / "declaration" / f"{code}.html") if p]
        cut = 2 * len(paragraphs) // 3
        fit[code] = args.work / f"fit.{code}.txt"
        fit[code].write_text("\n".join(paragraphs[:cut]) + "\n", encoding="utf-8")
        held[code] = args.work / f"held.{code}.txt"
        held[code].write_text("\n".join(paragraphs[cut:]) + "\n", encoding="utf-8")
    prompts = args.work / "prompts.eng.txt"
    prompts.write_text("\n".join(english_prompts(args.prompts)) + "\n", encoding="utf-8")
    texts = [a for code in LANGUAGES for a in ("--text", f"{code}={fit[code]}")]
    files = {}
    for name, extra in [("lda", []), ("lda-model-units", ["--units", "model"]), ("mean", ["--method", "mean"])]:
        files[name] = args.work / f"{name}.safetensors"
        if files[name].exists():
            continue
        started = time.time()
        print(run(args.retarget, "steer", "fit", "itlc", "--model", args.model, *texts, "--out", files[name],
                  "--force", *extra).strip(), f"({time.time() - started:.0f} s)")
    neurons = args.work / "neurons.safetensors"
    if not neurons.exists():
        run(args.retarget, "neurons", "--model", args.model, *texts, "--out", neurons, "--force", "--json")

    def nll(path, steer):
        out = run(args.retarget, "score", "--model", args.model, "-i", path, "--json",
                  *(["--steer", steer] if steer else []))
        summary = json.loads(out.splitlines()[-1])
        return summary["total_nll"] / summary["total_tokens"]

    def translate(target, steer):
        out = run(args.retarget, "translate", "--model", args.model, "--tgt", ISO[target], "-i", prompts,
                  "--max-new-tokens", args.max_new_tokens, "--beam", 1, "--json",
                  *(["--steer", steer] if steer else []))
        rows = [json.loads(line) for line in out.splitlines()]
        return rows[-1]["langid"], [r["text"] for r in rows[:-1]]

    print(f"{len(english_prompts(args.prompts))} held-out English prompts, {args.max_new_tokens} new tokens, greedy")
    print("| target | steer | off-target rate | top output languages | target NLL | English NLL |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for target in args.targets.split(","):
        steers = [("none", None)] + [
            (f"ITLC {name} shift=eng>{target}, α=1", f"{files[name]}:shift=eng>{target},alpha=1")
            for name in files] + [(f"LAPE activate={target}", f"{neurons}:activate={target}")]
        for label, steer in steers:
            langid, texts_out = translate(target, steer)
            rate = langid.get("off_target_rate")
            top = ", ".join(f"{k} {v}" for k, v in langid.get("distribution", [])[:3])
            for kind in ["undetermined", "blank"]:
                if langid.get(kind):
                    top += f"{', ' if top else ''}{kind} {langid[kind]}"
            if "not_measured" in langid:
                rate_text = "not measured (lingua lacks the language)"
            else:
                rate_text = "no line identified" if rate is None else f"{100 * rate:.0f} %"
            print(f"| {target} | {label} | {rate_text} | {top} | {nll(held[target], steer):.3f} | "
                  f"{nll(held['eng'], steer):.3f} |", flush=True)
            (args.work / f"out.{target}.{label.split()[0]}.{len(label)}.txt").write_text(
                "\n".join(texts_out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
