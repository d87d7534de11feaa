"""sacrebleu's numeric helpers and its data folder (``$SACREBLEU`` or
``~/.sacrebleu``, where retarget looks for the SentencePiece models of the
``flores101``/``flores200``/``spBLEU-1K`` tokenizers; it downloads nothing)."""

import math
import os
from typing import List, Sequence

SACREBLEU_DIR = os.environ.get("SACREBLEU", os.path.join(os.path.expanduser("~"), ".sacrebleu"))


def my_log(num: float) -> float:
    """``log(num)``, with -9999999999 for zero."""
    return -9999999999 if num == 0.0 else math.log(num)


def sum_of_lists(lists: Sequence[Sequence]) -> List:
    """Column sums of equally long rows, keeping the rows' number type."""
    if len(lists) == 1:
        return lists[0]
    total = [type(lists[0][0])(0)] * len(lists[0])
    for row in lists:
        for i, value in enumerate(row):
            total[i] += value
    return total
