"""A small evaluator for QTI response processing, so marks can be read by scoring.

QTI states an item's marks as a program (``responseProcessing``), not as fields. Rather
than recognise a few spellings of that program, :class:`Scorer` runs it: the standard
templates (``match_correct``, ``map_response`` and their CC2 twins), inline copies of
them, and custom processing built from the common operators (conditions, ``match``,
``equal`` with tolerances, comparisons, ``and``/``or``/``not``, ``isNull``, ``member``,
``contains``, ``containerSize``, ``mapResponse``, arithmetic). Processing that uses any
other operator refuses the item, naming the operator. An item without response
processing is scored as ``match_correct``; with ``match_correct``, a declared ``MAXSCORE``
outcome is what a score of 1 stands for.

Mapped values, default values and values set as a score are marks and pass through
``_marks.recover`` (so ``0.3333333`` is a third); numbers compared with the response are
not. All arithmetic is exact (``Fraction``). ``_qti_marks`` turns scores into marking.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any
from xml.etree.ElementTree import Element

from ._draft import Unsupported
from ._marks import parse_decimal, recover

Value = None | bool | str | Fraction | frozenset[Any]


@dataclass(frozen=True)
class Declaration:
    """What the processing reads: the response's declaration and the outcomes' defaults."""

    response: str
    cardinality: str
    base_type: str
    correct: tuple[str, ...]
    mapping: dict[str, Fraction] | None = None
    mapping_default: Fraction = Fraction(0)
    lower: Fraction | None = None
    upper: Fraction | None = None
    outcomes: dict[str, Value] = field(default_factory=dict)


def _sets_score(processing: Element | None) -> None:
    """Refuse custom processing that never sets ``SCORE``: its marks would all read as 0."""
    targets = (
        []
        if processing is None
        else [e.get("identifier", "") for e in processing.iter() if e.tag == "setOutcomeValue"]
    )
    if "SCORE" not in targets:
        others = ", ".join(dict.fromkeys(targets)) or "no outcome at all"
        raise Unsupported(
            f"its response processing sets no SCORE (it sets {others}), so its marks are unknown"
        )


class _Exit(Exception):
    """``exitResponse``: stop processing, keep the outcomes set so far."""


def number(text: str, *, mark: bool = False) -> Fraction:
    """A QTI float/integer value exactly; marks are read with fraction recovery."""
    value = parse_decimal(text)
    if value is None:
        raise Unsupported(f"{text.strip()!r} is not a number")
    return recover(value) if mark else Fraction(value)


def _template_name(processing: Element | None) -> str | None:
    if processing is None:
        return "match_correct"
    uri = processing.get("template") or processing.get("templateLocation")
    if not uri or len(processing):
        return None
    # Template names are matched case-insensitively: Common Cartridge writes CC2_match.
    name = uri.rstrip("/").rsplit("/", 1)[-1].lower().removesuffix(".xml")
    return {"cc2_match": "match_correct", "cc2_match_basic": "match_correct"}.get(
        name, "map_response" if name == "cc2_map_response" else name
    )


class Scorer:
    """Scores responses by an item's response processing."""

    def __init__(self, processing: Element | None, declaration: Declaration) -> None:
        self.declaration = declaration
        self.template = _template_name(processing)
        if self.template not in (None, "match_correct", "map_response"):
            raise Unsupported(f"the response processing template {self.template!r} is not read")
        self._rules = [] if processing is None else list(processing)
        if self.template is None:
            _sets_score(processing)
        self.scale = Fraction(1)
        maxscore = declaration.outcomes.get("MAXSCORE")
        if self.template == "match_correct" and isinstance(maxscore, Fraction) and maxscore > 0:
            self.scale = maxscore

    def score(self, response: Value) -> Fraction:
        """The SCORE outcome for ``response`` (None: no response)."""
        if self.template == "match_correct":
            return self.scale if _truthy(self._match(response, self._correct())) else Fraction(0)
        if self.template == "map_response":
            return Fraction(0) if _null(response) else self._map(response)
        state: dict[str, Value] = dict(self.declaration.outcomes)
        state.setdefault("SCORE", Fraction(0))
        state[self.declaration.response] = None if _null(response) else response
        with contextlib.suppress(_Exit):
            self._run(self._rules, state)
        result = state.get("SCORE")
        return result if isinstance(result, Fraction) else Fraction(0)

    def _correct(self) -> Value:
        decl = self.declaration
        values = [self._value(v, decl.base_type) for v in decl.correct]
        if not values:
            return None
        return values[0] if decl.cardinality == "single" else frozenset(values)

    def _value(self, text: str, base_type: str | None, mark: bool = False) -> Value:
        if base_type in ("identifier", "string"):
            return text.strip()
        if base_type in ("float", "integer"):
            return number(text, mark=mark)
        if base_type == "boolean":
            return text.strip() in ("true", "1")
        raise Unsupported(f"the response processing uses {base_type} values, which are not read")

    def _map(self, response: Value) -> Fraction:
        decl = self.declaration
        if decl.mapping is None:
            raise Unsupported("mapResponse is used but the response declares no mapping")
        mapping = decl.mapping
        if decl.base_type in ("float", "integer"):
            mapping = {str(number(k)): v for k, v in mapping.items()}
        members = response if isinstance(response, frozenset) else frozenset([response])
        total = sum((mapping.get(str(m), decl.mapping_default) for m in members), Fraction(0))
        if decl.lower is not None:
            total = max(total, decl.lower)
        if decl.upper is not None:
            total = min(total, decl.upper)
        return total

    def _run(self, rules: Iterable[Element], state: dict[str, Value]) -> None:
        for rule in rules:
            if rule.tag == "responseCondition":
                for branch in rule:
                    if branch.tag in ("responseIf", "responseElseIf"):
                        condition, *body = _at_least(branch, 1)
                        if _truthy(self._expr(condition, state)):
                            self._run(body, state)
                            break
                    elif branch.tag == "responseElse":
                        self._run(list(branch), state)
                        break
            elif rule.tag == "setOutcomeValue":
                state[rule.get("identifier", "")] = self._expr(_only(rule), state, mark=True)
            elif rule.tag == "responseProcessingFragment":
                self._run(list(rule), state)
            elif rule.tag == "exitResponse":
                raise _Exit
            else:
                raise Unsupported(f"the response processing uses <{rule.tag}>, which is not read")

    def _expr(self, el: Element, state: dict[str, Value], mark: bool = False) -> Value:
        tag = el.tag
        if tag == "baseValue":
            return self._value(el.text or "", el.get("baseType"), mark)
        if tag == "variable":
            return state.get(el.get("identifier", ""))
        if tag == "correct":
            return self._correct()
        if tag == "default":
            return self.declaration.outcomes.get(el.get("identifier", ""))
        if tag == "mapResponse":
            response = state.get(self.declaration.response)
            return Fraction(0) if _null(response) else self._map(response)
        if tag == "null":
            return None
        if tag in _ARITHMETIC:
            args = [self._expr(child, state, mark) for child in _at_least(el, 1)]
            if any(not isinstance(a, Fraction) for a in args) or not args:
                return None
            return _ARITHMETIC[tag]([a for a in args if isinstance(a, Fraction)])
        args = [self._expr(child, state) for child in _at_least(el, _ARITY.get(tag, 0))]
        if tag == "isNull":
            return _null(args[0])
        if tag == "match":
            return self._match(args[0], args[1])
        if tag == "equal":
            return _equal(el, args[0], args[1])
        if tag == "stringMatch":
            return _string_match(el, args[0], args[1])
        if tag in COMPARE:
            a, b = args
            if not isinstance(a, Fraction) or not isinstance(b, Fraction):
                return None
            return COMPARE[tag](a, b)
        if tag in ("and", "or", "not"):
            return _logic(tag, args)
        if tag == "multiple":
            return frozenset(_flatten(args))
        if tag == "member":
            return None if _null(args[0]) or args[1] is None else args[0] in _members(args[1])
        if tag == "contains":
            return (
                None if _null(args[0]) or _null(args[1]) else _members(args[1]) <= _members(args[0])
            )
        if tag == "containerSize":
            return Fraction(len(_members(args[0])))
        raise Unsupported(f"the response processing uses <{tag}>, which is not read")

    def _match(self, a: Value, b: Value) -> Value:
        if _null(a) or _null(b):
            return None
        return _members(a) == _members(b)


