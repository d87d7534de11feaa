"""Cross-check `retarget vocab trim` and `retarget vocab expand` with transformers.

For each model (the fixtures, MiniLM as an encoder, SmolLM2 as a decoder):
trim it with a target-language corpus (gettext catalogs or English
sentences), then on held-out text made only of kept tokens check that the
trimmed tokenizer gives the same token strings as the original, and that the
trimmed model's outputs equal the original's — logits restricted to the kept
ids (decoders, masked LMs, seq2seq) or hidden states (MiniLM) — within 1e-5
in f32. Reports vocabulary and weight-file sizes before and after.
"""

import argparse
import itertools
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoModelForSeq2SeqLM, AutoTokenizer

from common import finish, report, xlmr_llama
from texts import gettext_catalogs, udhr_paragraphs

TOLERANCE = 1e-5
def weight_bytes(folder):
    return sum(p.stat().st_size for p in Path(folder).glob("*.safetensors"))


def load(folder, kind):
    loader = {"causal": AutoModelForCausalLM, "masked": AutoModelForMaskedLM,
              "seq2seq": AutoModelForSeq2SeqLM, "encoder": AutoModel}[kind]
    return loader.from_pretrained(folder, dtype=torch.float32).eval()


def outputs(model, kind, ids):
    """The model's output (logits, or hidden states for an encoder) and, for
    models with a head, the head's input and the logits recomputed from it in
    float64 (independent of how the f32 matrix product is blocked, which
    differs with the number of rows)."""
    with torch.no_grad():
        if kind == "encoder":
            return model(input_ids=ids).last_hidden_state, None, None
        head = model.get_output_embeddings()
        captured = {}
        def capture(module, inputs, output):
            captured["x"] = inputs[0]  # returns None: the output is unchanged

        hook = head.register_forward_hook(capture)
        args = {"decoder_input_ids": ids} if kind == "seq2seq" else {}
        logits = model(input_ids=ids, **args).logits
        hook.remove()
        x = captured["x"]
        exact = x.double() @ head.weight.double().T
        if head.bias is not None:
            exact = exact + head.bias.double()
        return logits, x, exact


