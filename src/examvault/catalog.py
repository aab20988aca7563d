"""The exams this server holds: storing definitions, and the in-memory cache of rules.

Compiled exams are cached by (id, version, key_version). A version changes only while
no attempt exists, and every attempt records the version it was started on; the key
version is read from the exams row in each write transaction. So a key change made
through any host is seen by every host at its next write, and a cached entry is never
stale: a new key version is simply a new cache key.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import format_time
from examvault.exams import Exam, ExamDef, compile_exam, fingerprint, normalized, with_key_changes
from examvault.store.tables import attempts, audit, candidates, exam_keys, exams
from examvault.totals import Totals

if TYPE_CHECKING:
    from examvault.core import Core


def dumps_definition(doc: Any) -> str:
    """JSON with Decimals written with exactly their digits."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return orjson.Fragment(str(value))
        raise TypeError(type(value).__name__)

    return orjson.dumps(doc, default=default).decode()


def loads_definition(text: str) -> Any:
    """Read stored JSON, numbers with a point or exponent as Decimal."""
    return json.loads(text, parse_float=Decimal)


class Catalog:
    """Compiled exams of this process, bounded in number."""

    def __init__(self, limit: int = 256) -> None:
        self._cache: OrderedDict[tuple[str, int, int], Exam] = OrderedDict()
        self._by_version: dict[tuple[str, int], Exam] = {}
        self._empty: dict[tuple[str, int, int], str] = {}
        self._limit = limit
        # The writer thread and the request loop both use the cache.
        self._lock = threading.Lock()

    def questions_of(self, exam_id: str, version: int) -> Exam | None:
        """Some compiled form of this exam version, if one is cached, whatever its key.

        Checking a save needs only the questions and options, which a key change never
        alters; scoring reads the current key version inside the write transaction.
        """
        return self._by_version.get((exam_id, version))

    def empty_totals(self, exam: Exam) -> str:
        """`Totals.empty(exam).dumps()`, computed once per exam version and key: every
        attempt starts from it, and at the start of an exam every student starts."""
        key = (exam.id, exam.version, exam.key_version)
        text = self._empty.get(key)
        if text is None:
            text = Totals.empty(exam).dumps()
            with self._lock:
                if len(self._empty) >= self._limit:
                    self._empty.clear()
                self._empty[key] = text
        return text

    async def get(
        self, conn: AsyncConnection, exam_id: str, version: int, key_version: int
    ) -> Exam:
        """The exam at this version and key version, compiled once per process."""
        key = (exam_id, version, key_version)
        with self._lock:
            exam = self._cache.get(key)
            if exam is not None:
                self._cache.move_to_end(key)
                return exam
        row = (
            await conn.execute(
                select(exams.c.definition, exams.c.version).where(exams.c.id == exam_id)
            )
        ).one_or_none()
        if row is None or row.version != version:
            raise errors.NotFound("no such exam version")
        exam = compile_exam(
            ExamDef.model_validate(loads_definition(row.definition)), version=version
        )
        if key_version > 1:
            changes: list[dict[str, Any]] = []
            for krow in await conn.execute(
                select(exam_keys.c.changes)
                .where(exam_keys.c.exam_id == exam_id, exam_keys.c.key_version <= key_version)
                .order_by(exam_keys.c.key_version)
            ):
                changes.extend(loads_definition(krow.changes))
            exam = with_key_changes(exam, key_version, changes)
        with self._lock:
            self._cache[key] = exam
            self._by_version[(exam_id, version)] = exam
            if len(self._cache) > self._limit:
                old_key, _ = self._cache.popitem(last=False)
                self._by_version.pop(old_key[:2], None)
        return exam

    async def current(self, conn: AsyncConnection, exam_id: str) -> Exam | None:
        """The exam as it stands now, or None when there is no such exam."""
        row = (
            await conn.execute(
                select(exams.c.version, exams.c.key_version).where(exams.c.id == exam_id)
            )
        ).one_or_none()
        if row is None:
            return None
        return await self.get(conn, exam_id, row.version, row.key_version)


