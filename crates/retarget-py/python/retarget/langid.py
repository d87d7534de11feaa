"""Language identification per line and off-target rates, as
``retarget eval langid`` computes them: lingua (built in) or a fastText
``.bin``/``.ftz`` model (lid.176, GlotLID, OpenLID)."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _native
from ._api import _lines

__all__ = ["LangId", "predict", "off_target_rate", "summary"]


def _spec(backend: Union[str, "os.PathLike[str]"]) -> str:
    if isinstance(backend, os.PathLike):
        return "fasttext:" + os.fspath(backend)
    if not isinstance(backend, str):
        raise TypeError(f"backend: expected 'lingua', 'lingua:low', 'fasttext:PATH' or a path, "
                        f"got {type(backend).__name__}")
    if backend not in ("lingua", "lingua:low") and not backend.startswith("fasttext:"):
        return "fasttext:" + backend
    return backend


class LangId:
    """A language identifier loaded once. ``backend`` is ``"lingua"``
    (``"lingua:low"``: lingua's low-accuracy mode), or a
    fastText model path (``"fasttext:PATH"`` or just the path);
    ``languages`` restricts lingua to those languages."""

    def __init__(self, backend: Union[str, "os.PathLike[str]"] = "lingua",
                 languages: Optional[Sequence[str]] = None):
        self.backend = _spec(backend)
        self._native = _native.LangId(self.backend, None if languages is None else list(languages))

    def identify(self, lines: Sequence[str], expected: Optional[str] = None
                 ) -> List[Optional[Tuple[str, str, float, Optional[bool]]]]:
        """Per line ``(language, backend label, confidence, on target)``; the
        language is ISO 639-3 (+ script) when the label is a known code; on
        target tells whether it is ``expected`` (same macrolanguage and
        script; ``None`` without ``expected``). ``None`` for blank lines and
        lines the backend cannot place."""
        return self._native.identify(_lines(lines, "lines"), expected)

    def predict(self, lines: Sequence[str]) -> List[Tuple[Optional[str], float]]:
        """Per line ``(language, probability)``; ``(None, 0.0)`` for blank or
        undetermined lines. The languages are ``retarget eval langid``'s."""
        return [(i[0], i[2]) if i else (None, 0.0) for i in self.identify(lines)]

    def summary(self, lines: Sequence[str], expected: Optional[str] = None) -> Dict[str, Any]:
        """Counts per language and, against ``expected``, the off-target rate
        (``retarget eval langid --json``'s ``summary``)."""
        return json.loads(self._native.summary(_lines(lines, "lines"), expected))

    def off_target_rate(self, lines: Sequence[str], expected: str) -> Optional[float]:
        """Share of identified lines not in ``expected`` (``None`` when no line
        could be identified)."""
        return self.summary(lines, expected)["off_target_rate"]


def predict(lines: Sequence[str], backend: str = "lingua") -> List[Tuple[Optional[str], float]]:
    """:meth:`LangId.predict` with a new identifier."""
    return LangId(backend).predict(lines)


def summary(lines: Sequence[str], expected: Optional[str] = None, backend: str = "lingua") -> Dict[str, Any]:
    """:meth:`LangId.summary` with a new identifier."""
    return LangId(backend).summary(lines, expected)


def off_target_rate(lines: Sequence[str], expected: str, backend: str = "lingua") -> Optional[float]:
    """:meth:`LangId.off_target_rate` with a new identifier."""
    return LangId(backend).off_target_rate(lines, expected)
