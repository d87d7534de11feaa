"""Cross-checks retarget's encoder-decoder translation (`retarget translate`,
`retarget score --source`) against Hugging Face `transformers`, on random
m2m_100 (NLLB-style language tokens), m2m_100 (`__xx__` tokens), marian
(multi-target `>>xxx<<` and single-target) and t5 (MADLAD-style gated-GELU
with `<2xx>` tokens, untied; v1.0-style ReLU with a tied, rescaled head)
models built here with transformers itself, with a byte-level BPE tokenizer from the fixtures plus
the language tokens:

- teacher-forced logits of every target position within 1e-4 max abs, and
  the NLL equal to transformers' loss with `labels`;
- greedy decoding and beam search (4 beams, the model's early_stopping:
  true for m2m_100, false and "never" for marian) give the same token ids as
  `generate()`, and the same beam scores (`sequences_scores`) within 1e-4;
- a batch of sentences of different lengths (right-padded source) gives the
  same output as each sentence alone;
- the off-target summary is printed.
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from common import finish, report, retarget

torch.set_num_threads(os.cpu_count() or 1)
transformers.logging.set_verbosity_error()

SOURCES = [
    "The capital of France is Paris.",
    "Habari ya asubuhi, rafiki yangu.",
    "All human beings are born free and equal in dignity and rights.",
]
EOS_BOOST = 3.0
TARGETS = [
    "Mji mkuu wa Ufaransa ni Paris.",
    "Good morning, my friend.",
    "Watu wote wamezaliwa huru.",
]


def build(kind, template, out):
    """A random translation model of `kind` with its tokenizer.json; returns
    (folder, model, tokenizer, language-token style)."""
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer.from_file(str(template / "tokenizer.json"))
    style = {"nllb": ["eng_Latn", "swh_Latn", "fra_Latn"], "m2m": ["__en__", "__sw__", "__fr__"],
             "marian-multi": [">>swh<<", ">>fra<<"], "marian": [], "madlad": ["<2sw>", "<2fr>"],
             "t5-tied": []}[kind]
    tok.add_special_tokens(style)
    vocab = tok.get_vocab_size(True)
    # The fixture's <|endoftext|> (a low id, as m2m_100's positions expect) pads.
    pad, eos = tok.token_to_id("<|endoftext|>"), tok.token_to_id("</s>")
    common = dict(vocab_size=vocab, d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                  decoder_attention_heads=4, encoder_ffn_dim=112, decoder_ffn_dim=112, max_position_embeddings=128,
                  pad_token_id=pad, eos_token_id=eos, bos_token_id=tok.token_to_id("<s>"), scale_embedding=True)
    if kind in ("madlad", "t5-tied"):
        config = transformers.T5Config(vocab_size=vocab, d_model=64, d_kv=16, d_ff=112, num_layers=2,
                                       num_decoder_layers=2, num_heads=4, relative_attention_num_buckets=8,
                                       relative_attention_max_distance=20, pad_token_id=pad, eos_token_id=eos,
                                       decoder_start_token_id=pad, tie_word_embeddings=kind == "t5-tied",
                                       feed_forward_proj="gated-gelu" if kind == "madlad" else "relu")
        model = transformers.T5ForConditionalGeneration(config)
        early = kind == "madlad"
    elif kind in ("nllb", "m2m"):
        config = transformers.M2M100Config(**common, decoder_start_token_id=eos, activation_function="relu")
        model = transformers.M2M100ForConditionalGeneration(config)
        early = True
    else:
        config = transformers.MarianConfig(**common, decoder_start_token_id=pad, activation_function="swish",
                                           share_encoder_decoder_embeddings=True)
        model = transformers.MarianMTModel(config)
        early = False if kind == "marian" else "never"
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed_positions" not in name:
                p.normal_(0.0, 0.25)
        # Make the end of sequence likely enough that hypotheses finish at
        # different lengths (so that the stopping rules matter): raise its
        # logit through the final logits bias (marian) or the decoder's last
        # layer-norm bias along its (tied) output row (m2m_100).
        eos_id = tok.token_to_id("</s>")
        if kind.startswith("marian"):
            model.final_logits_bias[0, eos_id] = EOS_BOOST
        elif kind in ("nllb", "m2m"):
            row = model.model.shared.weight[eos_id]
            model.model.decoder.layer_norm.bias += EOS_BOOST * row / row.dot(row)
    model.generation_config.early_stopping = early
    model.generation_config.num_beams = 4
    model.generation_config.max_length = 40
    model.generation_config.decoder_start_token_id = config.decoder_start_token_id
    if kind.startswith("marian"):
        model.generation_config.bad_words_ids = [[pad]]
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    tok.save(str(out / "tokenizer.json"))
    return out, model, tok, style


def source_ids(tok, style, kind, text, src, tgt):
    ids = tok.encode(text, add_special_tokens=False).ids + [tok.token_to_id("</s>")]
    if kind in ("nllb", "m2m"):
        return [tok.token_to_id(src)] + ids
    if kind in ("marian-multi", "madlad"):
        return [tok.token_to_id(tgt)] + ids
    return ids


def check(binary, kind, template, work):
    folder, model, tok, style = build(kind, template, work / kind)
    langs = {"nllb": ("eng", "swh", "eng_Latn", "swh_Latn"), "m2m": ("eng", "swh", "__en__", "__sw__"),
             "marian-multi": (None, "swh", None, ">>swh<<"), "marian": (None, "swh", None, None),
             "madlad": (None, "swh", None, "<2sw>"), "t5-tied": (None, "swh", None, None)}[kind]
    src, tgt, src_token, tgt_token = langs
    lang_args = (["--src", src] if src else []) + ["--tgt", tgt]
    forced = tok.token_to_id(tgt_token) if kind in ("nllb", "m2m") else None
    eos = tok.token_to_id("</s>")
    # Teacher forcing.
    (work / "src.txt").write_text("\n".join(SOURCES) + "\n")
    (work / "tgt.txt").write_text("\n".join(TARGETS) + "\n")
    logits_file = work / f"{kind}.logits.safetensors"
    out = retarget(binary, "score", "--model", folder, "--source", work / "src.txt", "-i", work / "tgt.txt",
                   *lang_args, "--json", "--save-logits", logits_file)
    rows = [json.loads(line) for line in out.splitlines()][:-1]
    saved = load_file(str(logits_file))
    worst_logit, worst_nll = 0.0, 0.0
    for n, (s, t) in enumerate(zip(SOURCES, TARGETS)):
        enc = torch.tensor([source_ids(tok, style, kind, s, src_token, tgt_token)])
        labels = ([forced] if forced is not None else []) + tok.encode(t, add_special_tokens=False).ids + [eos]
        dec = torch.tensor([[model.config.decoder_start_token_id] + labels[:-1]])
        with torch.no_grad():
            result = model(input_ids=enc, decoder_input_ids=dec, labels=torch.tensor([labels]))
        worst_logit = max(worst_logit, float(np.abs(saved[f"line.{n}"] - result.logits[0].numpy()).max()))
        worst_nll = max(worst_nll, abs(rows[n]["nll"] - float(result.loss) * len(labels)) / (float(result.loss) * len(labels)))
    report(worst_logit <= 1e-4, f"{kind} teacher-forced logits", f"max abs diff {worst_logit:.2e}")
    report(worst_nll <= 1e-5, f"{kind} teacher-forced NLL", f"max relative diff {worst_nll:.2e}")
    # Greedy and beam search, one sentence at a time and as one batch.
    for beams in (1, 4):
        out = retarget(binary, "translate", "--model", folder, *lang_args, "-i", work / "src.txt", "--beam", beams,
                       "--batch", 1, "--max-new-tokens", 24, "--json")
        got = [json.loads(line) for line in out.splitlines()]
        summary = got[-1]
        got = got[:-1]
        batched = [json.loads(line) for line in retarget(
            binary, "translate", "--model", folder, *lang_args, "-i", work / "src.txt", "--beam", beams,
            "--batch", len(SOURCES), "--max-new-tokens", 24, "--json").splitlines()][:-1]
        same, worst_score = 0, 0.0
        for n, s in enumerate(SOURCES):
            enc = torch.tensor([source_ids(tok, style, kind, s, src_token, tgt_token)])
            kwargs = dict(num_beams=beams, max_new_tokens=24, do_sample=False, output_scores=True,
                          return_dict_in_generate=True)
            if forced is not None:
                kwargs["forced_bos_token_id"] = forced
            with torch.no_grad():
                result = model.generate(enc, attention_mask=torch.ones_like(enc), **kwargs)
            expected = result.sequences[0, 1:].tolist()
            same += got[n]["ids"] == expected
            if beams > 1:
                worst_score = max(worst_score, abs(got[n]["score"] - float(result.sequences_scores[0])))
            elif got[n]["ids"] != expected:
                print(f"  line {n}: {got[n]['ids']} vs {expected}")
        mode = "greedy" if beams == 1 else f"beam search ({beams} beams, early_stopping={model.generation_config.early_stopping})"
        report(same == len(SOURCES), f"{kind} {mode}", f"{same}/{len(SOURCES)} identical to generate()")
        if beams > 1:
            report(worst_score <= 1e-4, f"{kind} beam scores", f"max abs diff {worst_score:.2e}")
        report([b["ids"] for b in batched] == [g["ids"] for g in got], f"{kind} {mode} batched = one by one")
        print(f"info {kind}: {summary['backend']} {json.dumps(summary['langid'])[:160]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--fixtures", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for kind in ("nllb", "m2m", "marian-multi", "marian", "madlad", "t5-tied"):
        check(args.retarget, kind, args.fixtures / "llama-tied", args.work)
    finish()


if __name__ == "__main__":
    main()
