"""Structural check of an exam definition (API.md, "Exams (admin)"), as problem+json errors.

An import must never hand back something the exam server would refuse later, and an
export must not write a file from a broken definition; both call :func:`check`. The
server's own validation stays the authority on what it stores; this check covers the
shape of the document so that each format's reader and writer can rely on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ._draft import ID_PATTERN
from ._marks import PARTIAL_RULES, PRESETS, to_fraction

Errors = list[dict[str, Any]]
_MARK_FIELDS = ("correct", "wrong", "unanswered", "partial_per_option")
_TOP_FIELDS = (
    "id",
    "title",
    "duration_seconds",
    "opens_at",
    "closes_at",
    "grace_seconds",
    "show_result",
    "shuffle",
    "sections",
)


def _error(errors: Errors, loc: list[Any], msg: str) -> None:
    errors.append({"loc": loc, "msg": msg})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, Decimal | float):
        return Decimal(value).is_finite()
    return False


def _check_id(errors: Errors, loc: list[Any], value: object) -> bool:
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return True
    _error(errors, loc, "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
    return False


def _check_time(errors: Errors, loc: list[Any], value: object) -> None:
    if value is None:
        return
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None and "T" in value.upper():
            return
    _error(errors, loc, "must be an RFC 3339 time with offset, or null")


def _check_marking(errors: Errors, loc: list[Any], marking: object) -> None:
    if isinstance(marking, str):
        if marking not in PRESETS:
            _error(errors, loc, f"unknown marking preset {marking!r}")
        return
    if not isinstance(marking, Mapping):
        _error(errors, loc, "must be a marking object or a preset name")
        return
    if "correct" not in marking:
        _error(errors, [*loc, "correct"], "is required")
    for key, value in marking.items():
        if key == "partial":
            if value not in PARTIAL_RULES:
                _error(errors, [*loc, key], f"must be one of {', '.join(PARTIAL_RULES)}")
        elif key in _MARK_FIELDS:
            if not (_is_number(value) or isinstance(value, str)):
                _error(errors, [*loc, key], "must be a number or a fraction string")
                continue
            try:
                to_fraction(value)
            except ValueError as exc:
                _error(errors, [*loc, key], str(exc))
        else:
            _error(errors, [*loc, key], "is not a marking field")


def _check_numeric_answer(errors: Errors, loc: list[Any], answer: object) -> None:
    if not isinstance(answer, Mapping):
        _error(errors, loc, "must be {value}, {value, tolerance} or {min, max}")
        return
    keys = set(answer)
    if keys not in ({"value"}, {"value", "tolerance"}, {"min", "max"}):
        _error(errors, loc, "must be {value}, {value, tolerance} or {min, max}")
        return
    for key in keys:
        if not _is_number(answer[key]):
            _error(errors, [*loc, key], "must be a finite number")
            return
    if "tolerance" in keys and to_fraction(answer["tolerance"]) < 0:
        _error(errors, [*loc, "tolerance"], "must not be negative")
    if "min" in keys and to_fraction(answer["min"]) > to_fraction(answer["max"]):
        _error(errors, loc, "min must not exceed max")


def _check_choice(errors: Errors, loc: list[Any], question: Mapping[str, Any]) -> None:
    options = question.get("options")
    if not isinstance(options, list) or not options:
        _error(errors, [*loc, "options"], "must be a non-empty list")
        return
    ids: set[str] = set()
    for index, option in enumerate(options):
        where = [*loc, "options", index]
        if not isinstance(option, Mapping) or set(option) != {"id", "text"}:
            _error(errors, where, "must be {id, text}")
            continue
        if _check_id(errors, [*where, "id"], option["id"]):
            if option["id"] in ids:
                _error(errors, [*where, "id"], f"duplicate option id {option['id']!r}")
            ids.add(option["id"])
        if not isinstance(option["text"], str):
            _error(errors, [*where, "text"], "must be a string")
    answer = question.get("answer")
    keys = [answer] if question["type"] == "single" and isinstance(answer, str) else answer
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        _error(errors, [*loc, "answer"], "must name the correct option id(s)")
    elif len(set(keys)) != len(keys):
        _error(errors, [*loc, "answer"], "names an option twice")
    elif unknown := [k for k in keys if k not in ids]:
        _error(errors, [*loc, "answer"], f"names unknown options {unknown}")


def _check_question(
    errors: Errors, loc: list[Any], question: object, question_ids: set[str]
) -> None:
    if not isinstance(question, Mapping):
        _error(errors, loc, "must be an object")
        return
    if _check_id(errors, [*loc, "id"], question.get("id")):
        if question["id"] in question_ids:
            _error(errors, [*loc, "id"], f"duplicate question id {question['id']!r}")
        question_ids.add(question["id"])
    allowed = {"id", "type", "text", "options", "answer", "marking"}
    for key in set(question) - allowed:
        _error(errors, [*loc, key], "is not a question field")
    if not isinstance(question.get("text"), str):
        _error(errors, [*loc, "text"], "must be a string")
    kind = question.get("type")
    if kind == "numeric":
        if "options" in question:
            _error(errors, [*loc, "options"], "a numeric question has no options")
        _check_numeric_answer(errors, [*loc, "answer"], question.get("answer"))
    elif kind in ("single", "multiple"):
        _check_choice(errors, loc, question)
    else:
        _error(errors, [*loc, "type"], "must be single, multiple or numeric")
    if "marking" not in question:
        _error(errors, [*loc, "marking"], "is required")
    else:
        _check_marking(errors, [*loc, "marking"], question["marking"])


def _check_settings(errors: Errors, doc: Mapping[str, Any]) -> None:
    if not isinstance(doc.get("title"), str) or not doc["title"].strip():
        _error(errors, ["title"], "must be a non-empty string")
    duration = doc.get("duration_seconds")
    if not _is_int(duration) or duration <= 0:
        _error(errors, ["duration_seconds"], "must be a whole number of seconds above 0")
    grace = doc.get("grace_seconds", 30)
    if not _is_int(grace) or grace < 0:
        _error(errors, ["grace_seconds"], "must be a whole number of seconds, 0 or more")
    if doc.get("show_result", "after_close") not in ("on_submit", "after_close", "never"):
        _error(errors, ["show_result"], "must be on_submit, after_close or never")
    for key in ("opens_at", "closes_at"):
        _check_time(errors, [key], doc.get(key))
    shuffle = doc.get("shuffle", {})
    if not isinstance(shuffle, Mapping) or set(shuffle) - {"questions", "options"}:
        _error(errors, ["shuffle"], "must be {questions: bool, options: bool}")
    elif not all(isinstance(v, bool) for v in shuffle.values()):
        _error(errors, ["shuffle"], "must be {questions: bool, options: bool}")
    for key in set(doc) - set(_TOP_FIELDS):
        _error(errors, [key], "is not an exam field")


def check(doc: object) -> Errors:
    """Every structural error in an exam definition; an empty list when it is sound."""
    errors: Errors = []
    if not isinstance(doc, Mapping):
        _error(errors, [], "an exam definition must be an object")
        return errors
    _check_id(errors, ["id"], doc.get("id"))
    _check_settings(errors, doc)
    sections = doc.get("sections")
    if not isinstance(sections, list) or not sections:
        _error(errors, ["sections"], "must be a non-empty list")
        return errors
    section_ids: set[str] = set()
    question_ids: set[str] = set()
    for s_index, section in enumerate(sections):
        loc: list[Any] = ["sections", s_index]
        if not isinstance(section, Mapping):
            _error(errors, loc, "must be an object")
            continue
        if _check_id(errors, [*loc, "id"], section.get("id")):
            if section["id"] in section_ids:
                _error(errors, [*loc, "id"], f"duplicate section id {section['id']!r}")
            section_ids.add(section["id"])
        if not isinstance(section.get("title"), str):
            _error(errors, [*loc, "title"], "must be a string")
        for key in set(section) - {"id", "title", "questions"}:
            _error(errors, [*loc, key], "is not a section field")
        questions = section.get("questions")
        if not isinstance(questions, list) or not questions:
            _error(errors, [*loc, "questions"], "must be a non-empty list")
            continue
        for q_index, question in enumerate(questions):
            _check_question(errors, [*loc, "questions", q_index], question, question_ids)
    return errors
