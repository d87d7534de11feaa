"""sacrebleu's ``none`` tokenizer, computed by retarget."""

from ... import _native
from .tokenizer_base import NativeTokenizer


class NoneTokenizer(NativeTokenizer):
    """No tokenization."""

    def __init__(self):
        self._native = _native.Tokenizer.bleu("none")
