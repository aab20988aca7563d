"""Scoring rules of docs/marking.md, exact and pure.

Marks are `Fraction`s and numeric answers `Decimal`s, so that three GATE-style wrong
answers at -1/3 total exactly -1 and a JSON `0.1` is the decimal 0.1. Nothing here reads
a clock, a setting or a database: every function takes values and returns values, which
is what lets hypothesis check the rules and lets a recomputation from the journal come
out identical to the score kept while the exam ran.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, Inexact, InvalidOperation, localcontext
from fractions import Fraction
from typing import Literal

# "pending": an answered manual question no one has marked yet. It is not one of the
# four reported outcomes (docs/marking.md): it counts in none of them until marked.
Outcome = Literal["correct", "partial", "wrong", "unanswered", "pending"]
OUTCOMES: tuple[Outcome, ...] = ("correct", "partial", "wrong", "unanswered")
PartialRule = Literal["none", "jee_advanced", "proportional"]
QuestionType = Literal["single", "multiple", "numeric", "text"]
DEFAULT_STEP = Fraction(1, 2)
Bonus = Literal["all", "answered"]

# A numeric response written as a string must look like a plain decimal number: no
# spaces, no `_`, no NaN or Infinity (docs/api.md). `fullmatch` keeps it anchored.
# ASCII digits only: Python's \d would also accept Arabic-Indic or full-width digits.
# Written so that no digit can be matched two ways: the obvious `[0-9]+\.?[0-9]*`
# backtracks quadratically on a long run of digits.
NUMERIC_STRING = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_FRACTION_STRING = re.compile(r"\s*[+-]?[0-9]{1,30}\s*/\s*[0-9]{1,30}\s*")
# Marks and keys come from exam authors; bounding them keeps exact arithmetic cheap
# (an exponent of a billion would otherwise build a billion-digit integer).
MAX_MARK_EXPONENT = 30
MAX_KEY_EXPONENT = 1000
MAX_KEY_DIGITS = 100


class MarkError(ValueError):
    """A mark or key that cannot be read exactly."""


def parse_mark(value: object) -> Fraction:
    """Read a mark given as a number or as a fraction string such as "-1/3"."""
    if isinstance(value, bool):
        raise MarkError('a mark is a number or a fraction such as "-1/3", not a boolean')
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        return Fraction(_bounded_mark(value))
    if isinstance(value, float):
        # Only reachable from Python callers: JSON and YAML are read as Decimal.
        return Fraction(_bounded_mark(Decimal(repr(value))))
    if isinstance(value, str):
        text = value.strip()
        if _FRACTION_STRING.fullmatch(text):
            num, den = text.split("/")
            if int(den) == 0:
                raise MarkError(f"{value!r} divides by zero")
            return Fraction(int(num), int(den))
        if NUMERIC_STRING.fullmatch(text):
            return Fraction(_bounded_mark(Decimal(text)))
        raise MarkError(f'{value!r} is not a number or a fraction such as "-1/3"')
    raise MarkError('a mark is a number or a fraction such as "-1/3"')


def _bounded_mark(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise MarkError("a mark must be finite")
    if value and abs(value.adjusted()) > MAX_MARK_EXPONENT:
        raise MarkError(f"a mark must lie within ±1e{MAX_MARK_EXPONENT}")
    return value


def bounded_key(value: Decimal) -> Decimal:
    """A numeric key value, refused when it is too large or long to compare cheaply."""
    if not value.is_finite():
        raise MarkError("a numeric key must be finite")
    if len(value.as_tuple().digits) > MAX_KEY_DIGITS or (
        value and abs(value.adjusted()) > MAX_KEY_EXPONENT
    ):
        raise MarkError(
            f"a numeric key has at most {MAX_KEY_DIGITS} digits, within ±1e{MAX_KEY_EXPONENT}"
        )
    return value


@dataclass(frozen=True, slots=True)
class Marking:
    """How many marks each outcome of one question gives."""

    correct: Fraction
    wrong: Fraction = Fraction(0)
    unanswered: Fraction = Fraction(0)
    partial: PartialRule = "none"
    partial_per_option: Fraction = Fraction(1)


PRESETS: dict[str, Marking] = {
    "plus4_minus1": Marking(correct=Fraction(4), wrong=Fraction(-1)),
    "plus4": Marking(correct=Fraction(4)),
    "jee_advanced_multi": Marking(correct=Fraction(4), wrong=Fraction(-2), partial="jee_advanced"),
    "gate_mcq_1": Marking(correct=Fraction(1), wrong=Fraction(-1, 3)),
    "gate_mcq_2": Marking(correct=Fraction(2), wrong=Fraction(-2, 3)),
    "gate_msq_1": Marking(correct=Fraction(1)),
    "gate_msq_2": Marking(correct=Fraction(2)),
    "gate_nat_1": Marking(correct=Fraction(1)),
    "gate_nat_2": Marking(correct=Fraction(2)),
    "cat_mcq": Marking(correct=Fraction(3), wrong=Fraction(-1)),
    "cat_tita": Marking(correct=Fraction(3)),
}


@dataclass(frozen=True, slots=True)
class NumericKey:
    """An inclusive range; `{"value", "tolerance"}` is stored as value ± tolerance."""

    low: Decimal
    high: Decimal

    def accepts(self, x: Decimal) -> bool:
        """Whether x lies in the range; Decimal comparison is exact at any precision."""
        return self.low <= x <= self.high


def numeric_key(value: Decimal, tolerance: Decimal = Decimal(0)) -> NumericKey:
    """Turn value ± tolerance into exact bounds, refusing a sum that would round."""
    bounded_key(value)
    bounded_key(tolerance)
    if tolerance < 0:
        raise MarkError("tolerance must not be negative")
    with localcontext() as ctx:
        ctx.prec = 10_000
        ctx.traps[Inexact] = True
        try:
            return NumericKey(low=value - tolerance, high=value + tolerance)
        except (Inexact, InvalidOperation) as exc:
            raise MarkError("value and tolerance are too far apart to add exactly") from exc


Key = frozenset[str] | NumericKey


@dataclass(frozen=True, slots=True)
class Rule:
    """Everything needed to score one question: its type, key and marking.

    `key` is the set of accepted option ids for `single`, the exact key set for
    `multiple`, a `NumericKey` for `numeric`, and the accepted strings (`fold`ed) for a
    matched `text` question; empty for a manual one. `dropped` is set by a key change that
    drops the question (docs/marking.md, Key changes).
    """

    type: QuestionType
    key: Key
    marking: Marking
    dropped: Bonus | None = None
    # A manual `text` question: no key, a person gives a mark in steps of `step`.
    manual: bool = False
    step: Fraction = DEFAULT_STEP

    def evolve(self, **changes: object) -> Rule:
        """A copy with some fields changed; rules are shared between cached exams."""
        return replace(self, **changes)  # type: ignore[arg-type]


# A response after validation: None (unanswered), an option id or a text (NFC), a set of
# option ids, or a Decimal. Validation lives in `answers.py`; scoring assumes it has been done.
Response = None | str | frozenset[str] | Decimal


def is_unanswered(response: object) -> bool:
    """null, "" and [] all mean the question is not answered."""
    return (
        response is None
        or response == ""
        or (isinstance(response, (list, tuple, frozenset, set)) and len(response) == 0)
    )


def read_number(value: object) -> Decimal:
    """Read a numeric response exactly, or raise ValueError saying why not."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite number")
        return value
    if isinstance(value, float):
        raise ValueError("numbers are read as decimals; pass a Decimal or a string")
    if isinstance(value, str):
        if not NUMERIC_STRING.fullmatch(value):
            raise ValueError("not a number: digits with an optional sign, point and exponent")
        try:
            return Decimal(value)
        except ArithmeticError:  # an exponent beyond what a decimal can hold
            raise ValueError("the number is out of range") from None
    raise ValueError("expected a number or a numeric string")


