"""retarget.sacrebleu against sacrebleu 2.6.0 on the cross-check corpora:
every score to 1e-9, every attribute, every formatted string (the
signature's version field aside), the module-level functions, the paired
tests, the tokenizers, aliasing ``sacrebleu`` itself, and bad input."""

import math
import sys

import numpy as np

import pytest
import sacrebleu as ref
import sacrebleu.significance as ref_significance

import retarget
import retarget.sacrebleu as rs
import retarget.sacrebleu.significance as rs_significance
from sacrebleu_check import CONFIGS

TOL = 1e-9


def within_float32(a, b, scale, ulps=4):
    """sacrebleu resamples its statistics as numpy float32 (sums, precisions,
    means): each resampled score carries float32 rounding at the score's
    magnitude, and so do their mean and interval. retarget resamples in
    float64: the two agree to float32's resolution at that scale."""
    return abs(float(a) - float(b)) <= ulps * float(np.spacing(np.float32(abs(float(scale)))))


def close(a, b):
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=0, abs_tol=TOL)


ATTRIBUTES = {
    "bleu": ["score", "counts", "totals", "precisions", "bp", "sys_len", "ref_len", "ratio", "prec_str", "name"],
    "chrf": ["score", "char_order", "word_order", "beta", "name"],
    "ter": ["score", "num_edits", "ref_length", "name"],
}


def same_signature(a, b):
    """Signatures equal but for the version field."""
    a, b = a.format(), b.format()
    return a.rsplit("|version:", 1)[0] == b.rsplit("|version:", 1)[0] and \
        rs.metrics.base.SIGNATURE_VERSION in b


def metric(module, kind, kwargs, sentence=False):
    if kind == "bleu":
        return module.metrics.BLEU(effective_order=sentence, **kwargs)
    if kind == "chrf":
        return module.metrics.CHRF(**kwargs)
    return module.metrics.TER(**kwargs)


def check_score(kind, a, b):
    for name in ATTRIBUTES[kind]:
        assert close(getattr(a, name), getattr(b, name)) if not isinstance(getattr(a, name), str) \
            else getattr(a, name) == getattr(b, name), (name, getattr(a, name), getattr(b, name))
    assert str(a) == str(b)
    assert a.format(width=4, signature="nrefs:1|x:y") == b.format(width=4, signature="nrefs:1|x:y")
    assert a.format(is_json=True, signature="nrefs:1|x:y") == b.format(is_json=True, signature="nrefs:1|x:y")
    assert a.format(score_only=True) == b.format(score_only=True)


# Every setting on three corpora (mixed scripts, CJK with two references,
# Arabic), every corpus with each metric's defaults: the scores themselves
# come from the Rust metrics, which sacrebleu_check.py compares on every
# corpus × setting through the command line.
SETTINGS_CORPORA = ("generated", "gettext-zh_CN-2refs", "gettext-ar")
DEFAULTS = [("bleu", [], {}), ("chrf", [], {}), ("chrf", [], {"word_order": 2}), ("ter", [], {})]


@pytest.mark.parametrize("kind,flags,kwargs", CONFIGS, ids=[" ".join(c[1]) for c in CONFIGS])
def test_corpus_scores(corpora, kind, flags, kwargs):
    check_corpora(corpora, kind, kwargs, [c for c in SETTINGS_CORPORA if c in corpora])


@pytest.mark.parametrize("kind,flags,kwargs", DEFAULTS, ids=["bleu", "chrf", "chrf++", "ter"])
def test_corpus_scores_every_corpus(corpora, kind, flags, kwargs):
    check_corpora(corpora, kind, kwargs, list(corpora))


def check_corpora(corpora, kind, kwargs, names):
    assert names
    for name in names:
        hyps, refs = corpora[name]
        m_ref, m_rs = metric(ref, kind, kwargs), metric(rs, kind, kwargs)
        a, b = m_ref.corpus_score(hyps, refs), m_rs.corpus_score(hyps, refs)
        check_score(kind, a, b)
        assert same_signature(m_ref.get_signature(), m_rs.get_signature()), name
        assert m_ref.get_signature().format(short=True).rsplit("|v:", 1)[0] == \
            m_rs.get_signature().format(short=True).rsplit("|v:", 1)[0]


