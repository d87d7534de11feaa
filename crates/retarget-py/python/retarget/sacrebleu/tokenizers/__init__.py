"""sacrebleu's tokenizers, computed by retarget."""

from importlib import import_module

from .tokenizer_base import BaseTokenizer  # noqa: F401

_TOKENIZERS = {
    "none": "tokenizer_none.NoneTokenizer",
    "zh": "tokenizer_zh.TokenizerZh",
    "13a": "tokenizer_13a.Tokenizer13a",
    "intl": "tokenizer_intl.TokenizerV14International",
    "char": "tokenizer_char.TokenizerChar",
    "ja-mecab": "tokenizer_ja_mecab.TokenizerJaMecab",
    "ko-mecab": "tokenizer_ko_mecab.TokenizerKoMecab",
    "spm": "tokenizer_spm.TokenizerSPM",
    "flores101": "tokenizer_spm.Flores101Tokenizer",
    "flores200": "tokenizer_spm.Flores200Tokenizer",
    "spBLEU-1K": "tokenizer_spm.spBLEU1KTokenizer",
}


def make_tokenizer(name: str) -> BaseTokenizer:
    """A BLEU tokenizer by sacrebleu's name."""
    if name not in _TOKENIZERS:
        from ..._errors import BadInput
        raise BadInput(f"unknown tokenizer {name!r}: expected one of {', '.join(_TOKENIZERS)}")
    module, cls = _TOKENIZERS[name].rsplit(".", 1)
    return getattr(import_module(f".{module}", __name__), cls)()
