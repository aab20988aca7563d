"""Answer-key changes, checked against the exam: the body, its rules, and whether it
changes anything (docs/api.md, "Answer-key changes"; docs/marking.md, "Key changes")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from examvault import errors
from examvault.domain import marking
from examvault.domain.exams import Exam, key_for, with_key_changes


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChangeDef(_Model):
    """One question's new key, or its drop with a bonus rule."""

    question_id: str
    answer: Any = None
    drop: StrictBool = False
    bonus: Literal["all", "answered"] | None = None


class KeyChangeDef(_Model):
    """The body of PUT /exams/{exam_id}/key."""

    reason: Annotated[str, Field(max_length=2000)] | None = None
    changes: Annotated[list[ChangeDef], Field(min_length=1, max_length=5000)]


def parse_key_change(body: Any) -> KeyChangeDef:
    """The body's shape; what it names is checked against the exam by `check_changes`."""
    try:
        return KeyChangeDef.model_validate(body)
    except ValidationError as exc:
        raise errors.InvalidBody(
            [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors(include_url=False)]
        ) from None


def check_changes(exam: Exam, body: KeyChangeDef) -> list[dict[str, Any]]:
    """The changes in their stored form (bonus filled in), or 422 naming each fault."""
    faults: list[dict[str, Any]] = []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, change in enumerate(body.changes):
        loc: list[Any] = ["changes", i]
        q = exam.by_id.get(change.question_id)
        if q is None:
            faults.append({"loc": [*loc, "question_id"], "msg": "no such question"})
            continue
        if q.id in seen:
            faults.append({"loc": [*loc, "question_id"], "msg": "the question is named twice"})
            continue
        seen.add(q.id)
        if change.drop:
            if change.answer is not None:
                faults.append({"loc": loc, "msg": "a change either drops or gives an answer"})
                continue
            out.append({"question_id": q.id, "drop": True, "bonus": change.bonus or "all"})
            continue
        if q.manual:
            faults.append(
                {
                    "loc": [*loc, "answer"],
                    "msg": "a manual question has no key: mark it, or drop it",
                }
            )
            continue
        if change.bonus is not None or change.answer is None:
            faults.append({"loc": loc, "msg": 'give "answer", or "drop": true with a "bonus"'})
            continue
        try:
            key = key_for(q.type, change.answer)
        except (ValueError, ValidationError, marking.MarkError) as exc:
            faults.append({"loc": [*loc, "answer"], "msg": str(exc).splitlines()[0]})
            continue
        if q.type != "text" and isinstance(key, frozenset) and not key <= q.option_ids:
            unknown = ", ".join(sorted(key - q.option_ids))
            faults.append({"loc": [*loc, "answer"], "msg": f"unknown options: {unknown}"})
            continue
        out.append({"question_id": q.id, "answer": change.answer})
    if faults:
        raise errors.InvalidBody(faults)
    return out


def changes_anything(exam: Exam, changes: list[dict[str, Any]]) -> bool:
    """Whether any rule differs under the changes (numbers compared by value)."""
    after = with_key_changes(exam, exam.key_version + 1, changes)
    return any(
        after.by_id[c["question_id"]].rule != exam.by_id[c["question_id"]].rule for c in changes
    )
