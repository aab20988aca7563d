"""Scripts: a submitted attempt's answer to one manual question, as a marker sees it.

A marker must not learn whose script it is (docs/marking.md, Anonymity). A script id is
an HMAC of the attempt and question ids under a secret the exam keeps on the server:
stable (the same script always has the same id, across processes and restarts), and
revealing nothing — two scripts of one candidate share no visible part, and no id can
be guessed from another. Scripts are listed in the order of their ids, which follows
neither the candidates' ids nor their submit times. Pure: the secret is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from examvault.domain import marking
from examvault.domain.exams import Exam
from examvault.errors import InvalidBody

MAX_MARKS = 500
MAX_COMMENT_CHARS = 5_000
SCRIPT_ID_CHARS = 24  # 120 bits of an HMAC-SHA-256 in base32: unguessable and short
Status = Literal["unmarked", "marked", "all"]


def new_secret() -> str:
    """A fresh per-exam secret: 256 random bits."""
    return secrets.token_hex(32)


def script_id(secret: str, attempt_id: str, question_id: str) -> str:
    """The opaque, stable id of one attempt's answer to one question."""
    digest = hmac.new(
        bytes.fromhex(secret), f"{attempt_id}\0{question_id}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest[:15]).decode().lower()[:SCRIPT_ID_CHARS]


@dataclass(frozen=True, slots=True)
class MarkItem:
    """One mark of a PUT .../marks body, checked for shape (not yet against its script)."""

    index: int
    script_id: str
    mark: Fraction
    comment: str | None


def parse_marks(body: Any) -> list[MarkItem]:
    """Check `{"marks": [{"script_id", "mark", "comment"?}]}`; 422 naming each fault."""
    if not isinstance(body, dict) or not isinstance(body.get("marks"), list):
        raise InvalidBody([{"loc": ["body", "marks"], "msg": 'expected {"marks": [...]}'}])
    faults: list[dict[str, Any]] = [
        {"loc": ["body", k], "msg": "unknown field"} for k in sorted(set(body) - {"marks"})
    ]
    rows = body["marks"]
    if not 1 <= len(rows) <= MAX_MARKS:
        faults.append({"loc": ["body", "marks"], "msg": f"1 to {MAX_MARKS} marks"})
        raise InvalidBody(faults)
    out: list[MarkItem] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        loc: list[Any] = ["body", "marks", i]
        if not isinstance(row, dict):
            faults.append({"loc": loc, "msg": "expected an object"})
            continue
        faults += [
            {"loc": [*loc, k], "msg": "unknown field"}
            for k in sorted(set(row) - {"script_id", "mark", "comment"})
        ]
        sid, raw, comment = row.get("script_id"), row.get("mark"), row.get("comment")
        if not isinstance(sid, str) or not 1 <= len(sid) <= 64:
            faults.append({"loc": [*loc, "script_id"], "msg": "a script id"})
            continue
        if sid in seen:
            faults.append({"loc": [*loc, "script_id"], "msg": f"script {sid!r} is marked twice"})
            continue
        seen.add(sid)
        if "mark" not in row:
            faults.append({"loc": [*loc, "mark"], "msg": f"field required (script {sid!r})"})
            continue
        if isinstance(raw, str) and len(raw) > 100:
            faults.append({"loc": [*loc, "mark"], "msg": f"not a mark (script {sid!r})"})
            continue
        try:
            mark = marking.parse_mark(raw)
        except marking.MarkError as exc:
            faults.append({"loc": [*loc, "mark"], "msg": f"{exc} (script {sid!r})"})
            continue
        if comment is not None and (
            not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS
        ):
            faults.append(
                {
                    "loc": [*loc, "comment"],
                    "msg": f"null or at most {MAX_COMMENT_CHARS} characters (script {sid!r})",
                }
            )
            continue
        out.append(MarkItem(i, sid, mark, comment))
    if faults:
        raise InvalidBody(faults)
    return out


def check_mark(exam: Exam, item: MarkItem, question_id: str) -> dict[str, Any] | None:
    """The fault of a mark that does not fit its question (out of range, off the step)."""
    why = marking.check_mark(exam.by_id[question_id].rule, item.mark)
    if why is None:
        return None
    return {
        "loc": ["body", "marks", item.index, "mark"],
        "msg": f"{why} (script {item.script_id!r})",
        "script_id": item.script_id,
    }