_ARITY = {"isNull": 1, "not": 1, "containerSize": 1, "match": 2, "equal": 2, "member": 2}
_ARITY.update({"contains": 2, "lt": 2, "lte": 2, "gt": 2, "gte": 2, "stringMatch": 2})


def _string_match(el: Element, a: Value, b: Value) -> Value:
    """``stringMatch``: equal strings, ignoring case when ``caseSensitive`` is false."""
    if el.get("substring") == "true":
        raise Unsupported("<stringMatch substring> (a part of the answer) cannot be mapped")
    if not isinstance(a, str) or not isinstance(b, str):
        return None
    if el.get("caseSensitive", "true") != "true":
        return a.casefold() == b.casefold()
    return a == b


def _at_least(el: Element, count: int) -> list[Element]:
    children = list(el)
    if len(children) < count:
        raise Unsupported(f"<{el.tag}> needs {count} expression(s)")
    return children


def _only(el: Element) -> Element:
    children = list(el)
    if len(children) != 1:
        raise Unsupported(f"<{el.tag}> must hold exactly one expression")
    return children[0]


def _null(value: Value) -> bool:
    return value is None or value == frozenset()


def _truthy(value: Value) -> bool:
    return value is True


def _members(value: Value) -> frozenset[Any]:
    if value is None:
        return frozenset()
    return value if isinstance(value, frozenset) else frozenset([value])


