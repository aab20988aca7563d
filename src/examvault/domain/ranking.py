"""Ranks and percentiles (docs/marking.md), pure over exact scores.

Competition ranking: equal scores share a rank and the next rank skips (1, 2, 2, 4).
Percentile, the NTA formula: 100 × (attempts scoring ≤ this) / (attempts), exact, then
rounded half away from zero to 7 places. Scores are compared exactly, never rounded.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from math import gcd, isqrt
from typing import Any

from examvault.domain.marking import round_half_away

PERCENTILE_PLACES = 7


def competition_ranks(scores: Sequence[Fraction]) -> list[int]:
    """The rank of each score, highest first, ties sharing a rank."""
    ints, _ = scaled(scores)  # the same order, compared as ints: much faster than Fractions
    ordered = sorted(ints)
    n = len(ordered)
    return [1 + n - bisect_right(ordered, s) for s in ints]


def percentiles(scores: Sequence[Fraction]) -> list[Decimal]:
    """The NTA percentile of each score among these scores."""
    ints, _ = scaled(scores)
    ordered = sorted(ints)
    n = len(ordered)
    memo: dict[int, Decimal] = {}  # one rounding per distinct count, not per attempt
    out = []
    for s in ints:
        below = bisect_right(ordered, s)
        value = memo.get(below)
        if value is None:
            value = memo[below] = round_half_away(Fraction(100 * below, n), PERCENTILE_PLACES)
        out.append(value)
    return out


# --- the figures of docs/api.md, "Analytics" ---------------------------------------------
#
# Every figure is computed exactly (Fractions, integer sums) and rounded once, at the
# edge, half away from zero: outside tests recompute them independently, and a float
# sum over 10,000 attempts could land on the other side of a rounding boundary.

SHARE_PLACES = 4
SCORE_PLACES = 2
UPPER_LOWER_SHARE = Fraction(27, 100)


def rounded(value: Fraction | None, places: int) -> int | float | None:
    """An exact value for JSON, rounded half away from zero; integers stay integers."""
    if value is None:
        return None
    r = round_half_away(value, places)
    return int(r) if r == r.to_integral_value() else float(r)


def rounded_sqrt(square: Fraction, places: int, negative: bool = False) -> int | float:
    """±sqrt(square) rounded half away from zero, exactly (no float ever rounds it).

    m = floor(sqrt(x)·10^p + 1/2) is the largest m with (2m − 1)² ≤ 4·x·10^(2p), and for an
    integer j, j² ≤ t exactly when j ≤ isqrt(floor(t)).
    """
    t = 4 * square * 10 ** (2 * places)
    s = isqrt(t.numerator // t.denominator)
    m = (s + 1) // 2
    value = Decimal(f"{-m if negative and m else m}E-{places}")
    return int(value) if value == value.to_integral_value() else float(value)


def round_half_up_int(value: Fraction) -> int:
    """round-half-up to an integer, as docs/api.md's k = max(1, round-half-up(0.27 n))."""
    return int(value + Fraction(1, 2)) if value >= 0 else -int(-value + Fraction(1, 2))


