"""Capped exponential backoff: how long to wait after failures in a row.

One rule for everything that tries again (deliveries, the mailbox, the
calendar): the base delay, doubled with each further failure, never more
than the cap. Pure: the caller counts the failures and does the waiting.
"""

from __future__ import annotations

MAX_DOUBLINGS = 62  # past any cap a caller may set; keeps a float base from overflowing


def backoff_delay(base: float, failures: int, cap: float) -> float:
    """Seconds to wait after `failures` failures in a row (the first failure is 1):
    `base` after the first, doubling with each one after it, and never more than
    `cap`. Fewer than one failure counts as one. The result is an int when `base`
    and `cap` are ints."""
    doublings = min(max(failures - 1, 0), MAX_DOUBLINGS)
    return min(base * 2 ** doublings, cap)