def _flatten(values: Sequence[Value]) -> Iterable[Any]:
    for value in values:
        yield from _members(value)


def _logic(tag: str, args: list[Value]) -> Value:
    if tag == "not":
        return None if args[0] is None else args[0] is not True
    if tag == "and":
        return False if any(a is False for a in args) else (None if None in args else True)
    return True if any(a is True for a in args) else (None if None in args else False)


def _product(values: list[Fraction]) -> Fraction:
    result = Fraction(1)
    for value in values:
        result *= value
    return result


_ARITHMETIC: dict[str, Callable[[list[Fraction]], Value]] = {
    "sum": lambda v: sum(v, Fraction(0)),
    "product": _product,
    "subtract": lambda v: v[0] - v[1] if len(v) == 2 else None,
    "divide": lambda v: None if len(v) != 2 or v[1] == 0 else v[0] / v[1],
}
COMPARE: dict[str, Callable[[Fraction, Fraction], bool]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}


def tolerance_bounds(el: Element, target: Fraction) -> tuple[Fraction, Fraction]:
    """The interval ``equal`` accepts around ``target`` (inclusive; exclusive bounds refused)."""
    mode = el.get("toleranceMode", "exact")
    if mode == "exact":
        return target, target
    if (
        el.get("includeLowerBound", "true") != "true"
        or el.get("includeUpperBound", "true") != "true"
    ):
        raise Unsupported("the accepted range excludes its bounds; examvault's ranges include them")
    parts = (el.get("tolerance") or "").split()
    if not parts or len(parts) > 2:
        raise Unsupported("<equal> has no usable tolerance")
    low_t, high_t = number(parts[0]), number(parts[-1])
    if mode == "absolute":
        return target - low_t, target + high_t
    if mode == "relative":
        ends = (target * (1 - low_t / 100), target * (1 + high_t / 100))
        return min(ends), max(ends)
    raise Unsupported(f"<equal> uses toleranceMode {mode!r}")


def _equal(el: Element, a: Value, b: Value) -> Value:
    if not isinstance(a, Fraction) or not isinstance(b, Fraction):
        return None
    low, high = tolerance_bounds(el, b)
    return low <= a <= high
