"""Model-level work: inspect, merge, adapt, tokenizer statistics, scoring.

Each function calls one retarget library function and returns plain Python
objects (dicts and dataclasses) with the fields of the command line's
``--json`` output.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from ._errors import BadInput

PathLike = Union[str, "os.PathLike[str]"]


def _path(value: Any, name: str) -> str:
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    raise TypeError(f"{name}: expected a path (str or os.PathLike), got {type(value).__name__}")


def _lines(value: Any, name: str) -> List[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name}: expected a sequence of str, got {type(value).__name__}")
    for i, line in enumerate(value):
        if not isinstance(line, str):
            raise TypeError(f"{name}[{i}]: expected str, got {type(line).__name__}")
    return list(value)


def inspect(path: PathLike) -> Dict[str, Any]:
    """What ``retarget inspect PATH --json`` reports: architecture, tensors,
    vocabulary, tokenizer of an HF folder, safetensors or GGUF file."""
    return json.loads(_native.inspect(_path(path, "path")))


def merge(
    config: Union[PathLike, Mapping[str, Any]],
    out: PathLike,
    *,
    max_shard_size: str = "5GB",
    seed: int = 0,
    dtype: Optional[str] = None,
) -> Dict[str, Any]:
    """Merges models as a mergekit configuration says (a YAML file, or the
    same configuration as a dict) into the new folder ``out``.

    Returns ``{"output", "tensors", "files", "bytes", "vocabulary"}``.
    """
    if isinstance(config, Mapping):
        text, source = json.dumps(dict(config)), "<config dict>"
    else:
        source = _path(config, "config")
        try:
            with open(source, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise BadInput(f"{source}: {e.strerror or e}") from None
        except UnicodeDecodeError as e:
            raise BadInput(f"{source}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    return json.loads(
        _native.merge(text, source, _path(out, "out"), max_shard_size, seed, dtype)
    )


def adapt(
    model: PathLike,
    out: PathLike,
    lang: str,
    corpus: Union[PathLike, Sequence[PathLike]],
    *,
    held_out: Optional[PathLike] = None,
    parallel_ref: Optional[PathLike] = None,
    add: int = 1000,
    init: str = "mean",
    seed: int = 0,
    parallel: Optional[Tuple[PathLike, PathLike]] = None,
    trim: bool = False,
    replace: bool = False,
    tokenizer: Optional[PathLike] = None,
    vocab_size: Optional[int] = None,
    helper: Optional[PathLike] = None,
    aux_vectors: Optional[PathLike] = None,
    source_vectors: Optional[PathLike] = None,
    target_vectors: Optional[PathLike] = None,
    dictionary: Optional[PathLike] = None,
    neighbors: int = 10,
    temperature: float = 0.1,
    max_shard_size: str = "5GB",
) -> Dict[str, Any]:
    """``retarget adapt``: adds target-language tokens (or replaces the
    vocabulary), initialises their rows, writes the new model to ``out`` and
    returns the before/after report (``--json``'s fields)."""
    corpus_files = [corpus] if isinstance(corpus, (str, os.PathLike)) else list(corpus)
    opt = lambda v, n: None if v is None else _path(v, n)  # noqa: E731
    return json.loads(
        _native.adapt(
            _path(model, "model"),
            _path(out, "out"),
            lang,
            [_path(c, "corpus") for c in corpus_files],
            opt(held_out, "held_out"),
            opt(parallel_ref, "parallel_ref"),
            add,
            init,
            seed,
            None if parallel is None else (_path(parallel[0], "parallel"), _path(parallel[1], "parallel")),
            trim,
            replace,
            opt(tokenizer, "tokenizer"),
            vocab_size,
            opt(helper, "helper"),
            opt(aux_vectors, "aux_vectors"),
            opt(source_vectors, "source_vectors"),
            opt(target_vectors, "target_vectors"),
            opt(dictionary, "dictionary"),
            neighbors,
            temperature,
            max_shard_size,
        )
    )


def tokenizer_stats(
    tokenizers: Union[PathLike, Sequence[PathLike]],
    texts: Optional[Mapping[str, Union[PathLike, Sequence[str]]]] = None,
    *,
    udhr: Optional[PathLike] = None,
    parallel_ref: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """Tokenizer fairness as ``retarget eval tokenizer --json`` computes it:
    for each tokenizer (``tokenizer.json`` or a model folder) and each text
    (``{language: lines or file}``, and/or the UDHR folder), fertility,
    characters per token, continued words, unknown rate and parity against
    ``parallel_ref``'s text."""
    if isinstance(tokenizers, (str, os.PathLike)):
        tokenizers = [tokenizers]
    pairs = []
    for lang, text in (texts or {}).items():
        if isinstance(text, (str, os.PathLike)):
            pairs.append((lang, os.fspath(text)))
        else:
            pairs.append((lang, _lines(text, f"texts[{lang!r}]")))
    return json.loads(
        _native.tokenizer_stats(
            [_path(t, "tokenizers") for t in tokenizers],
            pairs,
            None if udhr is None else _path(udhr, "udhr"),
            parallel_ref,
        )
    )


@dataclass(frozen=True)
class LineScore:
    """One line's score: tokens scored (the first token is not) and their
    negative log-likelihood in nats."""

    tokens: int
    nll: float


@dataclass(frozen=True)
class ScoreResult:
    """``retarget score``: per-line scores and the totals."""

    lines: List[LineScore]
    total_nll: float
    total_tokens: int
    total_bytes: int
    perplexity: float
    bits_per_byte: float


class Scorer:
    """A model opened once (HF folder or GGUF file) that scores lines with
    ``retarget score``'s numbers; for many calls, e.g. one per Ray batch."""

    def __init__(self, model: PathLike, device: str = "cpu"):
        self.path = _path(model, "model")
        self._native = _native.Scorer(self.path, device)

    def score(self, lines: Sequence[str]) -> ScoreResult:
        """Scores every line (one sequence each)."""
        per_line, summary = self._native.score(_lines(lines, "lines"))
        totals = json.loads(summary)
        return ScoreResult(lines=[LineScore(t, n) for t, n in per_line], **totals)


def score(model: PathLike, lines: Sequence[str], device: str = "cpu") -> ScoreResult:
    """Opens ``model`` and scores ``lines`` (``retarget score``)."""
    return Scorer(model, device).score(lines)
