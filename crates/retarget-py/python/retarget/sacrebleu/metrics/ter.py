"""TER (Snover et al., 2006) with sacrebleu 2.x's API; tercom's shifts and
edit distance computed by retarget."""

from __future__ import annotations

from typing import Optional, Sequence

from ... import _native
from ..tokenizers.tokenizer_ter import TercomTokenizer
from .base import Metric, Score, Signature


class TERSignature(Signature):
    """TER's signature: case, tokenizer, normalisation, punctuation, Asian support."""

    def __init__(self, args: dict):
        super().__init__(args)
        self._abbr.update({"case": "c", "tok": "t", "norm": "nr", "punct": "pn", "asian": "as"})
        self.info.update({
            "case": "mixed" if args["case_sensitive"] else "lc",
            "tok": args["tokenizer_signature"],
            "norm": args["normalized"],
            "punct": not args["no_punct"],
            "asian": args["asian_support"],
        })


class TERScore(Score):
    """A TER score with the edits and the (average) reference length."""

    def __init__(self, score: float, num_edits: float, ref_length: float):
        super().__init__("TER", score)
        self.num_edits = int(num_edits)
        self.ref_length = ref_length


class TER(Metric):
    """Translation edit rate as sacrebleu computes it."""

    _SIGNATURE_TYPE = TERSignature

    def __init__(self, normalized: bool = False, no_punct: bool = False,
                 asian_support: bool = False, case_sensitive: bool = False,
                 references: Optional[Sequence[Sequence[str]]] = None):
        super().__init__()
        self.no_punct = no_punct
        self.normalized = normalized
        self.asian_support = asian_support
        self.case_sensitive = case_sensitive
        self.tokenizer = TercomTokenizer(normalized=normalized, no_punct=no_punct,
                                         asian_support=asian_support, case_sensitive=case_sensitive)
        self.tokenizer_signature = self.tokenizer.signature()
        self._native = _native.Metric.ter(normalized, no_punct, asian_support, case_sensitive)
        if references is not None:
            self._ref_cache = self._cache_references(references)

    def _preprocess_segment(self, sent: str) -> str:
        return self.tokenizer(sent.rstrip())

    def _compute_score_from_stats(self, stats: Sequence) -> TERScore:
        edits, ref_length = stats[0], stats[1]
        score = self._native.score([float(edits), float(ref_length)])[0]
        return TERScore(score, edits, ref_length)
