"""A QTI item's key and marks, read off the scores of the responses that tell them apart.

:class:`_qti_rp.Scorer` runs the item's response processing; here it is run for no
response, the key, each wrong option alone, and every part of the key, and the marks
follow from the scores:

- ``unanswered`` is the score of no response, ``correct`` that of the key (a single-answer
  item accepts every option that scores as much as the declared correct response);
- ``wrong`` is the score of choosing one wrong option, and every wrong option must score
  the same. A ``mapping`` that sums values would give a candidate who adds a wrong option
  to the whole key more than that: examvault scores any wrong pick as ``wrong``;
- for multiple response, the scores of the parts of the key decide ``partial``: all equal
  to ``wrong`` → ``none``; ``correct × chosen / key size`` → ``proportional``; ``chosen ×
  the score of one key option`` → ``jee_advanced``. Anything else is refused.

For a numeric item, the accepted value or range is found in the processing — one
``match``/``equal`` of the response with the correct response or a constant (an
``equal`` with ``toleranceMode="absolute"`` gives ``value`` and ``tolerance``, a relative
one ``min``/``max``), or one lower and one upper bound (``gte``/``lte``…) — and then
checked by scoring both bounds, the middle, and values outside.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from fractions import Fraction
from typing import Any
from xml.etree.ElementTree import Element

from ._draft import Unsupported
from ._marks import marking_object, number_out
from ._qti_rp import COMPARE, Scorer, Value, number, tolerance_bounds

MAX_KEY = 12
_PHANTOM = "examvault-no-such-choice"


def _distinct(scores: Iterable[Fraction]) -> list[Fraction]:
    return sorted(set(scores))


def choice_marks(
    scorer: Scorer, options: Sequence[str], single: bool
) -> tuple[str | list[str], dict[str, Any]]:
    """The key and marking of a choice item, by scoring the responses this module names."""
    decl = scorer.declaration

    def shaped(chosen: Iterable[str]) -> Value:
        chosen = frozenset(chosen)
        return next(iter(chosen)) if decl.cardinality == "single" else chosen

    alone = {option: scorer.score(shaped([option])) for option in options}
    unanswered = scorer.score(None)
    key = list(decl.correct)
    if not key:
        best = max(alone.values())
        key = [o for o in options if alone[o] == best]
        if len(key) == len(options):
            raise Unsupported("no correct response is declared and no choice scores higher")
    if unknown := [k for k in key if k not in alone]:
        raise Unsupported(f"the correct response names unknown choices {unknown}")
    if single:
        correct = alone[key[0]]
        accepted = [o for o in options if alone[o] == correct]
        wrongs = _distinct(alone[o] for o in options if o not in accepted)
    else:
        correct = scorer.score(shaped(key))
        wrongs = _distinct(alone[o] for o in options if o not in key)
    if not wrongs:
        # Every option is correct, so no real choice is wrong; a choice the item does not
        # have still shows what the processing gives a wrong response.
        wrongs = [scorer.score(shaped([_PHANTOM]))]
    if len(wrongs) > 1:
        raise Unsupported(f"wrong choices score differently ({', '.join(map(str, wrongs))})")
    wrong = wrongs[0]
    if correct <= wrong:
        raise Unsupported("the correct response does not score more than a wrong one")
    if single:
        return (accepted[0] if len(accepted) == 1 else accepted), marking_object(
            correct, wrong, unanswered
        )
    partial, per_option = _partial_rule(scorer, shaped, key, correct, wrong)
    return key, marking_object(correct, wrong, unanswered, partial, per_option)


def _partial_rule(
    scorer: Scorer,
    shaped: Callable[[Iterable[str]], Value],
    key: list[str],
    correct: Fraction,
    wrong: Fraction,
) -> tuple[str, Fraction]:
    if len(key) > MAX_KEY:
        raise Unsupported(f"more than {MAX_KEY} correct choices")
    parts = [
        (len(subset), scorer.score(shaped(subset)))
        for size in range(1, len(key))
        for subset in itertools.combinations(key, size)
    ]
    if all(score == wrong for _, score in parts):
        return "none", Fraction(1)
    if all(score == correct * size / len(key) for size, score in parts):
        return "proportional", Fraction(1)
    per_option = parts[0][1]
    if all(score == size * per_option for size, score in parts):
        return "jee_advanced", per_option
    raise Unsupported("partial credit for part of the key follows no rule examvault has")


def numeric_marks(scorer: Scorer, low: Fraction, high: Fraction) -> dict[str, Any]:
    """The marking of a numeric item whose accepted range is [low, high], checked by scoring."""
    correct = scorer.score(low)
    if scorer.score(high) != correct or scorer.score((low + high) / 2) != correct:
        raise Unsupported("the response processing does not accept the whole declared range")
    step = max(Fraction(1), high - low)
    wrong = scorer.score(low - step)
    if scorer.score(high + step) != wrong or correct <= wrong:
        raise Unsupported("values outside the accepted range do not score one wrong mark")
    return marking_object(correct, wrong, scorer.score(None))


def _is_response(el: Element, response: str) -> bool:
    return el.tag == "variable" and el.get("identifier") == response


def _flipped(tag: str) -> str:
    return {"lt": "gt", "lte": "gte", "gt": "lt", "gte": "lte"}[tag]


def accepted_range(
    processing: Element | None, scorer: Scorer
) -> tuple[Fraction, Fraction, Fraction | None]:
    """(low, high, value) accepted for a numeric item; ``value`` is None for a plain range.

    The comparison is found in the processing — one ``match``/``equal`` of the response
    with the correct response or a constant, or one lower and one upper bound (``gte``,
    ``lte``…) — and :func:`numeric_marks` then checks it by scoring.
    """
    decl = scorer.declaration
    centre = number(decl.correct[0]) if decl.correct else None
    if scorer.template is not None or processing is None:
        if centre is None:
            raise Unsupported("no correct response is declared")
        return centre, centre, centre
    tests: list[tuple[Fraction, Fraction, Fraction | None]] = []
    lows: list[Fraction] = []
    highs: list[Fraction] = []
    for el in processing.iter():
        args = list(el)
        if len(args) != 2:
            continue
        first = _is_response(args[0], decl.response)
        if not first and not _is_response(args[1], decl.response):
            continue
        other = args[1] if first else args[0]
        if el.tag in COMPARE:
            if other.tag == "baseValue":
                tag = el.tag if first else _flipped(el.tag)
                (lows if tag in ("gt", "gte") else highs).append(number(other.text or ""))
            continue
        if el.tag not in ("match", "equal"):
            continue
        target = centre if other.tag == "correct" else None
        if other.tag == "baseValue":
            target = number(other.text or "")
        if target is None:
            continue
        low, high = (target, target) if el.tag == "match" else tolerance_bounds(el, target)
        symmetric = el.tag == "match" or (
            el.get("toleranceMode", "exact") != "relative" and target - low == high - target
        )
        if not first and not symmetric:
            raise Unsupported("<equal> compares a constant with the response asymmetrically")
        tests.append((low, high, target if symmetric else None))
    if len(tests) == 1 and not lows and not highs:
        return tests[0]
    if not tests and len(lows) == 1 and len(highs) == 1 and lows[0] <= highs[0]:
        return lows[0], highs[0], None
    raise Unsupported("cannot tell the accepted value or range from the response processing")


def numeric_answer(low: Fraction, high: Fraction, value: Fraction | None) -> dict[str, Any]:
    """The ``answer`` object: value (and tolerance) when the file states one, else min/max."""
    if value is not None:
        answer: dict[str, Any] = {"value": number_out(value)}
        if high > value:
            answer["tolerance"] = number_out(high - value)
        return answer
    return {"min": number_out(low), "max": number_out(high)}


def text_marks(scorer: Scorer, mapping: Element | None) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The accepted strings and marking of a text entry of text (a matched ``text`` question).

    Accepted: the correct response's values and every mapped string scoring as much; the
    marks are the scores of the first, of a string no one would write, and of no response.
    A string scoring between (partial credit) or a case-sensitive mapping is refused:
    examvault's matched answers are right or wrong and ignore case.
    """
    if mapping is not None and mapping.get("caseSensitive") == "true":
        raise Unsupported("a case-sensitive mapping cannot be mapped (matching ignores case)")
    candidates = list(scorer.declaration.correct)
    candidates += [k for k in (scorer.declaration.mapping or {}) if k not in candidates]
    if not candidates:
        raise Unsupported("no correct response or mapping says which answers are right")
    scores = {text: scorer.score(text) for text in candidates}
    wrong = scorer.score(_PHANTOM)
    correct = max(scores.values())
    if correct <= wrong:
        raise Unsupported("no answer scores more than a wrong one")
    if between := [t for t, s in scores.items() if wrong < s < correct]:
        raise Unsupported(f"the answer {between[0]!r} gets partial credit, which cannot be mapped")
    accepted = tuple(dict.fromkeys(" ".join(t.split()) for t, s in scores.items() if s == correct))
    return accepted, marking_object(correct, wrong, scorer.score(None))
