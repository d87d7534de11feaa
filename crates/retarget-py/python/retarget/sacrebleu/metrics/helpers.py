"""sacrebleu's n-gram helpers (plain Python; the metrics themselves count
n-grams in Rust)."""

from collections import Counter
from typing import List, Tuple


def extract_all_word_ngrams(line: str, min_order: int, max_order: int) -> Tuple[Counter, int]:
    """Counts of the word n-grams of orders ``min_order..max_order`` (as
    tuples) and the number of words."""
    tokens = line.split()
    counts: Counter = Counter()
    for n in range(min_order, max_order + 1):
        counts.update(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return counts, len(tokens)


def extract_word_ngrams(tokens: List[str], n: int) -> Counter:
    """Counts of the word n-grams of order ``n`` (joined by spaces)."""
    return Counter(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def extract_char_ngrams(line: str, n: int, include_whitespace: bool = False) -> Counter:
    """Counts of the character n-grams of order ``n`` (whitespace removed
    unless ``include_whitespace``)."""
    if not include_whitespace:
        line = "".join(line.split())
    return Counter(line[i:i + n] for i in range(len(line) - n + 1))


def extract_all_char_ngrams(line: str, max_order: int, include_whitespace: bool = False) -> List[Counter]:
    """:func:`extract_char_ngrams` for every order ``1..max_order``."""
    if not include_whitespace:
        line = "".join(line.split())
    return [extract_char_ngrams(line, n, True) for n in range(1, max_order + 1)]
