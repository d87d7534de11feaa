"""sacrebleu's ``char`` tokenizer, computed by retarget."""

from ... import _native
from .tokenizer_base import NativeTokenizer


class TokenizerChar(NativeTokenizer):
    """Every character a token."""

    def __init__(self):
        self._native = _native.Tokenizer.bleu("char")
