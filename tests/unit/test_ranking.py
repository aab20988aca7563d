"""Ranks and percentiles of docs/marking.md (domain/ranking.py)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain.ranking import PERCENTILE_PLACES, competition_ranks, percentiles

D = Decimal
F = Fraction

# The worked example's six submitted attempts (C5 is absent and not counted).
EXAMPLE = {
    "C1": F(16),
    "C2": F(3, 2),
    "C3": F(-1),
    "C4": F(7),
    "C6": F(7),
    "C7": F(-1, 3),
}


# --- competition ranks ------------------------------------------------------------------


def test_equal_scores_share_a_rank_and_the_next_rank_skips() -> None:
    assert competition_ranks([F(10), F(7), F(7), F(3)]) == [1, 2, 2, 4]


def test_ranks_follow_the_input_order() -> None:
    assert competition_ranks([F(3), F(7), F(10), F(7)]) == [4, 2, 1, 2]


def test_the_worked_example_ranks() -> None:
    ranks = dict(zip(EXAMPLE, competition_ranks(list(EXAMPLE.values())), strict=True))
    assert ranks == {"C1": 1, "C2": 4, "C3": 6, "C4": 2, "C6": 2, "C7": 5}


def test_a_tie_at_the_bottom_shares_the_last_rank_it_reaches() -> None:
    assert competition_ranks([F(5), F(0), F(3), F(2), F(0)]) == [1, 4, 2, 3, 4]


def test_everyone_equal_is_everyone_first() -> None:
    assert competition_ranks([F(-1, 3)] * 4) == [1, 1, 1, 1]


def test_one_attempt_is_first_and_none_has_no_ranks() -> None:
    assert competition_ranks([F(0)]) == [1]
    assert competition_ranks([]) == []


def test_ranks_compare_exact_scores_not_rounded_ones() -> None:
    # 1/3 and 0.333 both show as 0.33, but 1/3 is higher.
    assert competition_ranks([F(333, 1000), F(1, 3)]) == [2, 1]
    assert competition_ranks([F(-1, 3), F(-333, 1000)]) == [2, 1]


# --- percentiles --------------------------------------------------------------------------


def test_the_worked_example_percentiles() -> None:
    got = dict(zip(EXAMPLE, percentiles(list(EXAMPLE.values())), strict=True))
    assert got == {
        "C1": D("100"),
        "C2": D("50"),
        "C3": D("16.6666667"),
        "C4": D("83.3333333"),
        "C6": D("83.3333333"),
        "C7": D("33.3333333"),
    }


def test_a_percentile_counts_every_attempt_scoring_at_most_this() -> None:
    # 100 * (attempts with score <= this) / attempts; ties count each other.
    assert percentiles([F(10), F(7), F(7), F(3)]) == [D(100), D(75), D(75), D(25)]


def test_percentiles_are_rounded_half_away_from_zero_to_seven_places() -> None:
    # 1024 distinct scores: the lowest is 100/1024 = 0.09765625, an exact half at the
    # eighth place, and 300/1024 = 0.29296875 likewise.
    got = percentiles([F(i) for i in range(1024)])
    assert got[0] == D("0.0976563")
    assert got[2] == D("0.2929688")
    assert got[1023] == D(100)


def test_six_attempts_give_sevenths_place_rounding_both_ways() -> None:
    got = percentiles([F(i) for i in range(6)])
    assert got == [
        D("16.6666667"),
        D("33.3333333"),
        D("50"),
        D("66.6666667"),
        D("83.3333333"),
        D("100"),
    ]


def test_percentiles_compare_exact_scores_not_rounded_ones() -> None:
    assert percentiles([F(333, 1000), F(1, 3)]) == [D(50), D(100)]


def test_everyone_equal_is_the_hundredth_percentile() -> None:
    assert percentiles([F(2)] * 3) == [D(100)] * 3


def test_no_attempts_have_no_percentiles() -> None:
    assert percentiles([]) == []


def test_a_percentile_has_at_most_seven_places() -> None:
    for p in percentiles([F(i) for i in range(7)]):
        assert -p.as_tuple().exponent <= PERCENTILE_PLACES  # type: ignore[operator]


# --- properties -----------------------------------------------------------------------------


scores = st.lists(
    st.fractions(min_value=-20, max_value=20, max_denominator=3)
    | st.sampled_from([F(0), F(4), F(-1, 3), F(7)]),
    min_size=1,
    max_size=30,
)


def _nta(this: Fraction, all_scores: list[Fraction]) -> Decimal:
    at_most = sum(1 for s in all_scores if s <= this)
    with localcontext() as ctx:
        ctx.prec = 60
        exact = D(100 * at_most) / D(len(all_scores))
        return exact.quantize(D(1).scaleb(-PERCENTILE_PLACES), rounding=ROUND_HALF_UP)


@given(scores)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_ranks_are_one_plus_the_number_of_higher_scores(values: list[Fraction]) -> None:
    ranks = competition_ranks(values)
    n = len(values)
    assert len(ranks) == n
    for value, rank in zip(values, ranks, strict=True):
        assert 1 <= rank <= n
        assert rank == 1 + sum(1 for other in values if other > value)
    assert min(ranks) == 1


@given(scores)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_equal_scores_get_equal_ranks_and_higher_scores_better_ranks(
    values: list[Fraction],
) -> None:
    ranks = competition_ranks(values)
    for a, ra in zip(values, ranks, strict=True):
        for b, rb in zip(values, ranks, strict=True):
            if a == b:
                assert ra == rb
            elif a > b:
                assert ra < rb


@given(scores)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_percentiles_follow_the_nta_formula(values: list[Fraction]) -> None:
    got = percentiles(values)
    assert got == [_nta(v, values) for v in values]


@given(scores)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_the_top_score_is_the_hundredth_percentile(values: list[Fraction]) -> None:
    got = percentiles(values)
    top = max(values)
    for value, p in zip(values, got, strict=True):
        assert D(0) < p <= D(100)
        assert (p == D(100)) == (value == top)


@given(scores)
@settings(max_examples=150, deadline=None, derandomize=True)
def test_percentile_and_rank_agree_on_the_order(values: list[Fraction]) -> None:
    ranks = competition_ranks(values)
    got = percentiles(values)
    for a, ra, pa in zip(values, ranks, got, strict=True):
        for b, rb, pb in zip(values, ranks, got, strict=True):
            if a == b:
                assert (ra, pa) == (rb, pb)
            elif a > b:
                assert ra < rb and pa > pb


@pytest.mark.parametrize("n", [1, 2, 3, 6, 7, 9, 11, 13, 1024])
def test_the_lowest_of_n_distinct_scores_is_one_nth_of_a_hundred(n: int) -> None:
    lowest = percentiles([F(i) for i in range(n)])[0]
    assert lowest == _nta(F(0), [F(i) for i in range(n)])
