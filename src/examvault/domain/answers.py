"""Reading a candidate's save body into checked items (docs/api.md, PUT .../answers).

A body with one bad item is refused whole, so every item is checked here, against the
exam, before anything touches storage. An item keeps the response exactly as the client
wrote it (a JSON number stays a number, with all its digits) for the journal, and a
normal form for scoring and for telling a repeat from a change.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from examvault.domain import exact_json
from examvault.domain.exams import Exam, Question
from examvault.domain.marking import Response, is_unanswered, read_number
from examvault.errors import InvalidBody

MAX_SEQ = 2**63 - 1
MAX_TIME_SPENT_MS = 10**12
# A numeric response is any finite decimal of at most this many characters (as sent). The
# bound keeps the stored journal small and the number grammar's regex cheap: it runs in
# time quadratic in the length, and a 1 MiB string of digits would hold a CPU for hours.
MAX_NUMBER_CHARS = 100
_ITEM_FIELDS = {"question_id", "response", "seq", "marked_for_review", "time_spent_ms"}


@dataclass(frozen=True, slots=True)
class Item:
    """One checked change to one question."""

    question_id: str
    seq: int
    response: Response
    response_json: str | None
    marked: bool
    time_spent_ms: int | None

    def same_content(self, response: Response, marked: bool) -> bool:
        """A repeat: same response (numbers compared as decimals) and review mark."""
        return self.response == response and self.marked == marked


def _quoted(text: str) -> str:
    """A client's string for an error message, cut short: a problem never echoes a huge input."""
    if len(text) <= 64:  # the longest identifier there is
        return repr(text)
    return f"{text[:64]!r}… ({len(text)} characters)"


def encode_response(value: Any) -> str:
    """The response as JSON text, numbers written with exactly the digits received."""
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return str(value)
    return orjson.dumps(value).decode()


def decode_response(question: Question, text: str | None) -> Response:
    """The normal form of a stored response."""
    if text is None:
        return None
    return normal_form(question, exact_json.loads(text))


def normal_form(question: Question, raw: Any) -> Response:
    """The form scoring and repeat detection use; assumes `raw` was checked.

    A text is kept NFC-normalised, not folded: a change of case or spacing is a change
    of content (journaled, and shown to a marker), though matching ignores it."""
    if is_unanswered(raw):
        return None
    if question.type == "text":
        assert isinstance(raw, str)
        return unicodedata.normalize("NFC", raw) if raw.strip() else None
    if question.type == "single":
        return str(raw)
    if question.type == "multiple":
        return frozenset(raw)
    return read_number(raw)


def check_response(question: Question, raw: Any) -> str | None:
    """Why a response does not fit its question, or None when it does."""
    if is_unanswered(raw):
        if isinstance(raw, list) and question.type != "multiple":
            return "[] clears only a multiple question; use null"
        return None
    if question.type == "text":
        return _check_text(question, raw)
    if question.type == "single":
        if not isinstance(raw, str):
            return "a single-choice response is one option id"
        if raw not in question.option_ids:
            return f"unknown option {_quoted(raw)}"
        return None
    if question.type == "multiple":
        if not isinstance(raw, list) or not all(isinstance(o, str) for o in raw):
            return "a multiple-choice response is a list of option ids"
        unknown = [o for o in raw if o not in question.option_ids]
        if unknown:
            return f"unknown option {_quoted(unknown[0])}"
        if len(set(raw)) != len(raw):
            return "an option is listed twice"
        return None
    if isinstance(raw, str | Decimal | int) and len(str(raw)) > MAX_NUMBER_CHARS:
        return f"a numeric response has at most {MAX_NUMBER_CHARS} characters"
    try:
        read_number(raw)
    except ValueError as exc:
        return f"a numeric response is a number or a numeric string: {exc}"
    return None


def _check_text(question: Question, raw: Any) -> str | None:
    if not isinstance(raw, str):
        return "a text response is a string"
    # Counted after NFC (docs/api.md): "é" is one character however it was typed. The
    # body's size limit bounds the work of normalising.
    length = len(unicodedata.normalize("NFC", raw))
    if length > question.max_chars:
        return f"a text response has at most {question.max_chars} characters (got {length})"
    return None


def parse_items(
    exam: Exam,
    body: Any,
    *,
    required: bool,
    max_items: int,
    left_out: frozenset[str] = frozenset(),
) -> list[Item]:
    """Check a body `{"answers": [...]}` against the exam; raise InvalidBody naming each fault.

    `left_out`: questions of pools this candidate was not given; to the candidate they
    do not exist, so they are refused as unknown.
    """
    if body is None and not required:
        return []
    if not isinstance(body, dict):
        raise InvalidBody([{"loc": ["body"], "msg": 'expected an object {"answers": [...]}'}])
    extra = sorted(set(body) - {"answers"})
    if extra:
        raise InvalidBody([{"loc": ["body", extra[0]], "msg": "unknown field"}])
    if "answers" not in body:
        if required:
            raise InvalidBody([{"loc": ["body", "answers"], "msg": "field required"}])
        return []
    items_in = body["answers"]
    if not isinstance(items_in, list):
        raise InvalidBody([{"loc": ["body", "answers"], "msg": "expected a list"}])
    if len(items_in) > max_items:
        raise InvalidBody(
            [{"loc": ["body", "answers"], "msg": f"at most {max_items} items in one request"}]
        )
    errors: list[dict[str, Any]] = []
    items: list[Item] = []
    for i, raw in enumerate(items_in):
        item = _parse_item(exam, raw, ["body", "answers", i], errors, left_out)
        if item is not None:
            items.append(item)
    if errors:
        raise InvalidBody(errors)
    return items


def _parse_item(
    exam: Exam,
    raw: Any,
    loc: list[Any],
    errors: list[dict[str, Any]],
    left_out: frozenset[str],
) -> Item | None:
    if not isinstance(raw, dict):
        errors.append({"loc": loc, "msg": "expected an object"})
        return None
    n_before = len(errors)
    for name in sorted(set(raw) - _ITEM_FIELDS):
        errors.append({"loc": [*loc, name], "msg": "unknown field"})
    qid = raw.get("question_id")
    question = exam.by_id.get(qid) if isinstance(qid, str) and qid not in left_out else None
    if question is None:
        if "question_id" not in raw:
            msg = "field required"
        elif isinstance(qid, str):
            msg = f"unknown question {_quoted(qid)}"
        else:
            msg = "a question id is a string"
        errors.append({"loc": [*loc, "question_id"], "msg": msg})
    seq = raw.get("seq")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        errors.append({"loc": [*loc, "seq"], "msg": "seq is a positive integer"})
    marked = raw.get("marked_for_review", False)
    if not isinstance(marked, bool):
        errors.append({"loc": [*loc, "marked_for_review"], "msg": "expected true or false"})
    spent = raw.get("time_spent_ms")
    if spent is not None and (type(spent) is not int or not 0 <= spent <= MAX_TIME_SPENT_MS):
        errors.append({"loc": [*loc, "time_spent_ms"], "msg": "a non-negative integer"})
    if "response" not in raw:
        errors.append({"loc": [*loc, "response"], "msg": "field required"})
    elif question is not None:
        why = check_response(question, raw["response"])
        if why:
            errors.append({"loc": [*loc, "response"], "msg": why})
    if len(errors) > n_before or question is None or type(seq) is not int:
        return None
    response = normal_form(question, raw["response"])
    stored = None if response is None else raw["response"]
    return Item(
        question_id=question.id,
        seq=seq,
        response=response,
        response_json=None if stored is None else encode_response(stored),
        marked=marked,
        time_spent_ms=spent,
    )