def write_corpus(work, stem, lines):
    """Writes `lines` to work/<stem>.txt, one per line; returns the path."""
    path = work / f"{stem}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_vocab(binary, label, command, folder, out, *args):
    """Runs `retarget vocab COMMAND --model FOLDER ARGS --out OUT --json`:
    its JSON report, or None after reporting the failure under `label`."""
    result = subprocess.run([binary, "vocab", command, "--model", str(folder), *map(str, args),
                             "--out", str(out), "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        report(False, label, result.stderr.strip())
        return None
    return json.loads(result.stdout)


def check(binary, name, folder, kind, train, held_out, work):
    corpus = write_corpus(work, f"{name}-corpus", train)
    out = work / f"{name}-trimmed"
    trim = run_vocab(binary, name, "trim", folder, out, "--corpus", corpus)
    if trim is None:
        return
    tok_a, tok_b = AutoTokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(out)
    vocab_b = tok_b.get_vocab()
    kept_old = torch.tensor([tok_a.convert_tokens_to_ids(t) for t, _ in sorted(vocab_b.items(), key=lambda x: x[1])])
    model_a, model_b = load(folder, kind), load(out, kind)
    lines, same_tokens, worst, worst_hidden, worst_exact = 0, True, 0.0, 0.0, 0.0
    longest = getattr(model_a.config, "max_position_embeddings", None) or 10**9
    for line in held_out:
        ids_a = tok_a(line, return_tensors="pt").input_ids
        tokens = tok_a.convert_ids_to_tokens(ids_a[0])
        if len(tokens) > longest or not all(t in vocab_b for t in tokens):
            continue  # too long for the model, or not made only of kept tokens
        ids_b = tok_b(line, return_tensors="pt").input_ids
        same_tokens &= tok_b.convert_ids_to_tokens(ids_b[0]) == tokens
        (a, xa, ea), (b, xb, eb) = outputs(model_a, kind, ids_a), outputs(model_b, kind, ids_b)
        if kind == "encoder":
            worst_hidden = max(worst_hidden, (a - b).abs().max().item())
        else:
            keep = slice(0, len(kept_old))
            worst = max(worst, (a[..., kept_old] - b[..., keep]).abs().max().item())
            worst_hidden = max(worst_hidden, (xa - xb).abs().max().item())
            worst_exact = max(worst_exact, (ea[..., kept_old] - eb[..., keep]).abs().max().item())
        lines += 1
    # The model's f32 logits must agree; where the f32 product alone differs
    # by more (a different blocking for a different number of rows), the head
    # input and the float64 logits must.
    agree = worst <= TOLERANCE or (worst_hidden <= TOLERANCE and worst_exact <= TOLERANCE)
    detail = (f"{trim['tokens_before']} → {trim['tokens_after']} tokens, weights {weight_bytes(folder):,} → "
              f"{weight_bytes(out):,} bytes; {lines} held-out lines of kept tokens: same tokens {same_tokens}")
    if kind == "encoder":
        detail += f", max |Δhidden| {worst_hidden:.1e}"
        agree = worst_hidden <= TOLERANCE
    else:
        detail += (f", max |Δlogit| f32 {worst:.1e} (head input {worst_hidden:.1e}, "
                   f"logits in float64 from it {worst_exact:.1e})")
    report(lines > 0 and same_tokens and agree, f"trim {name}", detail)


def check_trim_counts(binary, name, folder, lines, work):
    """`vocab trim` on a Unigram tokenizer, whose corpus retarget encodes
    without the `tokenizers` crate's model: its token count equals the
    tokenizers package's, it keeps exactly the used tokens and those it
    always keeps (added, unknown, single characters, byte pieces, config
    ids), and the trimmed tokenizer encodes every corpus line to the same
    tokens."""
    from tokenizers import Tokenizer

    corpus = write_corpus(work, f"{name}-counts-corpus", lines)
    out = work / f"{name}-counts-trimmed"
    trim = run_vocab(binary, f"trim counts {name}", "trim", folder, out, "--corpus", corpus)
    if trim is None:
        return
    lines = [line for line in corpus.read_text().split("\n") if line.strip()]
    before, after = Tokenizer.from_file(str(folder / "tokenizer.json")), Tokenizer.from_file(str(out / "tokenizer.json"))
    encodings = before.encode_batch(lines, add_special_tokens=False)
    used = {i for e in encodings for i in e.ids}
    spec = json.loads((folder / "tokenizer.json").read_text())
    pieces = [p for p, _ in spec["model"]["vocab"]]
    always = {t["id"] for t in spec["added_tokens"]} | {spec["model"]["unk_id"]}
    always |= {i for i, p in enumerate(pieces) if len(p) == 1 or re.fullmatch(r"<0x[0-9A-Fa-f]{2}>", p)}
    config = json.loads((folder / "config.json").read_text())
    always |= {v for k, v in config.items() if k.endswith("_token_id") and isinstance(v, int)}
    total = sum(len(e.ids) for e in encodings)
    same = all(a.tokens == b.tokens for a, b in zip(encodings, after.encode_batch(lines, add_special_tokens=False)))
    expected = len(used | always)
    report(trim["corpus_tokens"] == total and trim["tokens_after"] == expected and same, f"trim counts {name}",
           f"{len(lines)} lines: {trim['corpus_tokens']} tokens (tokenizers {total}); {trim['tokens_before']} → "
           f"{trim['tokens_after']} tokens kept (used or always kept: {expected}); every line the same tokens "
           f"after: {same}")


def fvt_pieces(tok_old, token, vocab, prefix, unk):
    """The old tokenizer's pieces of a new token; a WordPiece continuation
    (`##ka`) is split greedily, longest match first, into continuations."""
    if prefix and token.startswith(prefix) and len(token) > len(prefix):
        rest, ids, i = token[len(prefix):], [], 0
        while i < len(rest):
            for j in range(len(rest), i, -1):
                if prefix + rest[i:j] in vocab:
                    ids.append(vocab[prefix + rest[i:j]])
                    i = j
                    break
            else:
                return [vocab[unk]]
        return ids
    return [t.id for t in tok_old.model.tokenize(token)]


def check_expand(binary, name, folder, kind, train, held_out, work, add):
    """`vocab expand --init mean`: transformers loads model and tokenizer, old
    ids, rows and the old tokens' logits are unchanged, new rows are the mean
    of the old rows of the old tokenizer's pieces (FVT), and held-out target
    text needs fewer tokens."""
    from tokenizers import Tokenizer

    corpus = write_corpus(work, f"{name}-expand-corpus", train)
    out = work / f"{name}-expanded"
    if run_vocab(binary, f"expand {name}", "expand", folder, out, "--corpus", corpus, "--add", add) is None:
        return
    old_model, new_model = load(folder, kind), load(out, kind)
    tok_old, tok_new = Tokenizer.from_file(str(folder / "tokenizer.json")), Tokenizer.from_file(str(out / "tokenizer.json"))
    old_vocab, new_vocab = tok_old.get_vocab(True), tok_new.get_vocab(True)
    ids_kept = all(new_vocab.get(t) == i for t, i in old_vocab.items())
    model_json = json.loads((folder / "tokenizer.json").read_text())["model"]
    prefix = model_json.get("continuing_subword_prefix") if model_json["type"] == "WordPiece" else None
    n_old = len(old_vocab)
    rows_kept, fvt_worst = True, 0.0
    tables = [old_model.get_input_embeddings().weight, old_model.get_output_embeddings().weight]
    new_tables = [new_model.get_input_embeddings().weight, new_model.get_output_embeddings().weight]
    for old, new in zip(tables, new_tables):
        rows_kept &= torch.equal(new[:old.shape[0]], old)
        for token, i in new_vocab.items():
            if i >= n_old:
                pieces = fvt_pieces(tok_old, token, old_vocab, prefix, model_json.get("unk_token"))
                fvt_worst = max(fvt_worst, (new[i] - old[pieces].mean(0)).abs().max().item())
    before = sum(len(tok_old.encode(l, add_special_tokens=False).ids) for l in held_out)
    after = sum(len(tok_new.encode(l, add_special_tokens=False).ids) for l in held_out)
    words = sum(len(l.split()) for l in held_out)
    auto = AutoTokenizer.from_pretrained(out)
    same_ids = all(auto(l).input_ids == tok_new.encode(l).ids for l in held_out[:50])
    # The old tokens' logits on old-tokenized text are unchanged: compared in
    # float64 from the head's input, since torch blocks the f32 product
    # differently for a head with more rows (that noise, ~3e-5 on SmolLM2, says
    # nothing about the model).
    ids = torch.tensor([tok_old.encode(held_out[0]).ids])
    (a, _, a_exact), (b, _, b_exact) = outputs(old_model, kind, ids), outputs(new_model, kind, ids)
    if a_exact is not None:
        a, b = a_exact, b_exact
    logit_diff = (a - b[..., :a.shape[-1]]).abs().max().item()
    ok = (ids_kept and rows_kept and fvt_worst <= 1e-6 and after < before and same_ids
          and b.shape[-1] >= len(new_vocab) and logit_diff <= TOLERANCE)
    report(ok, f"expand {name} ({model_json['type']})",
           f"+{len(new_vocab) - n_old} tokens; transformers loads model and tokenizer (same ids as tokenizers: "
           f"{same_ids}); old ids unchanged {ids_kept}, old rows byte-identical {rows_kept}, old tokens' logits "
           f"max |Δ| {logit_diff:.1e}; FVT rows max |Δ| {fvt_worst:.1e}; held-out fertility "
           f"{before / words:.3f} → {after / words:.3f} tokens/word ({before} → {after} tokens)")


def check_clp(binary, name, folder, helper, kind, held_out, work):
    """`vocab expand --replace --init clp --helper H`: the new input embedding
    equals CLP-Transfer's rule as the authors' clp.py computes it (shared
    tokens copied; each other token the average of the shared tokens' source
    rows weighted by cosine similarity in the helper's embedding space over
    their sum), recomputed here in float64; the head gets the same rule;
    transformers loads model and tokenizer."""
    import numpy as np

    out = work / f"{name}-clp"
    if run_vocab(binary, f"clp {name}", "expand", folder, out, "--replace", "--helper", helper,
                 "--init", "clp") is None:
        return
    source, helper_model, ours = load(folder, kind), load(helper, kind), load(out, kind)
    source_vocab = AutoTokenizer.from_pretrained(folder).get_vocab()
    helper_tok = AutoTokenizer.from_pretrained(helper)
    helper_vocab = helper_tok.get_vocab()
    shared = [t for t in helper_vocab if t in source_vocab]
    missing = [t for t in helper_vocab if t not in source_vocab]
    h = helper_model.get_input_embeddings().weight.detach().double().numpy()
    unit = h / np.linalg.norm(h, axis=1, keepdims=True)
    sims = unit[[helper_vocab[t] for t in missing]] @ unit[[helper_vocab[t] for t in shared]].T
    weights = sims / sims.sum(axis=1, keepdims=True)
    worst = 0.0
    for table, new_table in [(source.get_input_embeddings().weight, ours.get_input_embeddings().weight),
                             (source.get_output_embeddings().weight, ours.get_output_embeddings().weight)]:
        src = table.detach().double().numpy()
        expected = np.empty((len(helper_vocab), src.shape[1]))
        expected[[helper_vocab[t] for t in shared]] = src[[source_vocab[t] for t in shared]]
        expected[[helper_vocab[t] for t in missing]] = weights @ src[[source_vocab[t] for t in shared]]
        got = new_table.detach().double().numpy()
        worst = max(worst, np.abs(got - expected).max() / np.abs(expected).max())
    loaded = AutoTokenizer.from_pretrained(out)
    same_ids = all(loaded(l).input_ids == helper_tok(l).input_ids for l in held_out[:50])
    report(worst <= 1e-4 and same_ids and len(missing) > 0, f"clp {name}",
           f"{len(shared)} shared, {len(missing)} new tokens; rows vs CLP's rule in float64: max relative "
           f"error {worst:.1e}; transformers loads it with the helper's tokenizer: {same_ids}")


def check_replace(binary, name, folder, kind, train, held_out, work, size):
    """`vocab expand --replace --corpus …`: a tokenizer of the old kind trained
    on the corpus replaces the old one; transformers loads model and
    tokenizer (same ids, special tokens included, as the tokenizers library),
    shared tokens keep their rows, held-out text needs fewer tokens."""
    from tokenizers import Tokenizer

    corpus = write_corpus(work, f"{name}-replace-corpus", train)
    out = work / f"{name}-replaced"
    if run_vocab(binary, f"replace {name}", "expand", folder, out, "--replace", "--corpus", corpus,
                 "--vocab-size", size) is None:
        return
    old_model, new_model = load(folder, kind), load(out, kind)
    tok_old, tok_new = Tokenizer.from_file(str(folder / "tokenizer.json")), Tokenizer.from_file(str(out / "tokenizer.json"))
    auto = AutoTokenizer.from_pretrained(out)
    same_ids = all(auto(l).input_ids == tok_new.encode(l).ids for l in held_out[:50])
    old_vocab, new_vocab = tok_old.get_vocab(True), tok_new.get_vocab(True)
    shared = [(old_vocab[t], i) for t, i in new_vocab.items() if t in old_vocab]
    rows_kept = all(torch.equal(new.weight[[n for _, n in shared]], old.weight[[o for o, _ in shared]])
                    for old, new in [(old_model.get_input_embeddings(), new_model.get_input_embeddings()),
                                     (old_model.get_output_embeddings(), new_model.get_output_embeddings())])
    before = sum(len(tok_old.encode(l, add_special_tokens=False).ids) for l in held_out)
    after = sum(len(tok_new.encode(l, add_special_tokens=False).ids) for l in held_out)
    with torch.no_grad():
        outputs(new_model, kind, torch.tensor([tok_new.encode(held_out[0]).ids]))
    report(same_ids and rows_kept and after < before, f"replace {name}",
           f"{len(old_vocab)} → {len(new_vocab)} tokens ({len(shared)} shared, rows copied: {rows_kept}); "
           f"transformers loads model and tokenizer, same ids as tokenizers: {same_ids}; held-out "
           f"{before} → {after} tokens")


def train_aux_vectors(tokenizer_dir, train, work, name, fasttext_path):
    """Token-level auxiliary vectors as deepfocus trains them: fastText CBOW
    (neg 10) on the text tokenized with the target tokenizer, written as a
    .vec file of every fastText word's vector."""
    import sys

    sys.path.insert(0, str(fasttext_path))
    import fasttext

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    text = work / f"{name}-focus-tokenized.txt"
    text.write_text("".join(" ".join(tok.tokenize(l)) + "\n" for l in train))
    model = fasttext.train_unsupervised(str(text), model="cbow", dim=50, epoch=3, minCount=3, neg=10,
                                        thread=2, verbose=0)
    vec = work / f"{name}-aux.vec"
    with vec.open("w") as f:
        f.write(f"{len(model.words)} {model.get_dimension()}\n")
        for w in model.words:
            f.write(w + " " + " ".join(f"{x:.9g}" for x in model.get_word_vector(w)) + "\n")
    return {l.split(" ", 1)[0]: np.array([float(x) for x in l.split()[1:]], dtype=np.float32)
            for l in vec.read_text().splitlines()[1:]}, vec


def check_focus(binary, name, folder, target_dir, kind, train, work, addons, fasttext_path):
    """`vocab expand --replace --init focus --aux-vectors V` against the
    authors' deepfocus package given the same auxiliary vectors: every row it
    does not draw at random (shared tokens copied, the others sparsemax
    combinations) within 1e-4 relative, and the same tokens drawn at random;
    the head (untied) gets the same rule, checked with FOCUS on the head."""
    import sys

    sys.path.insert(0, str(addons))
    sys.path.insert(0, str(fasttext_path))
    import deepfocus.focus as focus_module

    vectors, vec = train_aux_vectors(target_dir, train, work, name, fasttext_path)
    out = work / f"{name}-focus"
    ours_report = run_vocab(binary, f"focus {name}", "expand", folder, out, "--replace", "--tokenizer",
                            target_dir / "tokenizer.json", "--init", "focus", "--aux-vectors", vec)
    if ours_report is None:
        return
    focus_module.load_target_token_embedding = lambda **kwargs: vectors
    source_tok, target_tok = AutoTokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(target_dir)
    source, ours = load(folder, kind), load(out, kind)
    tables = [(source.get_input_embeddings().weight, ours.get_input_embeddings().weight)]
    if source.get_output_embeddings().weight.data_ptr() != source.get_input_embeddings().weight.data_ptr():
        tables.append((source.get_output_embeddings().weight, ours.get_output_embeddings().weight))
    worst, same_random, random_rows = 0.0, True, 0
    for old, new in tables:
        theirs = focus_module.FOCUS(target_tokenizer=target_tok, source_tokenizer=source_tok,
                                    source_embeddings=old.detach(), fasttext_model_path="(given)",
                                    verbosity="silent").double()
        got = new.detach().double()[: theirs.shape[0]]
        # Rows deepfocus draws at random: tokens without a usable vector that match no source token.
        vocab = target_tok.get_vocab()
        overlap, new_tokens = focus_module.get_overlapping_tokens(target_tok, source_tok, False, True, False)
        random_ids = sorted(vocab[t] for t in new_tokens
                            if t not in vectors or not np.abs(vectors[t]).sum())
        random_rows = len(random_ids)
        keep = torch.ones(theirs.shape[0], dtype=torch.bool)
        keep[random_ids] = False
        scale = theirs[keep].abs().max().item()
        worst = max(worst, ((got - theirs)[keep].abs().max().item()) / scale)
    same_random = ours_report["random_rows"] == random_rows
    report(worst <= 1e-4 and same_random, f"focus {name}",
           f"{ours_report['tokens_before']} → {ours_report['tokens_after']} tokens, {ours_report['shared_tokens']} "
           f"shared; rows vs deepfocus 1.0.1 given the same auxiliary vectors: max "
           f"relative error {worst:.1e} over {len(tables)} table(s); random rows {ours_report['random_rows']} "
           f"(deepfocus {random_rows})")


def wechsel_inputs(work, fasttext_path):
    """fastText skip-gram models (with subwords) of English and German from
    the Debian gettext catalogs (msgids and their German translations), and
    a bilingual dictionary of their one-word message pairs."""
    import sys

    sys.path.insert(0, str(fasttext_path))
    import fasttext

    pairs = [(" ".join(k.split()), " ".join(t.split())) for c in gettext_catalogs("de") for k, t in c.items()
             if isinstance(k, str) and k.strip() and isinstance(t, str) and t.strip()]
    paths = {}
    for side, lines in [("en", [k for k, _ in pairs]), ("de", [t for _, t in pairs])]:
        text = write_corpus(work, f"wechsel-{side}", lines)
        # Ten epochs: fewer leave the vectors so alike that the dictionary's
        # cross-covariance is ill-conditioned and WECHSEL's float32
        # Procrustes (scipy) is numerically arbitrary in its weak directions.
        # One thread: fastText's training is then the same on every run.
        model = fasttext.train_unsupervised(str(text), model="skipgram", dim=32, epoch=10, minCount=3, minn=3,
                                            maxn=6, bucket=50000, thread=1, verbose=0)
        paths[side] = work / f"wechsel-{side}.bin"
        model.save_model(str(paths[side]))
    words = sorted({(k, t) for k, t in pairs if k.isalpha() and t.isalpha()})
    paths["dictionary"] = work / "wechsel-en-de.txt"
    paths["dictionary"].write_text("".join(f"{k}\t{t}\n" for k, t in words))
    return paths, len(words)


def skip_random_special(info, specials, vocab):
    """Target ids WECHSEL draws at random or copies as special tokens."""
    return {vocab[t] for t in info.not_found} | {vocab[t] for t in specials if t in vocab}


def tied_top10(sims, tol=1e-6, cap=1000):
    """The top-10 choices a tie at the 10th place allows: lower ids first,
    then every other choice among the neighbours within `tol` of the 10th
    (up to `cap` of them). Tokens with the same text tie exactly; other
    near-ties (under 1e-6) are ordered by float32 rounding, which differs
    between numpy's matrix product and retarget's."""
    order = np.lexsort((np.arange(len(sims)), -sims))
    first = order[:10]
    yield first
    tenth = sims[order[9]]
    above = np.nonzero(sims > tenth + tol)[0]
    group = np.nonzero(np.abs(sims - tenth) <= tol)[0]
    for n, chosen in enumerate(itertools.combinations(group, 10 - len(above))):
        if n >= cap:
            return
        top = np.concatenate([above, np.array(chosen, dtype=above.dtype)])
        if set(top.tolist()) != set(first.tolist()):
            yield top


def check_wechsel(binary, name, folder, target_dir, kind, work, addons, fasttext_path):
    """`vocab expand --replace --init wechsel` against the authors' wechsel
    package on the same fastText models and dictionary: every row it does
    not draw at random or copy as a special token within 1e-4 relative, and
    the same tokens drawn at random."""
    import sys

    sys.path.insert(0, str(addons))
    sys.path.insert(0, str(fasttext_path))
    import fasttext
    from wechsel import WECHSEL, get_subword_embeddings_in_word_embedding_space

    paths, pairs = wechsel_inputs(work, fasttext_path)
    out = work / f"{name}-wechsel"
    ours_report = run_vocab(binary, f"wechsel {name}", "expand", folder, out, "--replace", "--tokenizer",
                            target_dir / "tokenizer.json", "--init", "wechsel", "--source-vectors", paths["en"],
                            "--target-vectors", paths["de"], "--dictionary", paths["dictionary"])
    if ours_report is None:
        return
    source_tok, target_tok = AutoTokenizer.from_pretrained(folder), AutoTokenizer.from_pretrained(target_dir)
    source, ours = load(folder, kind), load(out, kind)
    wechsel = WECHSEL(fasttext.load_model(str(paths["en"])), fasttext.load_model(str(paths["de"])),
                      bilingual_dictionary=str(paths["dictionary"]))
    specials = {t for tok in (source_tok, target_tok) for t in tok.all_special_tokens}
    specials |= {t.content for tok in (source_tok, target_tok) for t in tok.added_tokens_decoder.values()}
    # WECHSEL's neighbours are ambiguous where old tokens with the same text
    # (hence the same vector) tie at the 10th place: numpy's argpartition
    # keeps some, retarget the lower ids. Those rows are compared with
    # WECHSEL's rule under a tie-break it allows instead of with wechsel.
    s0, _ = get_subword_embeddings_in_word_embedding_space(source_tok, wechsel.source_embeddings, verbose=False)
    t0, _ = get_subword_embeddings_in_word_embedding_space(target_tok, wechsel.target_embeddings, verbose=False)
    s_unit = wechsel.source_transform(s0)
    s_unit /= np.linalg.norm(s_unit, axis=1)[:, None] + 1e-8
    t_unit = t0 / (np.linalg.norm(t0, axis=1)[:, None] + 1e-8)
    ranked = -np.sort(-(t_unit @ s_unit.T), axis=1)
    ambiguous = set(np.nonzero(np.abs(ranked[:, 9] - ranked[:, 10]) < 1e-6)[0].tolist())
    sims_all = t_unit @ s_unit.T
    worst, worst_rule, random_rows, other_choice = 0.0, 0.0, None, 0
    tables = [(source.get_input_embeddings().weight, ours.get_input_embeddings().weight)]
    if source.get_output_embeddings().weight.data_ptr() != source.get_input_embeddings().weight.data_ptr():
        tables.append((source.get_output_embeddings().weight, ours.get_output_embeddings().weight))
    for old, new in tables:
        theirs, info = wechsel.apply(source_tok, target_tok, old.detach().numpy())
        vocab = target_tok.get_vocab()
        skip = skip_random_special(info, specials, vocab) | ambiguous
        keep = [i for i in range(len(vocab)) if i not in skip]
        got = new.detach().double().numpy()[keep]
        expected = theirs[keep].astype(np.float64)
        worst = max(worst, np.abs(got - expected).max() / np.abs(expected).max())
        old_rows = old.detach().double().numpy()
        for i in sorted(ambiguous - skip_random_special(info, specials, vocab)):
            mine = new.detach().double().numpy()[i]
            errors = []
            for top in tied_top10(sims_all[i]):
                w = np.exp((sims_all[i][top] - sims_all[i][top].max()) / 0.1)
                rule = (w / w.sum()) @ old_rows[top]
                errors.append(np.abs(mine - rule).max() / np.abs(old_rows).max())
            worst_rule = max(worst_rule, min(errors))
            other_choice += int(errors[0] > 1e-4 >= min(errors))
        random_rows = len([t for t in info.not_found if t not in specials])
    same_random = ours_report["random_rows"] == random_rows
    compared = len(target_tok) - len(ambiguous)
    report(worst <= 1e-4 and worst_rule <= 1e-4 and same_random, f"wechsel {name}",
           f"{ours_report['tokens_before']} → {ours_report['tokens_after']} tokens; fastText en/de models and "
           f"{pairs} gettext word pairs; rows vs wechsel 0.0.4: max relative error {worst:.1e} over "
           f"{len(tables)} table(s) on {compared} rows; the {len(ambiguous)} rows with tied 10th neighbours vs "
           f"WECHSEL's rule with lower ids first ({other_choice} of them with another choice tied within 1e-6): "
           f"{worst_rule:.1e}; random rows "
           f"{ours_report['random_rows']} (wechsel {random_rows})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retarget", required=True)
    ap.add_argument("--fixtures", required=True, type=Path)
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--smollm2", type=Path, help="SmolLM2 as an HF folder (from retarget convert)")
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--addons", type=Path, help="folder of the add-on reference packages (addons.sh)")
    ap.add_argument("--fasttext", type=Path, help="folder of the fastText package (isolated)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    # Target-language text: German gettext messages (real catalogs from the Debian system).
    german = [" ".join(text.split()) for catalog in gettext_catalogs("de")
              for key, text in catalog.items() if key and isinstance(text, str) and text.strip()][:4000]
    train, held_out = german[: len(german) // 2], german[len(german) // 2:][:300]
    models = [
        ("llama-tied", args.fixtures / "llama-tied", "causal"),
        ("llama-untied", args.fixtures / "llama-untied", "causal"),
        ("bert", args.fixtures / "bert", "masked"),
        ("t5", args.fixtures / "t5", "seq2seq"),
        ("all-MiniLM-L6-v2", args.assets / "all-MiniLM-L6-v2", "encoder"),
    ]
    if args.smollm2:
        models.append(("SmolLM2-135M", args.smollm2, "causal"))
    for name, folder, kind in models:
        check(args.retarget, name, folder, kind, train, held_out, args.work)
    # Unigram corpora are counted without the tokenizers crate's model: the
    # fixture's and XLM-R's, on German and on UDHR text in eight scripts.
    udhr = [p for code in ["swh", "rus", "arb", "hin", "tha", "jpn", "kor", "amh"]
            for p in udhr_paragraphs(args.assets / "udhr" / "declaration" / f"{code}.html") if p]
    xlmr = xlmr_llama(args.work / "xlmr-llama", args.assets / "xlmr-tokenizer" / "tokenizer.json", hidden=8,
                      inter=16, layers=1, heads=2)
    for name, folder in [("t5", args.fixtures / "t5"), ("xlmr-250k", xlmr)]:
        check_trim_counts(args.retarget, name, folder, train + udhr, args.work)
    for name, kind in [("llama-untied", "causal"), ("bert", "masked"), ("t5", "seq2seq")]:
        check_expand(args.retarget, name, args.fixtures / name, kind, train, held_out, args.work, 200)
    for name, kind, size in [("llama-untied", "causal", 2000), ("bert", "masked", 2000), ("t5", "seq2seq", 2000)]:
        check_replace(args.retarget, name, args.fixtures / name, kind, train, held_out, args.work, size)
    if args.addons and args.fasttext:
        for name, kind in [("t5", "seq2seq"), ("llama-untied", "causal")]:
            check_focus(args.retarget, name, args.fixtures / name, args.work / f"{name}-replaced", kind, train,
                        args.work, args.addons, args.fasttext)
        check_wechsel(args.retarget, "llama-untied", args.fixtures / "llama-untied",
                      args.work / "llama-untied-replaced", "causal", args.work, args.addons, args.fasttext)
    check_clp(args.retarget, "llama-untied", args.fixtures / "llama-untied", args.work / "llama-untied-expanded",
              "causal", held_out, args.work)
    if args.smollm2:
        check_expand(args.retarget, "SmolLM2-135M", args.smollm2, "causal", train, held_out, args.work, 1000)
        check_replace(args.retarget, "SmolLM2-135M", args.smollm2, "causal", train, held_out, args.work, 4000)
        if args.addons and args.fasttext:
            check_focus(args.retarget, "SmolLM2-135M", args.smollm2, args.work / "SmolLM2-135M-replaced", "causal",
                        train, args.work, args.addons, args.fasttext)
    finish()


if __name__ == "__main__":
    main()
