"""TER's tercom tokenizer, computed by retarget."""

from ... import _native
from .tokenizer_base import NativeTokenizer


class TercomTokenizer(NativeTokenizer):
    """tercom's normalisation, punctuation removal and Asian support."""

    def __init__(self, normalized: bool = False, no_punct: bool = False,
                 asian_support: bool = False, case_sensitive: bool = False):
        self._normalized = normalized
        self._no_punct = no_punct
        self._asian_support = asian_support
        self._case_sensitive = case_sensitive
        self._native = _native.Tokenizer.ter(normalized, no_punct, asian_support, case_sensitive)

    def signature(self) -> str:
        return "tercom"
