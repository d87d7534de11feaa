"""A drop-in for sacrebleu 2.x's Python API, computed by retarget: the same
scores as sacrebleu 2.6.0 (to 1e-9), objects with the same attributes and
text, on all cores.

    import retarget.sacrebleu as sacrebleu
    sacrebleu.corpus_bleu(hyps, [refs]).score

Code that imports ``sacrebleu`` itself runs on retarget after
:func:`install` (``sys.modules['sacrebleu']`` and its submodules point
here). Additions: ``Metric.sentence_scores`` (a whole list of sentence
scores at once) and ``Metric.pairwise`` (MBR's utility matrix).

Not provided: the test-set downloads (``DATASETS``, ``download_test_set``)
and the ``ja-mecab``/``ko-mecab`` tokenizers. Signatures carry
``version:retarget-…``.
"""

import sys

from .compat import (
    corpus_bleu,
    corpus_chrf,
    corpus_ter,
    raw_corpus_bleu,
    sentence_bleu,
    sentence_chrf,
    sentence_ter,
)
from .metrics import BLEU, CHRF, TER, BLEUScore, CHRFScore, TERScore
from .metrics.helpers import extract_char_ngrams, extract_word_ngrams
from .utils import SACREBLEU_DIR
from .version import __version__

__all__ = [
    "SACREBLEU_DIR", "extract_word_ngrams", "extract_char_ngrams", "BLEU", "CHRF", "TER",
    "BLEUScore", "CHRFScore", "TERScore", "corpus_bleu", "raw_corpus_bleu", "sentence_bleu",
    "corpus_chrf", "sentence_chrf", "corpus_ter", "sentence_ter", "install", "__version__",
]

_SUBMODULES = (
    "compat", "metrics", "metrics.base", "metrics.bleu", "metrics.chrf", "metrics.ter",
    "metrics.helpers", "significance", "utils", "version", "tokenizers",
    "tokenizers.tokenizer_base", "tokenizers.tokenizer_13a", "tokenizers.tokenizer_intl",
    "tokenizers.tokenizer_zh", "tokenizers.tokenizer_char", "tokenizers.tokenizer_none",
    "tokenizers.tokenizer_ter", "tokenizers.tokenizer_spm", "tokenizers.tokenizer_ja_mecab",
    "tokenizers.tokenizer_ko_mecab",
)


def install() -> None:
    """Makes ``import sacrebleu`` (and ``from sacrebleu.metrics import
    BLEU``, …) load this package instead of sacrebleu."""
    from importlib import import_module

    sys.modules["sacrebleu"] = sys.modules[__name__]
    for name in _SUBMODULES:
        sys.modules[f"sacrebleu.{name}"] = import_module(f"{__name__}.{name}")
