"""chrF (Popović 2015) and chrF++ (Popović 2017) with sacrebleu 2.x's API;
n-gram statistics and scores computed by retarget."""

from __future__ import annotations

from typing import Optional, Sequence

from ... import _native
from .base import Metric, Score, Signature


class CHRFSignature(Signature):
    """chrF's signature: case, effective order, orders, whitespace."""

    def __init__(self, args: dict):
        super().__init__(args)
        self._abbr.update({"case": "c", "eff": "e", "nc": "nc", "nw": "nw", "space": "s"})
        self.info.update({
            "case": "lc" if args["lowercase"] else "mixed",
            "eff": "yes" if not args["eps_smoothing"] else "no",
            "nc": args["char_order"],
            "nw": args["word_order"],
            "space": "yes" if args["whitespace"] else "no",
        })


class CHRFScore(Score):
    """A chrF score (named ``chrF2``, ``chrF2++``, …)."""

    def __init__(self, score: float, char_order: int, word_order: int, beta: int):
        self.beta = beta
        self.char_order = char_order
        self.word_order = word_order
        super().__init__(f"chrF{beta}" + "+" * word_order, score)


class CHRF(Metric):
    """chrF / chrF++ as sacrebleu computes it."""

    CHAR_ORDER = 6
    WORD_ORDER = 0
    BETA = 2
    _PUNCTS = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    _SIGNATURE_TYPE = CHRFSignature

    def __init__(self, char_order: int = CHAR_ORDER, word_order: int = WORD_ORDER,
                 beta: int = BETA, lowercase: bool = False, whitespace: bool = False,
                 eps_smoothing: bool = False,
                 references: Optional[Sequence[Sequence[str]]] = None):
        super().__init__()
        self.beta = beta
        self.char_order = char_order
        self.word_order = word_order
        self.order = char_order + word_order
        self.lowercase = lowercase
        self.whitespace = whitespace
        self.eps_smoothing = eps_smoothing
        self._native = _native.Metric.chrf(char_order, word_order, beta, lowercase,
                                           whitespace, eps_smoothing)
        if references is not None:
            self._ref_cache = self._cache_references(references)

    def _remove_punctuation(self, sent: str):
        """Words with one leading or trailing ASCII punctuation mark split off."""
        words = []
        for w in sent.split():
            if len(w) > 1 and w[-1] in self._PUNCTS:
                words += [w[:-1], w[-1]]
            elif len(w) > 1 and w[0] in self._PUNCTS:
                words += [w[0], w[1:]]
            else:
                words.append(w)
        return words

    def _preprocess_segment(self, sent: str) -> str:
        return sent.lower() if self.lowercase else sent

    def _compute_f_score(self, statistics: Sequence) -> float:
        """The chrF of summed ``[hyp, ref, match]`` counts per order."""
        return self._native.score([float(v) for v in statistics])[0]

    def _compute_score_from_stats(self, stats: Sequence) -> CHRFScore:
        return CHRFScore(self._compute_f_score(stats), self.char_order, self.word_order, self.beta)