@dataclass(eq=False)
class PutExam:
    """Create an exam, or replace it while no attempt has started (API.md, POST /exams)."""

    definition: ExamDef
    actor: str
    now: int
    action: str = "exam_created"

    async def apply(self, conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        exam = self.definition
        doc = normalized(exam)
        fp = fingerprint(exam)
        compiled = compile_exam(exam, version=1)
        row = (
            await conn.execute(
                select(exams.c.version, exams.c.fingerprint).where(exams.c.id == exam.id)
            )
        ).one_or_none()
        values = {
            "fingerprint": fp,
            "definition": dumps_definition(doc),
            "title": exam.title,
            "opens_at": compiled.opens_at,
            "closes_at": compiled.closes_at,
            "grace_seconds": exam.grace_seconds,
            "updated_at": self.now,
        }
        if row is None:
            await conn.execute(
                exams.insert().values(
                    id=exam.id, version=1, key_version=1, created_at=self.now, **values
                )
            )
            await record(conn, self.now, self.actor, self.action, exam.id, {"version": 1})
            return 201, {"id": exam.id, "version": 1}
        if row.fingerprint == fp:
            return 200, {"id": exam.id, "version": row.version}
        started = (
            await conn.execute(
                select(func.count()).select_from(attempts).where(attempts.c.exam_id == exam.id)
            )
        ).scalar_one()
        if started:
            raise errors.ExamInUse(
                f"exam {exam.id!r} has {started} attempts; its definition can no longer change"
            )
        version = row.version + 1
        await conn.execute(
            exams.update().where(exams.c.id == exam.id).values(version=version, **values)
        )
        await record(conn, self.now, self.actor, "exam_replaced", exam.id, {"version": version})
        return 201, {"id": exam.id, "version": version}


async def record(
    conn: AsyncConnection, at: int, actor: str, action: str, exam_id: str | None, detail: Any
) -> None:
    """Append an audit entry in the transaction of the change it describes."""
    await conn.execute(
        audit.insert().values(
            at=at, actor=actor, action=action, exam_id=exam_id, detail=dumps_definition(detail)
        )
    )


async def list_exams(core: Core) -> list[dict[str, Any]]:
    """Every exam with its counters, for the invigilator's list."""
    async with core.store.read() as conn:
        rows = (
            await conn.execute(
                select(exams.c.id, exams.c.title, exams.c.version, exams.c.closed_at).order_by(
                    exams.c.id
                )
            )
        ).all()
        counts: dict[tuple[str, str], int] = {
            (r[0], r[1]): r[2]
            for r in await conn.execute(
                select(attempts.c.exam_id, attempts.c.status, func.count()).group_by(
                    attempts.c.exam_id, attempts.c.status
                )
            )
        }
        registered: dict[str, int] = dict(
            (
                await conn.execute(
                    select(candidates.c.exam_id, func.count()).group_by(candidates.c.exam_id)
                )
            ).all()
        )
    return [
        {
            "id": r.id,
            "title": r.title,
            "version": r.version,
            "registered": registered.get(r.id, 0),
            "in_progress": counts.get((r.id, "in_progress"), 0),
            "submitted": counts.get((r.id, "submitted"), 0),
            "closed": r.closed_at is not None,
        }
        for r in rows
    ]


async def stored_definition(core: Core, exam_id: str) -> tuple[dict[str, Any], int, int]:
    """The definition as stored (numbers as Decimal), its version and key version."""
    async with core.store.read() as conn:
        row = (
            await conn.execute(
                select(exams.c.definition, exams.c.version, exams.c.key_version).where(
                    exams.c.id == exam_id
                )
            )
        ).one_or_none()
    if row is None:
        raise errors.NotFound(f"no exam {exam_id!r}")
    return loads_definition(row.definition), row.version, row.key_version


async def definition(core: Core, exam_id: str) -> orjson.Fragment:
    """The definition with its key, version and key version, as JSON with exact numbers."""
    doc, version, key_version = await stored_definition(core, exam_id)
    text = dumps_definition(doc | {"version": version, "key_version": key_version})
    return orjson.Fragment(text)


async def audit_entries(core: Core, exam_id: str | None) -> list[dict[str, Any]]:
    """The audit trail, oldest first."""
    query = select(audit).order_by(audit.c.id)
    if exam_id is not None:
        query = query.where(audit.c.exam_id == exam_id)
    async with core.store.read() as conn:
        rows = (await conn.execute(query)).all()
    return [
        {
            "at": format_time(r.at),
            "actor": r.actor,
            "action": r.action,
            "exam_id": r.exam_id,
            "detail": orjson.loads(r.detail),
        }
        for r in rows
    ]
