"""One number grammar: what a candidate may type as a number and what an imported file
may write as a mark are read by the same rule (ASCII digits, a point, an exponent)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from examvault.domain.marking import NUMERIC_STRING
from examvault.formats._marks import parse_decimal


@pytest.mark.parametrize("text", ["3", "-0.25", "+.5", "2.", "1e-3", "6.02E23"])
def test_plain_decimals_are_numbers_to_both(text: str) -> None:
    assert NUMERIC_STRING.fullmatch(text)
    assert parse_decimal(text) == Decimal(text)


@pytest.mark.parametrize(
    "text",
    ["٣", "３", "1٫5", "²", "1_000", "0x10", "1/3", "inf", "NaN", "", ".", "1e"],
)
def test_anything_else_is_a_number_to_neither(text: str) -> None:
    # Arabic-Indic, full-width and superscript digits match Python's `\d`: a mark of "٣"
    # must not import as 3 when an answer of "٣" is refused.
    assert not NUMERIC_STRING.fullmatch(text)
    assert parse_decimal(text) is None
