"""sacrebleu's ``13a`` tokenizer, computed by retarget."""

from ... import _native
from .tokenizer_base import NativeTokenizer


class Tokenizer13a(NativeTokenizer):
    """mteval-v13a, the WMT default."""

    def __init__(self):
        self._native = _native.Tokenizer.bleu("13a")
