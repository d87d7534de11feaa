"""Ray Data callables: retarget at corpus scale on a Ray cluster.

Each class is for ``Dataset.map_batches`` with an actor pool: its model or
language identifier is loaded once per worker, in the constructor, and each
batch (a dict of columns, Ray's default ``numpy`` format) comes back with new
columns. Inside a worker, retarget uses every core Ray gives it.

    import ray, retarget.ray as rr
    ds = ray.data.read_text("corpus/*.txt")
    ds = ds.map_batches(rr.LanguageLabeler, fn_constructor_kwargs={"expected": "sw"},
                        concurrency=2)
    kept = ds.filter(expr="on_target")          # the Swahili lines
    print(rr.off_target_report(ds))              # counts per language, off-target rate

``scripts/ray/filter_corpus.py`` is a ready command line around this.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from . import _native
from ._api import Scorer
from .langid import LangId
from .sacrebleu.metrics import BLEU, CHRF, TER

__all__ = [
    "LanguageLabeler", "SentenceScorer", "TokenCounts", "NllScorer",
    "off_target_report", "tokenizer_report",
]

Batch = Dict[str, Any]


def _column(batch: Mapping[str, Any], name: str) -> List[str]:
    if name not in batch:
        raise KeyError(f"the batch has no column {name!r} (columns: {', '.join(batch)})")
    values = list(batch[name])
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise TypeError(f"column {name!r}, row {i}: expected str, got {type(v).__name__}")
    return values


class LanguageLabeler:
    """Adds ``lang`` (ISO 639-3 [+ script], or "" when undetermined or
    blank), ``lang_confidence`` and, with ``expected``, ``on_target``: the
    labels ``retarget eval langid`` gives the same lines."""

    def __init__(self, expected: Optional[str] = None, column: str = "text",
                 backend: str = "lingua", languages: Optional[Sequence[str]] = None):
        self.expected = expected
        self.column = column
        self.langid = LangId(backend, languages)

    def __call__(self, batch: Batch) -> Batch:
        ids = self.langid.identify(_column(batch, self.column), self.expected)
        batch = dict(batch)
        batch["lang"] = [i[0] if i else "" for i in ids]
        batch["lang_confidence"] = [i[2] if i else 0.0 for i in ids]
        if self.expected is not None:
            batch["on_target"] = [bool(i and i[3]) for i in ids]
        return batch


def _batch_counts(batch: Batch) -> Batch:
    """One row per language of a labelled batch: lines, and lines on target."""
    counts: Dict[str, List[int]] = {}
    on_target = batch.get("on_target")
    for i, lang in enumerate(batch["lang"]):
        row = counts.setdefault(str(lang), [0, 0])
        row[0] += 1
        row[1] += int(bool(on_target[i])) if on_target is not None else 0
    return {"lang": list(counts), "lines": [c[0] for c in counts.values()],
            "on_target": [c[1] for c in counts.values()]}


def off_target_report(ds: Any, expected: Optional[str] = None) -> Dict[str, Any]:
    """Counts per language over a labelled dataset and the off-target rate
    (undetermined and blank lines left out, as ``eval langid`` does). Each
    batch is counted where it lies; only the per-batch counts reach the
    driver (a group-by would shuffle every row)."""
    counts: Dict[str, int] = {}
    on = 0
    for row in ds.map_batches(_batch_counts).take_all():
        counts[row["lang"]] = counts.get(row["lang"], 0) + int(row["lines"])
        on += int(row["on_target"])
    undetermined = counts.pop("", 0)
    identified = sum(counts.values())
    report: Dict[str, Any] = {
        "lines": identified + undetermined,
        "undetermined_or_blank": undetermined,
        "distribution": sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
    }
    if "on_target" in ds.schema().names:
        report.update(expected=expected, on_target=on, off_target=identified - on,
                      off_target_rate=(identified - on) / identified if identified else None)
    return report


class SentenceScorer:
    """Adds ``score``: the sentence-level BLEU, chrF (default) or TER of
    column ``hyp`` against column ``ref`` (sacrebleu's numbers; keyword
    arguments go to the metric, e.g. ``word_order=2`` for chrF++)."""

    _METRICS = {"bleu": BLEU, "chrf": CHRF, "ter": TER}

    def __init__(self, metric: str = "chrf", hyp: str = "hyp", ref: str = "ref", **settings: Any):
        if metric not in self._METRICS:
            raise ValueError(f"metric {metric!r}: expected bleu, chrf or ter")
        if metric == "bleu":
            settings.setdefault("effective_order", True)
        self.metric = self._METRICS[metric](**settings)
        self.hyp, self.ref = hyp, ref

    def __call__(self, batch: Batch) -> Batch:
        scores = self.metric.sentence_scores(_column(batch, self.hyp), _column(batch, self.ref))
        return {**batch, "score": scores}


class TokenCounts:
    """Adds each line's tokenizer counts (``words``, ``chars``, ``letters``,
    ``tokens``, ``continued_words``, ``unk_tokens``) under a tokenizer;
    :func:`tokenizer_report` turns their sums into fertility and the rest."""

    def __init__(self, tokenizer: str, column: str = "text"):
        self.counter = _native.TokenCounter(tokenizer)
        self.column = column

    def __call__(self, batch: Batch) -> Batch:
        rows = self.counter.count_each(_column(batch, self.column))
        out = dict(batch)
        for k, name in enumerate(_native.TokenCounter.fields):
            if name != "lines":
                out[name] = [r[k] for r in rows]
        return out


def tokenizer_report(ds: Any, tokenizer: str, lang: str,
                     reference_tokens: Optional[int] = None) -> Dict[str, Any]:
    """``eval tokenizer``'s row (fertility, characters per token, continued
    words, unknown rate, parity against ``reference_tokens``) of a dataset
    counted by :class:`TokenCounts`."""
    names = [n for n in _native.TokenCounter.fields if n != "lines"]
    sums = ds.sum(names)
    counts = [ds.count()] + [int(sums[f"sum({n})"]) for n in names]
    return json.loads(_native.fairness(tokenizer, lang, counts, reference_tokens))


class NllScorer:
    """Adds ``nll`` (nats) and ``tokens`` (scored tokens) per line under a
    model (``retarget score``), loaded once per worker."""

    def __init__(self, model: str, column: str = "text", device: str = "cpu"):
        self.scorer = Scorer(model, device)
        self.column = column

    def __call__(self, batch: Batch) -> Batch:
        result = self.scorer.score(_column(batch, self.column))
        return {**batch, "nll": [s.nll for s in result.lines],
                "tokens": [s.tokens for s in result.lines]}