def fold(text: str) -> str:
    """A text as matched answers compare it: NFC, trimmed, each run of whitespace one
    space (what `str.split()` splits on), Unicode casefold (NFC again: folding can
    decompose)."""
    words = unicodedata.normalize("NFC", text).split()
    return unicodedata.normalize("NFC", " ".join(words).casefold())


def score(rule: Rule, response: Response, mark: Fraction | None = None) -> tuple[Outcome, Fraction]:
    """The outcome and exact score of one stored response under one rule.

    `mark` is a person's mark of an answered manual question; without one such a
    question is `pending` and scores 0 (docs/marking.md, Written answers).
    """
    marking = rule.marking
    answered = not is_unanswered(response)
    if rule.dropped == "all" or (rule.dropped == "answered" and answered):
        return "correct", marking.correct
    if not answered:
        return "unanswered", marking.unanswered
    if rule.manual:
        if mark is None:
            return "pending", Fraction(0)
        if mark == marking.correct:
            return "correct", mark
        return ("wrong", mark) if mark == 0 else ("partial", mark)
    if rule.type == "text":
        assert isinstance(rule.key, frozenset) and isinstance(response, str)
        return (
            ("correct", marking.correct) if fold(response) in rule.key else ("wrong", marking.wrong)
        )
    if rule.type == "numeric":
        assert isinstance(rule.key, NumericKey) and isinstance(response, Decimal)
        return (
            ("correct", marking.correct)
            if rule.key.accepts(response)
            else (
                "wrong",
                marking.wrong,
            )
        )
    assert isinstance(rule.key, frozenset)
    if rule.type == "single":
        return ("correct", marking.correct) if response in rule.key else ("wrong", marking.wrong)
    assert isinstance(response, frozenset)
    return _score_multiple(rule.key, marking, response)


def check_mark(rule: Rule, mark: Fraction) -> str | None:
    """Why a person's mark does not fit a manual question, or None when it does."""
    if not rule.manual:
        return "the question is not marked by hand"
    if not 0 <= mark <= rule.marking.correct:
        return f"a mark lies within 0..{rule.marking.correct}"
    if (mark / rule.step).denominator != 1:
        return f"a mark is a multiple of {rule.step}"
    return None


def _score_multiple(
    key: frozenset[str], marking: Marking, chosen: frozenset[str]
) -> tuple[Outcome, Fraction]:
    if chosen == key:
        return "correct", marking.correct
    if marking.partial == "none" or not chosen < key:
        return "wrong", marking.wrong
    if marking.partial == "jee_advanced":
        return "partial", len(chosen) * marking.partial_per_option
    return "partial", marking.correct * len(chosen) / len(key)


def round_half_away(value: Fraction, places: int) -> Decimal:
    """Round an exact value half away from zero: the only rounding this API does."""
    scale = 10**places
    magnitude = abs(value) * scale
    whole = int(magnitude + Fraction(1, 2))  # floor(|x| + 1/2) rounds halves up
    signed = -whole if value < 0 else whole
    return Decimal(f"{signed}E-{places}")  # exact at any size, unlike scaleb()


def total(scores: Iterable[Fraction]) -> Fraction:
    """The exact sum of question scores."""
    return sum(scores, Fraction(0))