@pytest.mark.parametrize("kind,flags,kwargs", CONFIGS[::5], ids=[" ".join(c[1]) for c in CONFIGS[::5]])
def test_sentence_scores(corpora, kind, flags, kwargs):
    hyps, refs = corpora["gettext-de-2refs"] if "gettext-de-2refs" in corpora else corpora["generated"]
    hyps, refs = hyps[:60], [r[:60] for r in refs]
    m_ref, m_rs = metric(ref, kind, kwargs, True), metric(rs, kind, kwargs, True)
    expected = [m_ref.sentence_score(h, [r[i] for r in refs]) for i, h in enumerate(hyps)]
    for i, h in enumerate(hyps):
        check_score(kind, expected[i], m_rs.sentence_score(h, [r[i] for r in refs]))
    assert close(m_rs.sentence_scores(hyps, refs), [e.score for e in expected])
    single = m_rs.sentence_scores(hyps, refs[0])
    assert close(single, [m_ref.sentence_score(h, [refs[0][i]]).score for i, h in enumerate(hyps)])


def test_sentence_scores_of_many_pairs(corpora):
    # Past one task's 4,096 pairs: the strings are read while earlier
    # chunks are scored; a list and a tuple (read by index), ASCII and not.
    hyps, refs = corpora["generated"]
    pairs = [(h + extra, r) for extra in ["", " é", " Ünïcödé ✓"] for h, r in zip(hyps, refs[0])]
    pairs = (pairs * (10_000 // len(pairs) + 1))[:10_000]
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    for m_ref, m_rs in [(ref.BLEU(effective_order=True), rs.BLEU(effective_order=True)), (ref.CHRF(), rs.CHRF())]:
        expected = [m_ref.sentence_score(h, [r]).score for h, r in pairs]
        assert close(m_rs.sentence_scores(hyps, refs), expected)
        assert close(m_rs.sentence_scores(tuple(hyps), tuple(refs)), expected)
    bleu = rs.BLEU()
    for bad in [b"bytes", None, 3]:
        with pytest.raises(TypeError, match="item 9000"):
            bleu.sentence_scores(hyps[:9000] + [bad] + hyps[9001:], refs)
        with pytest.raises(TypeError, match="references: item 5000"):
            bleu.sentence_scores(hyps, refs[:5000] + [bad] + refs[5001:])
    with pytest.raises(UnicodeEncodeError):
        bleu.sentence_scores(hyps, refs[:7000] + ["\udcff"] + refs[7001:])
    # References as lists per hypothesis: the same exception types.
    with pytest.raises(UnicodeEncodeError):
        bleu.sentence_scores(["a"], [["\udcff"]])
    with pytest.raises(UnicodeEncodeError):
        bleu.sentence_scores(["\udcff"], [["x"]])
    with pytest.raises(TypeError):
        bleu.sentence_scores(hyps, "one string")


def test_pairwise(corpora):
    hyps = corpora["generated"][0][:40]
    for kind, kwargs in [("chrf", {}), ("chrf", {"word_order": 2}), ("bleu", {}), ("ter", {})]:
        m_ref, m_rs = metric(ref, kind, kwargs, True), metric(rs, kind, kwargs, True)
        matrix = m_rs.pairwise(hyps)
        assert close([x for row in matrix for x in row],
                     [m_ref.sentence_score(h, [r]).score for h in hyps for r in hyps])


def test_compat_functions(corpora):
    hyps, refs = corpora["generated"]
    pairs = [
        ("corpus_bleu", (hyps, refs), {}), ("corpus_bleu", (hyps, refs), {"tokenize": "intl", "lowercase": True}),
        ("raw_corpus_bleu", (hyps, refs), {}), ("corpus_chrf", (hyps, refs), {"word_order": 2}),
        ("corpus_chrf", (hyps, refs), {"remove_whitespace": False}), ("corpus_ter", (hyps, refs), {"normalized": True}),
        ("sentence_bleu", (hyps[3], [refs[0][3], refs[1][3]]), {}),
        ("sentence_bleu", (hyps[4], [refs[0][4]]), {"smooth_method": "floor", "smooth_value": 0.2}),
        ("sentence_chrf", (hyps[5], [refs[0][5]]), {"beta": 1}), ("sentence_ter", (hyps[6], [refs[0][6]]), {}),
    ]
    for name, args, kwargs in pairs:
        a, b = getattr(ref, name)(*args, **kwargs), getattr(rs, name)(*args, **kwargs)
        kind = "bleu" if "bleu" in name else "chrf" if "chrf" in name else "ter"
        check_score(kind, a, b)


def test_max_ngram_order_and_compute_bleu(corpora):
    hyps, refs = corpora["gettext-ru"] if "gettext-ru" in corpora else corpora["generated"]
    for order in (1, 2, 3, 4):
        a = ref.BLEU(max_ngram_order=order).corpus_score(hyps, refs)
        b = rs.BLEU(max_ngram_order=order).corpus_score(hyps, refs)
        check_score("bleu", a, b)
    for smooth in ("none", "floor", "add-k", "exp"):
        # Fresh lists for each call: sacrebleu's add-k adds to the lists it is given.
        args = lambda: ([3, 1, 0, 0], [5, 4, 3, 2], 5, 7)  # noqa: E731
        check_score("bleu", ref.BLEU.compute_bleu(*args(), smooth_method=smooth),
                    rs.BLEU.compute_bleu(*args(), smooth_method=smooth))
    with pytest.raises(retarget.BadInput):
        rs.BLEU(max_ngram_order=5)


def test_variable_references_and_cache(corpora):
    hyps, refs = corpora["generated"]
    holes = [[r if i % 3 else None for i, r in enumerate(refs[1])]]
    streams = [refs[0]] + holes
    a, b = ref.BLEU().corpus_score(hyps, streams), rs.BLEU().corpus_score(hyps, streams)
    check_score("bleu", a, b)
    m_ref, m_rs = ref.CHRF(references=refs), rs.CHRF(references=refs)
    check_score("chrf", m_ref.corpus_score(hyps, None), m_rs.corpus_score(hyps, None))
    assert same_signature(m_ref.get_signature(), m_rs.get_signature())
    m_ref, m_rs = ref.TER(), rs.TER()
    m_ref.corpus_score(hyps, streams), m_rs.corpus_score(hyps, streams)
    assert "nrefs:var" in m_rs.get_signature().format()
    assert same_signature(m_ref.get_signature(), m_rs.get_signature())


def test_bootstrap_interval(corpora, monkeypatch):
    hyps, refs = corpora["generated"]
    for seed in ("12345", "7"):
        monkeypatch.setenv("SACREBLEU_SEED", seed)
        for cls in ("BLEU", "CHRF", "TER"):
            m_ref, m_rs = getattr(ref, cls)(), getattr(rs, cls)()
            a, b = m_ref.corpus_score(hyps, refs, n_bootstrap=200), m_rs.corpus_score(hyps, refs, n_bootstrap=200)
            assert within_float32(a._mean, b._mean, a.score) and within_float32(a._ci, b._ci, a.score), (cls, a, b)
            assert str(a) == str(b)
            assert same_signature(m_ref.get_signature(), m_rs.get_signature())


@pytest.mark.parametrize("test_type,n", [("bs", 300), ("ar", 500)])
def test_paired(corpora, test_type, n):
    hyps, refs = corpora["gettext-de"] if "gettext-de" in corpora else corpora["generated"]
    import random
    rng = random.Random(5)
    systems = [("base", hyps), ("a", [h if rng.random() < 0.7 else r for h, r in zip(hyps, refs[0])]),
               ("b", [" ".join(h.split()[:-1]) for h in hyps])]

    def run(module, significance):
        metrics = {"BLEU": module.BLEU(), "CHRF": module.CHRF(word_order=2), "TER": module.TER()}
        return significance.PairedTest(systems, metrics, refs, test_type=test_type, n_samples=n)()

    sig_ref, scores_ref = run(ref, ref_significance)
    sig_rs, scores_rs = run(rs, rs_significance)
    assert list(scores_ref) == list(scores_rs)
    assert scores_ref["System"] == scores_rs["System"]
    for name in sig_ref:
        assert same_signature(sig_ref[name], sig_rs[name])
        for a, b in zip(scores_ref[name], scores_rs[name]):
            assert close([a.score, a.p_value], [b.score, b.p_value]), (name, a, b)
            if a.mean is not None:
                assert within_float32(a.mean, b.mean, a.score) and within_float32(a.ci, b.ci, a.score), (name, a, b)
            else:
                assert b.mean is None and b.ci is None
    fn = rs_significance.paired_bs if test_type == "bs" else rs_significance.paired_ar
    _, direct = fn(systems, {"BLEU": rs.BLEU()}, refs, n_samples=n)
    assert [r.p_value for r in direct["BLEU"]] == [r.p_value for r in scores_rs["BLEU"]]


def test_tokenizers(corpora):
    from sacrebleu.tokenizers import tokenizer_13a, tokenizer_char, tokenizer_intl, tokenizer_none, tokenizer_ter, tokenizer_zh
    from retarget.sacrebleu.tokenizers import tokenizer_13a as r13a, tokenizer_char as rchar, tokenizer_intl as rintl
    from retarget.sacrebleu.tokenizers import tokenizer_none as rnone, tokenizer_ter as rter, tokenizer_zh as rzh
    pairs = [(tokenizer_13a.Tokenizer13a(), r13a.Tokenizer13a()),
             (tokenizer_intl.TokenizerV14International(), rintl.TokenizerV14International()),
             (tokenizer_zh.TokenizerZh(), rzh.TokenizerZh()), (tokenizer_char.TokenizerChar(), rchar.TokenizerChar()),
             (tokenizer_none.NoneTokenizer(), rnone.NoneTokenizer())]
    pairs += [(tokenizer_ter.TercomTokenizer(*flags), rter.TercomTokenizer(*flags))
              for flags in [(False, False, False, False), (True, True, True, True), (True, False, True, False)]]
    lines = [line for hyps, _ in corpora.values() for line in hyps[:40]]
    for a, b in pairs:
        assert a.signature() == b.signature()
        assert [a(line) for line in lines] == [b(line) for line in lines], type(a).__name__


def test_helpers():
    line = "The cat, the  cat sat."
    assert rs.extract_char_ngrams(line, 3) == ref.extract_char_ngrams(line, 3)
    assert rs.extract_char_ngrams(line, 2, True) == ref.extract_char_ngrams(line, 2, True)
    assert rs.extract_word_ngrams(line.split(), 2) == ref.extract_word_ngrams(line.split(), 2)
    from sacrebleu.metrics import helpers
    from retarget.sacrebleu.metrics import helpers as rhelpers
    assert rhelpers.extract_all_word_ngrams(line, 1, 4) == helpers.extract_all_word_ngrams(line, 1, 4)
    assert rhelpers.extract_all_char_ngrams(line, 6) == helpers.extract_all_char_ngrams(line, 6)


def test_install_aliases_sacrebleu(corpora):
    hyps, refs = corpora["generated"]
    expected = ref.corpus_bleu(hyps, refs).score
    saved = {k: v for k, v in sys.modules.items() if k == "sacrebleu" or k.startswith("sacrebleu.")}
    try:
        rs.install()
        import sacrebleu
        from sacrebleu.metrics import BLEU
        from sacrebleu.metrics.chrf import CHRF
        assert sacrebleu is rs and BLEU is rs.BLEU and CHRF is rs.CHRF
        assert close(sacrebleu.corpus_bleu(hyps, refs).score, expected)
    finally:
        for k in [k for k in sys.modules if k == "sacrebleu" or k.startswith("sacrebleu.")]:
            del sys.modules[k]
        sys.modules.update(saved)


def test_bad_input():
    bleu = rs.BLEU()
    with pytest.raises(TypeError):
        bleu.corpus_score("a string", [["x"]])
    with pytest.raises(TypeError):
        bleu.corpus_score([1, 2], [["x", "y"]])
    with pytest.raises(TypeError):
        bleu.corpus_score(["a", "b"], [["x", 3]])
    with pytest.raises(TypeError):
        bleu.sentence_score(["a"], ["x"])
    with pytest.raises(TypeError):
        bleu.sentence_scores(["a", b"bytes"], ["x", "y"])
    with pytest.raises(retarget.BadInput, match="hypotheses: 2 lines"):
        bleu.corpus_score(["a", "b"], [["x", "y", "z"]])
    with pytest.raises(retarget.BadInput, match=r"references\[1\]"):
        bleu.corpus_score(["a", "b"], [["x", "y"], ["z"]])
    with pytest.raises(retarget.BadInput, match="hypotheses"):
        bleu.sentence_scores(["a"], ["x", "y"])
    with pytest.raises(UnicodeEncodeError):
        bleu.sentence_scores(["bad \udcff surrogate"], ["x"])
    with pytest.raises(retarget.BadInput, match="ja-mecab"):
        rs.BLEU(tokenize="ja-mecab")
    with pytest.raises(retarget.BadInput, match="unknown tokenizer"):
        rs.BLEU(tokenize="nope")
    with pytest.raises(retarget.BadInput, match="SentencePiece model"):
        rs.BLEU(tokenize="flores200")
    with pytest.raises(ValueError):
        rs.BLEU(smooth_method="nope")
    with pytest.raises(retarget.BadInput):
        rs.CHRF(char_order=0, word_order=0)
    with pytest.raises(retarget.BadInput, match="n_ar_confidence"):
        rs_significance.PairedTest([("a", ["x"])], {"BLEU": rs.BLEU()}, [["x"]], "ar", n_ar_confidence=0)
    with pytest.raises(RuntimeError, match="cache is empty"):
        bleu.corpus_score(["a"], None)
    assert issubclass(retarget.BadInput, ValueError) and issubclass(retarget.BadInput, retarget.Error)
