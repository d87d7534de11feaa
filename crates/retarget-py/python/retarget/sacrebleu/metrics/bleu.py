"""BLEU (Papineni et al., 2002) with sacrebleu 2.x's API; n-gram statistics
and scores computed by retarget."""

from __future__ import annotations

import logging
from typing import Dict, List, Optional, Sequence

from ... import _native
from ..tokenizers import make_tokenizer
from .base import Metric, Score, Signature

sacrelogger = logging.getLogger("sacrebleu")

MAX_NGRAM_ORDER = 4


class BLEUSignature(Signature):
    """BLEU's signature: case, effective order, tokenizer, smoothing."""

    def __init__(self, args: dict):
        super().__init__(args)
        self._abbr.update({"case": "c", "eff": "e", "tok": "tok", "smooth": "s"})
        smooth = args["smooth_method"]
        default = BLEU.SMOOTH_DEFAULTS[smooth]
        if default is not None:
            value = default if args["smooth_value"] is None else args["smooth_value"]
            smooth += f"[{value:.2f}]"
        self.info.update({
            "case": "lc" if args["lowercase"] else "mixed",
            "eff": "yes" if args["effective_order"] else "no",
            "tok": args["tokenizer_signature"],
            "smooth": smooth,
        })


class BLEUScore(Score):
    """A BLEU score with its n-gram counts, precisions and brevity penalty."""

    def __init__(self, score: float, counts: List[int], totals: List[int],
                 precisions: List[float], bp: float, sys_len: int, ref_len: int):
        super().__init__("BLEU", score)
        self.bp = bp
        self.counts = counts
        self.totals = totals
        self.sys_len = sys_len
        self.ref_len = ref_len
        self.precisions = precisions
        self.prec_str = "/".join(f"{p:.1f}" for p in precisions)
        self.ratio = sys_len / ref_len if ref_len else 0
        self._verbose = (f"{self.prec_str} (BP = {bp:.3f} ratio = {self.ratio:.3f} "
                         f"hyp_len = {sys_len:d} ref_len = {ref_len:d})")


class BLEU(Metric):
    """BLEU as sacrebleu computes it (tokenizers ``13a``, ``intl``, ``zh``,
    ``char``, ``none``, and the SentencePiece ones when their model file is
    in ``$SACREBLEU/models``; ``ja-mecab``/``ko-mecab`` are refused)."""

    SMOOTH_DEFAULTS: Dict[str, Optional[float]] = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}
    TOKENIZER_DEFAULT = "13a"
    TOKENIZERS = ("none", "zh", "13a", "intl", "char", "ja-mecab", "ko-mecab", "spm",
                  "flores101", "flores200", "spBLEU-1K")
    _TOKENIZER_MAP = {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}
    _SIGNATURE_TYPE = BLEUSignature

    def __init__(self, lowercase: bool = False, force: bool = False,
                 tokenize: Optional[str] = None, smooth_method: str = "exp",
                 smooth_value: Optional[float] = None,
                 max_ngram_order: int = MAX_NGRAM_ORDER, effective_order: bool = False,
                 trg_lang: str = "", references: Optional[Sequence[Sequence[str]]] = None):
        super().__init__()
        self._force = force
        self.trg_lang = trg_lang
        self.lowercase = lowercase
        self.smooth_value = smooth_value
        self.smooth_method = smooth_method
        self.max_ngram_order = max_ngram_order
        self.effective_order = effective_order
        if smooth_method not in self.SMOOTH_DEFAULTS:
            raise ValueError(f"Unknown smooth_method {smooth_method!r}")
        if tokenize is None:
            tokenize = self._TOKENIZER_MAP.get(trg_lang, self.TOKENIZER_DEFAULT)
        else:
            for lang, best in (("zh", "zh"), ("ja", "ja-mecab"), ("ko", "ko-mecab")):
                if trg_lang == lang and tokenize != best:
                    sacrelogger.warning(f"Consider using the '{best}' or 'spm' tokenizer for {lang}.")
        self.tokenizer = make_tokenizer(tokenize)
        self.tokenizer_signature = self.tokenizer.signature()
        self._native = _native.Metric.bleu(
            lowercase, tokenize if tokenize != "spm" else "flores101", smooth_method, smooth_value,
            effective_order, max_ngram_order, getattr(self.tokenizer, "model_path", None))
        if references is not None:
            self._ref_cache = self._cache_references(references)

    @staticmethod
    def compute_bleu(correct: List[int], total: List[int], sys_len: int, ref_len: int,
                     smooth_method: str = "none", smooth_value=None,
                     effective_order: bool = False,
                     max_ngram_order: int = MAX_NGRAM_ORDER) -> BLEUScore:
        """BLEU of sufficient statistics (Chen & Cherry 2014's smoothing)."""
        if smooth_method not in BLEU.SMOOTH_DEFAULTS:
            raise ValueError(f"Unknown smooth_method {smooth_method!r}")
        native = _native.Metric.bleu(False, "none", smooth_method, smooth_value,
                                     effective_order, max_ngram_order, None)
        correct, total = list(correct), list(total)
        score, precisions, bp = native.score([sys_len, ref_len, *correct, *total])
        if smooth_method == "add-k" and any(correct):
            k = BLEU.SMOOTH_DEFAULTS["add-k"] if smooth_value is None else smooth_value
            for n in range(1, max_ngram_order):
                correct[n] += k
                total[n] += k
        return BLEUScore(score, correct, total, precisions, bp, sys_len, ref_len)

    def _preprocess_segment(self, sent: str) -> str:
        if self.lowercase:
            sent = sent.lower()
        return self.tokenizer(sent.rstrip())

    def _compute_score_from_stats(self, stats: Sequence) -> BLEUScore:
        n = self.max_ngram_order
        return self.compute_bleu(
            correct=list(stats[2:2 + n]), total=list(stats[2 + n:]),
            sys_len=int(stats[0]), ref_len=int(stats[1]),
            smooth_method=self.smooth_method, smooth_value=self.smooth_value,
            effective_order=self.effective_order, max_ngram_order=n)

    def sentence_score(self, hypothesis: str, references: Sequence[str]) -> BLEUScore:
        """Sentence BLEU (``effective_order=True`` is recommended)."""
        if not self.effective_order:
            sacrelogger.warning("It is recommended to enable `effective_order` for sentence-level BLEU.")
        return super().sentence_score(hypothesis, references)
