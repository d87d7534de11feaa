"""Scores, signatures and the metric base class, with sacrebleu 2.x's
attributes and text; the statistics come from retarget's Rust crates."""

from __future__ import annotations

import json
import logging
import os
import secrets
import statistics
from abc import ABCMeta, abstractmethod
from typing import Any, Dict, List, Optional, Sequence

from ... import _native
from ..._api import _lines
from ..._errors import BadInput

sacrelogger = logging.getLogger("sacrebleu")

#: The ``version:`` of signatures: scores equal sacrebleu 2.6.0's, computed by retarget.
SIGNATURE_VERSION = _native.SIGNATURE_VERSION


class Score:
    """A metric's score: ``name``, ``score`` and, after bootstrap
    resampling, a mean and 95 % confidence interval."""

    def __init__(self, name: str, score: float):
        self.name = name
        self.score = score
        self._mean = -1.0
        self._ci = -1.0
        self._verbose = ""

    def format(self, width: int = 2, score_only: bool = False, signature: str = "",
               is_json: bool = False) -> str:
        """``NAME|signature = 12.34 (μ = … ± …) details`` or its JSON form."""
        text = f"{self.score:.{width}f}"
        record: Dict[str, Any] = {"name": self.name, "score": float(text), "signature": signature}
        if self._mean > 0:
            mean, ci = f"{self._mean:.{width}f}", f"{self._ci:.{width}f}"
            interval = f"μ = {mean} ± {ci}"
            text += f" ({interval})"
            if is_json:
                record.update(confidence_mean=float(mean), confidence_var=float(ci), confidence=interval)
        if score_only:
            return text
        head = f"{self.name}|{signature}" if signature else self.name
        full = f"{head} = {text}"
        if self._verbose:
            full += f" {self._verbose}"
            record["verbose_score"] = self._verbose
        if is_json:
            for field in signature.split("|"):
                key, value = field.split(":")
                record[key] = value
            return json.dumps(record, indent=1, ensure_ascii=False)
        return full

    def estimate_ci(self, scores: List["Score"]) -> None:
        """Stores the mean and half the central 95 % range of resampled scores."""
        values = sorted(s.score for s in scores)
        low = len(values) // 40
        self._ci = 0.5 * (values[len(values) - low - 1] - values[low])
        self._mean = statistics.mean(values)

    def __repr__(self) -> str:
        return self.format()


class Signature:
    """A reproducibility signature (``nrefs:1|case:mixed|…|version:…``)."""

    def __init__(self, args: dict):
        self._abbr = {
            "version": "v", "nrefs": "#", "test": "t", "lang": "l", "subset": "S",
            "origlang": "o", "bs": "bs", "ar": "ar", "seed": "rs",
        }
        if "num_refs" not in args:
            raise ValueError("Number of references unknown, please evaluate the metric first.")
        num_refs = "var" if args["num_refs"] == -1 else args["num_refs"]
        self.info = {
            "version": SIGNATURE_VERSION,
            "nrefs": num_refs,
            "bs": args.get("n_bootstrap", None),
            "ar": None,
            "seed": args.get("seed", None),
            "test": args.get("test_set", None),
            "lang": args.get("langpair", None),
            "origlang": args.get("origlang", None),
            "subset": args.get("subset", None),
        }

    def format(self, short: bool = False) -> str:
        """The fields as ``key:value`` joined by ``|``, version last."""
        keys = [k for k in self.info if k != "version"] + ["version"]
        fields = []
        for key in keys:
            value = self.info[key]
            if value is None:
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            fields.append(f"{self._abbr[key] if short else key}:{value}")
        return "|".join(fields)

    def update(self, key: str, value: Any) -> None:
        """Sets one field."""
        self.info[key] = value

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return self.format()


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def per_segment(references: Sequence[Sequence[Optional[str]]]) -> List[List[str]]:
    """Reference streams (one sequence per reference set, ``None`` or
    missing for a segment without that reference) → each segment's list."""
    if not _is_sequence(references) or not references:
        raise TypeError("references: expected a non-empty sequence of sequences of str")
    for k, stream in enumerate(references):
        if not _is_sequence(stream):
            raise TypeError(f"references[{k}]: expected a sequence of str, got {type(stream).__name__}")
    n = len(references[0])
    for k, stream in enumerate(references):
        if len(stream) != n:
            raise BadInput(f"references[{k}] has {len(stream)} segments, references[0] has {n}")
    segments = []
    for i in range(n):
        refs = []
        for k, stream in enumerate(references):
            ref = stream[i]
            if ref is None:
                continue
            if not isinstance(ref, str):
                raise TypeError(f"references[{k}][{i}]: expected str, got {type(ref).__name__}")
            refs.append(ref)
        segments.append(refs)
    return segments


