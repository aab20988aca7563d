"""Answer-key changes (API-ADMIN.md, "Answer-key changes"; MARKING.md, "Key changes").

A change is checked against the exam, then recorded in one write: the `exam_keys` row
(who, when, why, what), the exam's new `key_version`, a `regrade` job and an audit
entry. Because they commit together, a crash can delay the regrade but never lose it,
and the key a save is scored with (read in the save's own transaction) is never ahead
of a recorded change. A body that changes no rule is answered 200 and records nothing,
so sending the same change twice regrades once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors, marking
from examvault.catalog import dumps_definition, loads_definition, record
from examvault.clock import format_time
from examvault.exams import Exam, key_for, with_key_changes
from examvault.store.tables import audit, exam_keys, exams

if TYPE_CHECKING:
    from examvault.core import Core


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
        if change.bonus is not None or change.answer is None:
            faults.append({"loc": loc, "msg": 'give "answer", or "drop": true with a "bonus"'})
            continue
        try:
            key = key_for(q.type, change.answer)
        except (ValueError, ValidationError, marking.MarkError) as exc:
            faults.append({"loc": [*loc, "answer"], "msg": str(exc).splitlines()[0]})
            continue
        if isinstance(key, frozenset) and not key <= q.option_ids:
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


@dataclass(eq=False)
class ChangeKey:
    """Record a key change and its regrade, or nothing when it changes no rule."""

    core: Core
    exam_id: str
    body: KeyChangeDef
    actor: str
    now: int

    async def apply(self, conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        query = select(exams.c.version, exams.c.key_version).where(exams.c.id == self.exam_id)
        if self.core.store.is_postgresql:
            query = query.with_for_update()  # two hosts changing one key queue here
        row = (await conn.execute(query)).one_or_none()
        if row is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        exam = await self.core.catalog.get(conn, self.exam_id, row.version, row.key_version)
        changes = check_changes(exam, self.body)
        if not changes_anything(exam, changes):
            status = (
                await conn.execute(
                    select(exam_keys.c.status).where(
                        exam_keys.c.exam_id == self.exam_id,
                        exam_keys.c.key_version == row.key_version,
                    )
                )
            ).scalar_one_or_none()
            return 200, {"key_version": row.key_version, "status": status or "done"}
        version = row.key_version + 1
        await conn.execute(
            exam_keys.insert().values(
                exam_id=self.exam_id,
                key_version=version,
                at=self.now,
                actor=self.actor,
                reason=self.body.reason,
                changes=dumps_definition(changes),
                status="regrading",
            )
        )
        await conn.execute(
            exams.update().where(exams.c.id == self.exam_id).values(key_version=version)
        )
        await self.core.jobs.enqueue(conn, "regrade", self.exam_id)
        detail = {"key_version": version, "reason": self.body.reason, "changes": changes}
        await record(conn, self.now, self.actor, "key_changed", self.exam_id, detail)
        return 202, {"key_version": version, "status": "regrading"}

    def after_commit(self) -> None:
        self.core.jobs.poke()


async def history(core: Core, exam_id: str) -> dict[str, Any]:
    """The key versions of an exam, starting with the definition's own key (version 1)."""
    async with core.store.read() as conn:
        row = (
            await conn.execute(
                select(exams.c.key_version, exams.c.created_at).where(exams.c.id == exam_id)
            )
        ).one_or_none()
        if row is None:
            raise errors.NotFound(f"no exam {exam_id!r}")
        created = (
            await conn.execute(
                select(audit.c.actor)
                .where(audit.c.exam_id == exam_id)
                .order_by(audit.c.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        rows = (
            await conn.execute(
                select(exam_keys)
                .where(exam_keys.c.exam_id == exam_id)
                .order_by(exam_keys.c.key_version)
            )
        ).all()
    first = {
        "key_version": 1,
        "at": format_time(row.created_at),
        "actor": created,
        "reason": None,
        "changes": [],
        "status": "done",
        "impact": None,
    }
    return {
        "key_version": row.key_version,
        "history": [first]
        + [
            {
                "key_version": r.key_version,
                "at": format_time(r.at),
                "actor": r.actor,
                "reason": r.reason,
                "changes": orjson.Fragment(dumps_definition(loads_definition(r.changes))),
                "status": r.status,
                "impact": None if r.impact is None else orjson.loads(r.impact),
            }
            for r in rows
        ],
    }
