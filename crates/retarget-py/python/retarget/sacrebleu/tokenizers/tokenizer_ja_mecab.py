"""sacrebleu's ``ja-mecab`` tokenizer: not available in retarget."""

from ... import _native
from .tokenizer_base import NativeTokenizer


class TokenizerJaMecab(NativeTokenizer):
    """Needs MeCab and its dictionaries, which retarget does not ship:
    constructing one raises ``retarget.BadInput``."""

    def __init__(self):
        self._native = _native.Tokenizer.bleu("ja-mecab")
