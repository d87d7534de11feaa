"""Cross-check of llama-2-style SentencePiece GGUF vocabularies
(`tokenizer.ggml.model = llama` outside the Gemma architectures).

No such GGUF is on PyPI, so the check writes them with the `gguf` package,
the way llama.cpp's converter lays a SentencePiece model out (`<unk>`, `<s>`,
`</s>`, then the 256 byte pieces, then the model's pieces with their
scores and types), from the three models of the sentencepiece sdist (BPE and
Unigram, English and Japanese), around a tiny random llama network. Then:

- the tokenizer `retarget convert` rebuilds gives transformers' GGUF
  tokenizer's ids (both through `tokenizers` and `AutoTokenizer` on the
  written folder) on UDHR lines in 20+ languages, gettext lines and edge
  cases, and decodes them to the same text;
- the flags: `add_bos_token` absent (llama.cpp's default: BOS added),
  `add_bos_token = false` with `add_eos_token = true`, a user-defined piece;
- the folder's logits in transformers equal transformers' load of the GGUF.

Usage: gguf_sentencepiece_check.py --retarget BIN --assets DIR --work DIR
"""

import argparse
import shutil
import sys
from pathlib import Path

import gguf
import numpy as np
import sentencepiece as spm
import torch
import transformers
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).parent))
from common import finish, report, retarget  # noqa: E402
from texts import gettext_catalogs, udhr_paragraphs  # noqa: E402

LANGUAGES = ["eng", "swh", "eus", "tat", "rus", "arb", "hin", "cmn_hans", "jpn", "kor", "tha", "ell_monotonic",
             "heb", "amh", "tam", "deu_1996", "fra", "spa", "tur", "vie", "yor", "zul"]
EDGE_CASES = ["", " ", "   ", "  leading and   inner   spaces  ", "tab\tseparated\nnew line", "😀 emoji 🎉",
              "<s> and </s> in text", "<unk>", "a<s>b", "\u3000全角\u3000", "Straße naïve", "x" * 200,
              "<my_tag> user-defined <my_tag>x"]
# (model, variant, byte pieces, add_bos flag, add_eos flag, user-defined pieces)
VARIANTS = [
    ("botchan_en_bpe_1000", "bpe", True, None, None, ()),
    ("botchan_en_unigram_1000", "unigram-no-bytes", False, False, True, ()),
    ("kyoto_ja_unigram_8000", "ja-unigram", True, True, None, ("<my_tag>",)),
]
# Tiny network: width, feed-forward, heads, key/value heads, head size.
D, FF, HEADS, KV, HEAD = 16, 32, 2, 1, 8


def piece_type(sp, i):
    """llama.cpp's token type of a SentencePiece piece."""
    if sp.IsUnknown(i):
        return 2
    if sp.IsControl(i):
        return 3
    if sp.IsUnused(i):
        return 5
    if sp.IsByte(i):
        return 6
    return 1


