"""Moodle's grading semantics, shared by the GIFT and Moodle XML readers.

Moodle gives each answer of a question a *fraction* of the question's mark (GIFT writes
it as a ``%weight%``, Moodle XML as ``fraction="…"``, both in percent). Our questions have
one ``correct`` mark, one ``wrong`` mark and a partial-credit rule, so the fractions are
mapped as follows (the question's mark is ``defaultgrade`` in Moodle XML; GIFT has none,
so it is 1, Moodle's default):

Single answer (Moodle ``single`` true; GIFT answers with ``=``)
    Every answer at 100% is accepted (one → the key, several → a list of accepted keys).
    All other answers must carry the same fraction, 0 or negative: that fraction of the
    mark is the ``wrong`` mark (``-33.33333`` of a 3-mark question → ``wrong: -1``).
    Answers with partial credit (between 0 and 100%) or with differing penalties cannot be
    expressed, and the question is refused.

Multiple answers (Moodle ``single`` false; GIFT with no ``=`` answer)
    The answers with positive fractions are the key. They must add up to 100% and be equal
    shares: then the question is ``multiple`` with ``partial: "proportional"`` (``none``
    when there is one correct answer), which is exactly Moodle's credit for a candidate who
    picks only correct answers. Unequal shares are refused (our rule gives every correct
    option the same share). Moodle never scores a multiple-answer question below zero, so
    ``wrong`` is 0; note that where Moodle would still give partial credit to a candidate
    who also picked a wrong answer, examvault scores the ``wrong`` mark.

Moodle's ``penalty`` (the deduction for each further try in interactive quizzes) does not
apply to an exam, where each question is answered once: it is ignored.

Category paths (``$course$/top/Physics/Mechanics``) become sections: the context prefix
(``$course$``, ``$system$``…) and ``top`` are dropped, the last component is the section's
title and gives its id, and each distinct path is its own section.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from ._draft import DEFAULT_SECTION, Unsupported
from ._marks import decimal_of, marking_object

ONE = Fraction(1)
_SHARE_SLACK = Fraction(1, 10_000)  # 7.69231% × 13 must still count as 100%


def percent(value: Fraction) -> str:
    """A fraction of the mark as Moodle shows it, e.g. ``-33.33333%``, for messages."""
    scaled = value * 100
    if scaled.denominator == 1:
        return f"{scaled.numerator}%"
    return f"{round(float(scaled), 5):g}%"


def category_section(path: str) -> tuple[str, str, str]:
    """(key, id source, title) of the section for a Moodle category path."""
    parts = [part.replace("//", "/").strip() for part in re.split(r"(?<!/)/(?!/)", path)]
    parts = [part for part in parts if part and not re.fullmatch(r"\$\w+\$", part)]
    if parts and parts[0] == "top":
        parts = parts[1:]
    if not parts:
        key, title = DEFAULT_SECTION
        return key, key, title
    return "/".join(parts), parts[-1], parts[-1]


def single_answer(weights: list[Fraction], grade: Fraction) -> tuple[list[int], dict[str, Any]]:
    """Key positions and marking of a single-answer question from its answers' fractions."""
    keys = [index for index, weight in enumerate(weights) if weight == ONE]
    if not keys:
        raise Unsupported("no answer is fully correct (100%)")
    partial = [w for w in weights if 0 < w < ONE]
    if partial:
        raise Unsupported(
            f"an answer gives partial credit ({percent(partial[0])}), which a "
            "single-answer question cannot express"
        )
    if any(w > ONE for w in weights):
        raise Unsupported("an answer gives more than 100%")
    penalties = sorted({w for w in weights if w <= 0})
    if len(penalties) > 1:
        shown = ", ".join(percent(p) for p in penalties)
        raise Unsupported(
            f"wrong answers carry different penalties ({shown}); examvault has one wrong mark"
        )
    wrong = penalties[0] if penalties else Fraction(0)
    return keys, marking_object(grade, grade * wrong)


def multiple_answer(weights: list[Fraction], grade: Fraction) -> tuple[list[int], dict[str, Any]]:
    """Key positions and marking of a multiple-answer question from its answers' fractions."""
    keys = [index for index, weight in enumerate(weights) if weight > 0]
    if not keys:
        raise Unsupported("no answer carries any credit")
    shares = {weights[index] for index in keys}
    total = sum((weights[index] for index in keys), Fraction(0))
    if abs(total - ONE) > _SHARE_SLACK:
        raise Unsupported(f"the correct answers add up to {percent(total)}, not 100%")
    if len(shares) > 1:
        shown = ", ".join(percent(weights[index]) for index in keys)
        raise Unsupported(
            f"the correct answers carry unequal credit ({shown}); examvault gives every "
            "correct option the same share"
        )
    partial = "proportional" if len(keys) > 1 else "none"
    return keys, marking_object(grade, Fraction(0), partial=partial)


def rounded_percent(weight: Fraction) -> str:
    """``weight`` × 100 written with at most 5 decimals, as Moodle writes fractions."""
    scaled = weight * 100
    digits = 0
    while (scaled * 10**digits).denominator != 1 and digits < 5:
        digits += 1
    return format(decimal_of(round(scaled, digits)), "f")