def bootstrap_seed() -> tuple:
    """sacrebleu's seed: ``$SACREBLEU_SEED`` (default 12345; ``none`` draws one)."""
    seed = os.environ.get("SACREBLEU_SEED", "12345")
    if seed.lower() == "none":
        return "none", secrets.randbits(63)
    return str(seed).lower(), int(seed)


class Metric(metaclass=ABCMeta):
    """A metric whose statistics and scores retarget computes; the subclass
    sets ``self._native`` (a ``retarget._native.Metric``)."""

    _SIGNATURE_TYPE = Signature

    def __init__(self):
        self._ref_cache: Optional[List[List[str]]] = None
        self._force = True
        self.n_bootstrap = None
        self.seed = None

    # -- argument checks (sacrebleu's TypeErrors) --------------------------
    def _check_sentence_score_args(self, hyp: str, refs: Sequence[str]) -> None:
        prefix = self.__class__.__name__
        if not isinstance(hyp, str):
            raise TypeError(f"{prefix}: The argument `hyp` should be a string.")
        if not _is_sequence(refs):
            raise TypeError(f"{prefix}: The argument `refs` should be a sequence of strings.")
        if refs and not isinstance(refs[0], str) and refs[0] is not None:
            raise TypeError(f"{prefix}: Each element of `refs` should be a string.")

    def _check_corpus_score_args(self, hyps: Sequence[str],
                                 refs: Optional[Sequence[Sequence[str]]]) -> None:
        prefix = self.__class__.__name__
        err = None
        if not _is_sequence(hyps):
            err = "`hyps` should be a sequence of strings."
        elif hyps and not isinstance(hyps[0], str):
            err = "Each element of `hyps` should be a string."
        elif any(line is None for line in hyps):
            err = "Undefined line in hypotheses stream!"
        if refs is not None:
            if not _is_sequence(refs):
                err = "`refs` should be a sequence of sequence of strings."
            elif refs and not _is_sequence(refs[0]):
                err = "Each element of `refs` should be a sequence of strings."
            elif refs and refs[0] and not isinstance(refs[0][0], str) and refs[0][0] is not None:
                err = "`refs` should be a sequence of sequence of strings."
        if err:
            raise TypeError(f"{prefix}: {err}")

    # -- statistics --------------------------------------------------------
    def _cache_references(self, references: Sequence[Sequence[str]]) -> List[List[str]]:
        """Each segment's references; sets ``num_refs`` (-1 when it varies)."""
        segments = per_segment(references)
        counts = {len(refs) for refs in segments}
        self.num_refs = counts.pop() if len(counts) == 1 else -1
        return segments

    def _references(self, references: Optional[Sequence[Sequence[str]]]) -> List[List[str]]:
        if references:
            return self._cache_references(references)
        if self._ref_cache:
            return self._ref_cache
        raise RuntimeError("No references provided and the cache is empty.")

    def _extract_corpus_statistics(self, hypotheses: Sequence[str],
                                   references: Optional[Sequence[Sequence[str]]]) -> List[List]:
        """Per-segment statistics (sacrebleu's layout)."""
        refs = self._references(references)
        hyps = _lines(hypotheses, "hypotheses")
        if len(hyps) != len(refs):
            raise BadInput(f"hypotheses: {len(hyps)} lines, but the references have {len(refs)} segments")
        if not self._force and sum(h.endswith(" .") for h in hyps) >= 100:
            sacrelogger.warning("That's 100 lines that end in a tokenized period ('.')")
            sacrelogger.warning("It looks like you forgot to detokenize your test data, which may hurt your score.")
            sacrelogger.warning("If you insist your data is detokenized, or don't care, you can suppress this message with the `force` parameter.")
        return self._native.stats(hyps, refs)

    def _aggregate_and_compute(self, stats: List[List]) -> Any:
        """The score of summed per-segment statistics."""
        from ..utils import sum_of_lists
        return self._compute_score_from_stats(sum_of_lists(stats))

    @abstractmethod
    def _compute_score_from_stats(self, stats: Sequence) -> Any:
        """The score object of summed statistics."""

    @abstractmethod
    def _preprocess_segment(self, sent: str) -> str:
        """The segment as the metric sees it (lowercased, tokenized)."""

    # -- scores ------------------------------------------------------------
    def sentence_score(self, hypothesis: str, references: Sequence[str]) -> Any:
        """The score of one hypothesis against its reference(s)."""
        self._check_sentence_score_args(hypothesis, references)
        stats = self._extract_corpus_statistics([hypothesis], [[r] for r in references])
        return self._aggregate_and_compute(stats)

    def corpus_score(self, hypotheses: Sequence[str],
                     references: Optional[Sequence[Sequence[str]]],
                     n_bootstrap: int = 1) -> Any:
        """The corpus score; with ``n_bootstrap > 1`` also the bootstrap mean
        and 95 % confidence interval (seeded by ``$SACREBLEU_SEED``)."""
        self._check_corpus_score_args(hypotheses, references)
        stats = self._extract_corpus_statistics(hypotheses, references)
        score = self._aggregate_and_compute(stats)
        if n_bootstrap > 1:
            refs = self._references(references)
            if len({len(r) for r in refs}) != 1:
                raise BadInput("bootstrap resampling needs the same number of references for every segment")
            streams = [list(s) for s in zip(*refs)]
            self.n_bootstrap = n_bootstrap
            self.seed, seed = bootstrap_seed()
            [(_, _, mean, ci)] = _native.paired_test(
                self._native, [_lines(hypotheses, "hypotheses")], streams, "bs", n_bootstrap, seed)
            score._mean, score._ci = mean, ci
        return score

    def sentence_scores(self, hypotheses: Sequence[str],
                        references: Sequence) -> List[float]:
        """retarget's addition: the sentence-level score of every hypothesis,
        on all cores. ``references`` is one reference string per hypothesis,
        or reference streams as :meth:`corpus_score` takes them. The strings
        are read as UTF-8 in place: on Python 3.10 and later, a non-ASCII
        string keeps its UTF-8 encoding (made once, as ``str.encode`` would)
        for as long as it lives."""
        if not _is_sequence(hypotheses):
            raise TypeError(f"hypotheses: expected a sequence of str, got {type(hypotheses).__name__}")
        if _is_sequence(references) and references and isinstance(references[0], str):
            refs = references  # one reference each: checked and converted in Rust
        else:
            refs = per_segment(references)
        if len(hypotheses) != len(refs):
            raise BadInput(f"hypotheses: {len(hypotheses)} lines, but references have {len(refs)}")
        return self._native.sentence_scores(hypotheses, refs)

    def pairwise(self, hypotheses: Sequence[str]) -> List[List[float]]:
        """retarget's addition: ``m[i][j]`` = sentence score of hypothesis i
        with hypothesis j as its reference (MBR's utilities), on all cores."""
        return self._native.pairwise(_lines(hypotheses, "hypotheses"))

    def get_signature(self) -> Signature:
        """The signature (known once references have been seen)."""
        return self._SIGNATURE_TYPE(self.__dict__)