def scaled(values: Sequence[Fraction]) -> tuple[list[int], int]:
    """The values times their least common denominator L, and L: exact integer arithmetic.

    Sorting, summing and squaring Python ints is some fifty times faster than doing the
    same with Fractions, which is what keeps 10,000 attempts × 200 items within budget.
    """
    lcd = 1
    for d in {v.denominator for v in values}:
        lcd = lcd * d // gcd(lcd, d)
    if lcd == 1:
        return [v.numerator for v in values], 1
    return [v.numerator * (lcd // v.denominator) for v in values], lcd


def mean(values: Sequence[Fraction]) -> Fraction | None:
    """The exact mean; None for no values."""
    if not values:
        return None
    ints, lcd = scaled(values)
    return Fraction(sum(ints), len(ints) * lcd)


def median(values: Sequence[Fraction]) -> Fraction | None:
    """The middle value, or the mean of the two middle values when there are an even number."""
    if not values:
        return None
    ints, lcd = scaled(values)
    ints.sort()
    mid = len(ints) // 2
    if len(ints) % 2:
        return Fraction(ints[mid], lcd)
    return Fraction(ints[mid - 1] + ints[mid], 2 * lcd)


def variance(values: Sequence[Fraction]) -> Fraction | None:
    """The population variance, exact; None for no values."""
    if not values:
        return None
    ints, lcd = scaled(values)
    n = len(ints)
    s1 = sum(ints)
    s2 = sum(x * x for x in ints)
    return Fraction(n * s2 - s1 * s1, n * n * lcd * lcd)


def summary(values: Sequence[Fraction]) -> dict[str, Any]:
    """mean, median, sd (population), min and max, rounded to 2 places; null when empty."""
    var = variance(values)
    return {
        "mean": rounded(mean(values), SCORE_PLACES),
        "median": rounded(median(values), SCORE_PLACES),
        "sd": None if var is None else rounded_sqrt(var, SCORE_PLACES),
        "min": rounded(min(values), SCORE_PLACES) if values else None,
        "max": rounded(max(values), SCORE_PLACES) if values else None,
    }


_NICE = (1, 2, 5)


def bin_width(low: Fraction, high: Fraction, bins: int = 20) -> Fraction:
    """The smallest width of 1, 2 or 5 × 10^k (at least 1) giving at most `bins` bins."""
    span = high - low
    k = 0
    while True:
        for nice in _NICE:
            width = Fraction(nice * 10**k)
            if span / width < bins:
                return width
        k += 1


def histogram(values: Sequence[Fraction]) -> list[dict[str, Any]]:
    """Counts in bins [from, to) of one width, starting at a multiple of it; they add up to n.

    Bins are aligned to multiples of the width so the same exam always gets the same
    edges, and the highest score falls inside the last bin, never on its upper edge.
    """
    if not values:
        return []
    low, high = min(values), max(values)
    width = bin_width(low, high)
    start = (low // width) * width
    nbins = int((high - start) // width) + 1
    counts = [0] * nbins
    for v in values:
        counts[int((v - start) // width)] += 1
    return [
        {
            "from": rounded(start + i * width, SCORE_PLACES),
            "to": rounded(start + (i + 1) * width, SCORE_PLACES),
            "count": c,
        }
        for i, c in enumerate(counts)
    ]


def cronbach_alpha(
    item_scores: Sequence[Sequence[Fraction]], totals: Sequence[Fraction]
) -> Fraction | None:
    """m/(m−1) × (1 − Σ var(item) / var(total)), population variances; None when undefined."""
    m = len(item_scores)
    n = len(totals)
    if m < 2 or n == 0:
        return None
    var_total = variance(totals)
    if not var_total:
        return None
    var_items = sum((variance(col) or Fraction(0) for col in item_scores), Fraction(0))
    return alpha_of(m, var_items, var_total)


def alpha_of(m: int, var_items: Fraction, var_total: Fraction | None) -> Fraction | None:
    """Cronbach's alpha from the sum of the item variances and the total's variance."""
    if m < 2 or not var_total:
        return None
    return Fraction(m, m - 1) * (1 - var_items / var_total)


def upper_lower_k(n: int) -> int:
    """How many attempts form the upper (and the lower) group: max(1, round-half-up(0.27 n))."""
    return max(1, round_half_up_int(UPPER_LOWER_SHARE * n))


def order_by_total(totals: Sequence[Fraction], candidate_ids: Sequence[str]) -> list[int]:
    """Attempt indexes by exact total, highest first, ties by candidate id in code-point order."""
    ints, _ = scaled(totals)
    return sorted(range(len(ints)), key=lambda i: (-ints[i], candidate_ids[i]))


def point_biserial_square(
    correct: Sequence[bool], scaled: Sequence[int]
) -> tuple[Fraction, bool] | None:
    """r² of Pearson's r between 1-if-correct and the total, and whether r < 0.

    `scaled` are the totals times a common denominator: r is the same for them, and every
    sum is then an exact integer sum. None when either variable has no variance.
    """
    c = sum(correct)
    sxy = sum(y for x, y in zip(correct, scaled, strict=True) if x)
    return point_biserial_of(len(scaled), c, sxy, sum(scaled), sum(y * y for y in scaled))


def point_biserial_of(n: int, c: int, sxy: int, sy: int, syy: int) -> tuple[Fraction, bool] | None:
    """r² and its sign from sums: n attempts, c correct, Σ totals of the correct (sxy),
    Σ totals (sy) and Σ totals² (syy), totals scaled to integers. The same r as
    `point_biserial_square`, for callers that only hold aggregates (the database's)."""
    vx = n * c - c * c
    vy = n * syy - sy * sy
    if vx == 0 or vy == 0:
        return None
    cov = n * sxy - c * sy
    return Fraction(cov * cov, vx * vy), cov < 0
