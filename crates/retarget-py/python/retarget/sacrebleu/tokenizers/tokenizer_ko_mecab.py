"""sacrebleu's ``ko-mecab`` tokenizer: not available in retarget."""

from ... import _native
from .tokenizer_base import NativeTokenizer


class TokenizerKoMecab(NativeTokenizer):
    """Needs MeCab and its dictionaries, which retarget does not ship:
    constructing one raises ``retarget.BadInput``."""

    def __init__(self):
        self._native = _native.Tokenizer.bleu("ko-mecab")
