"""Paired significance tests (bootstrap resampling, approximate
randomization) with sacrebleu 2.x's API. The resampling runs in Rust on all
cores, drawing the same random streams as numpy for a seed (sacrebleu's
``$SACREBLEU_SEED``, 12345 by default), so p-values and intervals are
sacrebleu's."""

from __future__ import annotations

import statistics
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .. import _native
from .._errors import BadInput
from .metrics.base import Metric, Signature, bootstrap_seed


class Result:
    """One system's result: score, p-value against the baseline, and (for
    bootstrap) the estimated true mean and 95 % confidence interval."""

    def __init__(self, score: float, p_value: Optional[float] = None,
                 mean: Optional[float] = None, ci: Optional[float] = None):
        self.score = score
        self.p_value = p_value
        self.mean = mean
        self.ci = ci

    def __repr__(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.__dict__.items())


def estimate_ci(scores: Sequence[float]) -> Tuple[float, float]:
    """The mean of ``scores`` and half their central 95 % range."""
    values = sorted(float(s) for s in scores)
    low = len(values) // 40
    return statistics.fmean(values), 0.5 * (values[len(values) - low - 1] - values[low])


def _streams(metric: Metric, references: Optional[Sequence[Sequence[str]]]) -> List[List[str]]:
    segments = metric._references(references)
    if len({len(r) for r in segments}) != 1:
        raise BadInput("paired tests need the same number of references for every segment")
    return [list(s) for s in zip(*segments)]


class PairedTest:
    """Runs a paired test of every system against the first (the baseline).

    ``named_systems``: ``[(name, hypotheses), …]``; ``metrics``: ``{name:
    Metric}``; ``test_type``: ``ar`` or ``bs``; ``n_samples``: trials or
    resamples (0: 10000 for ``ar``, 1000 for ``bs``). Calling it returns
    ``(signatures, scores)`` keyed by score name, ``scores['System']`` listing
    the systems. ``n_jobs`` is accepted and ignored: retarget uses all cores.
    """

    _DEFAULT_SAMPLES = {"ar": 10000, "bs": 1000}

    def __init__(self, named_systems: List[Tuple[str, Sequence[str]]],
                 metrics: Mapping[str, Metric],
                 references: Optional[Sequence[Sequence[str]]],
                 test_type: str = "ar", n_samples: int = 0, n_ar_confidence: int = -1,
                 n_jobs: int = 1):
        if test_type not in ("ar", "bs"):
            raise ValueError(f"Unknown test type {test_type!r}")
        if not named_systems:
            raise BadInput("named_systems: no systems")
        self.test_type = test_type
        self.references = references
        self.named_systems = named_systems
        self.n_jobs = n_jobs
        self.n_ar_confidence = n_ar_confidence if n_ar_confidence != 0 else self._DEFAULT_SAMPLES["bs"]
        if test_type == "ar" and self.n_ar_confidence > 0:
            raise BadInput(
                "n_ar_confidence: confidence intervals within the approximate randomization test "
                "are not available in retarget (use test_type='bs' for intervals)")
        self.n_samples = n_samples if n_samples > 0 else self._DEFAULT_SAMPLES[test_type]
        self.n_systems = len(named_systems) - 1
        self._seed_text, self._seed = bootstrap_seed()
        self.metrics: Dict[str, Metric] = dict(metrics)

    def __call__(self) -> Tuple[Dict[str, Signature], Dict[str, List[Union[str, Result]]]]:
        systems = [list(hyps) for _, hyps in self.named_systems]
        signatures: Dict[str, Signature] = {}
        scores: Dict[str, List[Union[str, Result]]] = {"System": [n for n, _ in self.named_systems]}
        for metric in self.metrics.values():
            streams = _streams(metric, self.references)
            results = _native.paired_test(metric._native, systems, streams, self.test_type,
                                          self.n_samples, self._seed)
            name = metric._native.name
            scores[name] = [Result(*r) for r in results]
            signature = metric.get_signature()
            signature.update("seed", self._seed_text)
            signature.update(self.test_type, self.n_samples)
            signatures[name] = signature
        return signatures, scores


def paired_bs(named_systems: List[Tuple[str, Sequence[str]]], metrics: Mapping[str, Metric],
              references: Optional[Sequence[Sequence[str]]], n_samples: int = 1000):
    """Paired bootstrap resampling (Koehn 2004) of each system against the first."""
    return PairedTest(named_systems, metrics, references, "bs", n_samples)()


def paired_ar(named_systems: List[Tuple[str, Sequence[str]]], metrics: Mapping[str, Metric],
              references: Optional[Sequence[Sequence[str]]], n_samples: int = 10000):
    """Paired approximate randomization (Riezler & Maxwell 2005) of each system against the first."""
    return PairedTest(named_systems, metrics, references, "ar", n_samples)()
