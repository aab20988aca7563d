"""Exact marks and numbers: read them from a file, recover clear fractions, write them back.

Scoring in examvault is exact (docs/marking.md), but the formats we read carry marks as
decimals or floats: Moodle stores a third as the percentage ``33.33333``, a QTI tool
writes ``-0.3333333333``. Reading those literally would make three GATE-style wrong
answers total -0.9999999 instead of -1, so marks pass through :func:`recover`.

The recovery rule, chosen to be predictable rather than clever: a decimal with **at
least four digits after the point** is read as the fraction ``p/q`` when ``q`` is one of
3, 6, 7, 9, 11 or 12 (the smallest that fits wins), ``p/q`` does not terminate as a
decimal, and the two differ by less than one unit in the decimal's last place (so both
rounding, ``66.66667``, and truncation, ``66.66666``, are recognised). Everything else is
kept exactly as written: ``0.25``, ``33.33`` and ``0.12345`` stay decimals. The rule
applies to marks only (mark values, percentages, weights), never to numeric answers,
where ``3.14159`` must stay ``3.14159``.

Values leave this module as ``int`` (whole), ``Decimal`` (terminating) or an exact
fraction string such as ``"-1/3"``; never ``float``. A decimal whose exponent is beyond
±100 (``1e999999999``) or that has more than 100 digits is not read as a number at all:
its exact value would be an integer of that many digits, which an upload must not be able
to ask for.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from examvault.domain.marking import NUMERIC_STRING, PRESETS, Marking, parse_mark

Mark = int | Decimal | str

_RECOVERY_DENOMINATORS = (3, 6, 7, 9, 11, 12)
MAX_EXPONENT = 100


def bounded(value: Decimal) -> bool:
    """Whether a decimal is finite, within ±1e100 and at most 100 digits: cheap to make exact."""
    return (
        value.is_finite()
        and -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT
        and len(value.as_tuple().digits) <= MAX_EXPONENT
    )


def parse_decimal(text: str) -> Decimal | None:
    """Read a plain decimal literal exactly, or None when the text is not one."""
    text = text.strip()
    if not NUMERIC_STRING.fullmatch(text):  # the one number grammar: ASCII digits only
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        return None
    return value if bounded(value) else None


def _terminates(denominator: int) -> bool:
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def recover(value: Decimal) -> Fraction:
    """Exact value of a mark written as a decimal, reading clear thirds, sixths… as such."""
    exact = Fraction(value)
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places < 4:
        return exact
    unit = Fraction(1, 10**places)
    for q in _RECOVERY_DENOMINATORS:
        candidate = Fraction(round(exact * q), q)
        if not _terminates(candidate.denominator) and abs(exact - candidate) < unit:
            return candidate
    return exact


def decimal_of(value: Fraction) -> Decimal:
    """The exact Decimal of a fraction that terminates; ValueError for one that does not."""
    if not _terminates(value.denominator):
        raise ValueError(f"{value} has no finite decimal form")
    places = 0
    while (value * 10**places).denominator != 1:
        places += 1
    return Decimal(int(value * 10**places)).scaleb(-places)


def mark_out(value: Fraction) -> Mark:
    """The document form of an exact mark: int, terminating Decimal, or "p/q"."""
    if value.denominator == 1:
        return int(value)
    if _terminates(value.denominator):
        return decimal_of(value)
    return f"{value.numerator}/{value.denominator}"


def number_out(value: Fraction | Decimal) -> int | Decimal:
    """The document form of a numeric answer: int when whole, else an exact Decimal."""
    fraction = Fraction(value)
    if fraction.denominator == 1:
        return int(fraction)
    return decimal_of(fraction)


def decimal_text(value: Fraction | Decimal | int) -> str:
    """Plain decimal notation (no exponent) for a terminating value, as formats expect."""
    return format(decimal_of(Fraction(value)), "f")


def marking_object(
    correct: Fraction,
    wrong: Fraction,
    unanswered: Fraction = Fraction(0),
    partial: str | None = None,
    partial_per_option: Fraction = Fraction(1),
) -> dict[str, Any]:
    """A marking object with only the fields that differ from docs/marking.md's defaults."""
    marking: dict[str, Any] = {"correct": mark_out(correct), "wrong": mark_out(wrong)}
    if unanswered != 0:
        marking["unanswered"] = mark_out(unanswered)
    if partial is not None:
        marking["partial"] = partial
        if partial == "jee_advanced" and partial_per_option != 1:
            marking["partial_per_option"] = mark_out(partial_per_option)
    return marking


def manual_marking(maximum: Fraction) -> dict[str, Any]:
    """The marking of a written answer a person marks, out of ``maximum``."""
    return {"correct": mark_out(maximum), "manual": True}


def resolve_marking(value: str | Mapping[str, Any]) -> Marking:
    """A question's marking as exact values, presets expanded (exporters cannot name presets)."""
    if isinstance(value, str):
        return PRESETS[value]
    return Marking(
        correct=parse_mark(value["correct"]),
        wrong=parse_mark(value.get("wrong", 0)),
        unanswered=parse_mark(value.get("unanswered", 0)),
        partial=value.get("partial", "none"),
        partial_per_option=parse_mark(value.get("partial_per_option", 1)),
    )
