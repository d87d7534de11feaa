"""sacrebleu's ``intl`` tokenizer, computed by retarget."""

from ... import _native
from .tokenizer_base import NativeTokenizer


class TokenizerV14International(NativeTokenizer):
    """mteval-v14's international tokenizer (Unicode punctuation and symbols)."""

    def __init__(self):
        self._native = _native.Tokenizer.bleu("intl")
