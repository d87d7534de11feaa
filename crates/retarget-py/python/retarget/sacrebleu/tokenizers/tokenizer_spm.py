"""sacrebleu's SentencePiece tokenizers (``flores101``, ``flores200``,
``spBLEU-1K``), computed by retarget's SentencePiece reader. retarget
downloads nothing: the model must already be where sacrebleu keeps it
(``$SACREBLEU/models/…``, ``~/.sacrebleu`` by default), or be given."""

import os
from typing import Optional

from ... import _native
from ..._errors import BadInput
from ..utils import SACREBLEU_DIR
from .tokenizer_base import NativeTokenizer

#: The model file sacrebleu downloads for each tokenizer, and its signature name.
SPM_MODELS = {
    "spm": ("sacrebleu_tokenizer_spm.model", "flores101"),
    "flores101": ("sacrebleu_tokenizer_spm.model", "flores101"),
    "flores200": ("flores200sacrebleuspm", "flores200"),
    "spBLEU-1K": ("spbleu-1k_tokenizer_spm.model", "spBLEU-1K"),
}


class TokenizerSPM(NativeTokenizer):
    """A SentencePiece tokenizer; ``model_path`` defaults to sacrebleu's
    download location."""

    def __init__(self, key: str = "spm", model_path: Optional[str] = None):
        filename, self.name = SPM_MODELS[key]
        self.model_path = model_path or os.path.join(SACREBLEU_DIR, "models", filename)
        if not os.path.exists(self.model_path):
            raise BadInput(
                f"{self.model_path}: the SentencePiece model of tokenizer '{key}' is missing; "
                "retarget downloads nothing: put the model there (sacrebleu downloads it to that path) "
                "or give model_path")
        self._native = _native.Tokenizer.bleu(self.name, self.model_path)

    def signature(self) -> str:
        return self.name


class Flores101Tokenizer(TokenizerSPM):
    """FLORES-101's SentencePiece model."""

    def __init__(self, model_path: Optional[str] = None):
        super().__init__("flores101", model_path)


class Flores200Tokenizer(TokenizerSPM):
    """FLORES-200's SentencePiece model."""

    def __init__(self, model_path: Optional[str] = None):
        super().__init__("flores200", model_path)


class spBLEU1KTokenizer(TokenizerSPM):  # noqa: N801 (sacrebleu's name)
    """spBLEU-1K's SentencePiece model."""

    def __init__(self, model_path: Optional[str] = None):
        super().__init__("spBLEU-1K", model_path)