def write_gguf(model, out, byte_pieces, add_bos, add_eos, user_defined):
    """A llama GGUF whose vocabulary is `model`'s, laid out as llama.cpp does."""
    sp = spm.SentencePieceProcessor(model_file=str(model))
    entries = [(sp.IdToPiece(i), sp.GetScore(i), piece_type(sp, i)) for i in range(3)]
    if byte_pieces:
        entries += [(f"<0x{b:02X}>", 0.0, 6) for b in range(256)]
    entries += [(sp.IdToPiece(i), sp.GetScore(i), piece_type(sp, i)) for i in range(3, sp.GetPieceSize())]
    entries += [(t, 0.0, 4) for t in user_defined]
    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_context_length(128)
    writer.add_embedding_length(D)
    writer.add_block_count(1)
    writer.add_feed_forward_length(FF)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(HEAD)
    writer.add_tokenizer_model("llama")
    writer.add_token_list([e[0] for e in entries])
    writer.add_token_scores([e[1] for e in entries])
    writer.add_token_types([e[2] for e in entries])
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    if add_bos is not None:
        writer.add_add_bos_token(add_bos)
    if add_eos is not None:
        writer.add_add_eos_token(add_eos)
    rng = np.random.default_rng(0)
    vocab = len(entries)
    shapes = {"token_embd.weight": (vocab, D), "output_norm.weight": (D,), "output.weight": (vocab, D),
              "blk.0.attn_norm.weight": (D,), "blk.0.attn_q.weight": (HEADS * HEAD, D),
              "blk.0.attn_k.weight": (KV * HEAD, D), "blk.0.attn_v.weight": (KV * HEAD, D),
              "blk.0.attn_output.weight": (D, HEADS * HEAD), "blk.0.ffn_norm.weight": (D,),
              "blk.0.ffn_gate.weight": (FF, D), "blk.0.ffn_up.weight": (FF, D), "blk.0.ffn_down.weight": (D, FF)}
    for name, shape in shapes.items():
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.3).astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def lines(assets, model_name):
    declarations = assets / "udhr" / "declaration"
    found, languages = [], 0
    for code in LANGUAGES:
        path = declarations / f"{code}.html"
        if path.exists():
            languages += 1
            found += [p for p in udhr_paragraphs(path) if p][:12]
    locale = "ja" if model_name.startswith("kyoto") else "de"
    for catalog in gettext_catalogs(locale):
        found += [v for v in catalog.values() if isinstance(v, str) and v][:200]
        if len(found) > 600:
            break
    return found + EDGE_CASES, languages


def check_variant(binary, assets, work, variant):
    model_name, label, byte_pieces, add_bos, add_eos, user_defined = variant
    folder = work / label
    folder.mkdir(parents=True)
    path = folder / "model.gguf"
    write_gguf(assets / "sentencepiece" / f"{model_name}.model", path, byte_pieces, add_bos, add_eos, user_defined)
    out = work / f"{label}-hf"
    retarget(binary, "convert", path, out)
    theirs = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=path.name)
    ours = Tokenizer.from_file(str(out / "tokenizer.json"))
    ours_hf = transformers.AutoTokenizer.from_pretrained(out)
    texts, languages = lines(assets, model_name)
    differ, decoded_differ = [], []
    for text in texts:
        want = theirs(text).input_ids
        if ours.encode(text).ids != want or ours_hf(text).input_ids != want:
            differ.append(text[:30])
        elif ours_hf.decode(want) != theirs.decode(want):
            decoded_differ.append(text[:30])
    report(not differ and languages >= 20, f"{label}: token ids",
           f"{len(texts)} lines ({languages} UDHR languages), {len(differ)} differ" +
           (f": {differ[:3]}" if differ else ""))
    report(not decoded_differ, f"{label}: decoded text", f"{len(decoded_differ)} differ" +
           (f": {decoded_differ[:3]}" if decoded_differ else ""))
    flags = [(ours_hf.bos_token, theirs.bos_token), (ours_hf.eos_token, theirs.eos_token),
             (ours_hf.unk_token, theirs.unk_token), (len(ours_hf), len(theirs))]
    report(all(a == b for a, b in flags), f"{label}: special tokens and vocabulary size", str(flags))
    reference = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=path.name,
                                                                  dtype=torch.float32)
    converted = transformers.AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    ids = torch.tensor([theirs(texts[0]).input_ids])
    with torch.no_grad():
        a, b = reference(ids).logits, converted(ids).logits
    report(torch.equal(a, b), f"{label}: logits of the converted folder equal transformers' GGUF load",
           f"max |Δ| {float((a - b).abs().max()):.2e} over {ids.shape[1]} tokens")
    shutil.rmtree(folder)
    shutil.rmtree(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--retarget", type=Path, required=True)
    parser.add_argument("--assets", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    transformers.logging.set_verbosity_error()
    for variant in VARIANTS:
        check_variant(args.retarget, args.assets, args.work, variant)
    finish()


if __name__ == "__main__":
    main()
