"""sacrebleu's ``zh`` tokenizer, computed by retarget."""

from ... import _native
from .tokenizer_base import NativeTokenizer


class TokenizerZh(NativeTokenizer):
    """Chinese characters split apart, the rest as 13a."""

    def __init__(self):
        self._native = _native.Tokenizer.bleu("zh")
