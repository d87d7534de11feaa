"""The sacrebleu API version this package reproduces."""

__version__ = "2.6.0"
