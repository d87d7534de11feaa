"""retarget from Python: sacrebleu-exact metrics (``retarget.sacrebleu``),
language identification (``retarget.langid``), tokenizer fairness, merges,
vocabulary adaptation and NLL scoring, all computed by retarget's Rust crates
with the GIL released, and Ray Data callables (``retarget.ray``) for corpus
scale.

Errors: :class:`BadInput` for what the command line exits 2 on (missing or
malformed files, bad arguments), :class:`Error` for the rest. Wrong argument
types raise ``TypeError``.
"""

from ._errors import BadInput, Error
from ._api import (
    Scorer,
    adapt,
    inspect,
    merge,
    score,
    tokenizer_stats,
)
from ._native import __version__

__all__ = [
    "BadInput",
    "Error",
    "Scorer",
    "adapt",
    "inspect",
    "merge",
    "score",
    "tokenizer_stats",
    "__version__",
]
