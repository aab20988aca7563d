"""Ranks and percentiles (MARKING.md), pure over exact scores.

Competition ranking: equal scores share a rank and the next rank skips (1, 2, 2, 4).
Percentile, the NTA formula: 100 × (attempts scoring ≤ this) / (attempts), exact, then
rounded half away from zero to 7 places. Scores are compared exactly, never rounded.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from examvault.marking import round_half_away

PERCENTILE_PLACES = 7


def competition_ranks(scores: Sequence[Fraction]) -> list[int]:
    """The rank of each score, highest first, ties sharing a rank."""
    ordered = sorted(scores)
    n = len(ordered)
    return [1 + n - bisect_right(ordered, s) for s in scores]


def percentiles(scores: Sequence[Fraction]) -> list[Decimal]:
    """The NTA percentile of each score among these scores."""
    ordered = sorted(scores)
    n = len(ordered)
    return [
        round_half_away(Fraction(100 * bisect_right(ordered, s), n), PERCENTILE_PLACES)
        for s in scores
    ]
