"""The tokenizer base class."""


class BaseTokenizer:
    """A tokenizer: ``tokenizer(line) -> str`` and its ``signature()``."""

    def signature(self) -> str:
        """The name in metric signatures."""
        return "none"

    def __call__(self, line: str) -> str:
        return line


class NativeTokenizer(BaseTokenizer):
    """A tokenizer computed by retarget (``retarget._native.Tokenizer``)."""

    _native = None

    def signature(self) -> str:
        return self._native.signature()

    def __call__(self, line: str) -> str:
        if not isinstance(line, str):
            raise TypeError(f"line: expected str, got {type(line).__name__}")
        return self._native(line)
