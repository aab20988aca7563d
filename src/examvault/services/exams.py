"""Exams as the exam team manages them: create or replace, list, read back, close.

Closing seals every attempt still in progress and enqueues the ranks and analytics jobs
in the same transaction, so a crash can delay them but never lose them. An imported exam
is stored with the pictures its file held in one transaction (`ImportExam`): nothing of
it is stored unless all of it is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock, format_time
from examvault.domain import exact_json
from examvault.domain import media as media_rules
from examvault.domain.exams import (
    Exam,
    ExamDef,
    compile_exam,
    fingerprint,
    media_uses,
    normalized,
    plain_title,
)
from examvault.metrics import Metrics
from examvault.services import audit
from examvault.services.media import PutMedium
from examvault.services.queue import JobQueue
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import attempts, candidates, exams, media
from examvault.store.queries.media import Medium

log = logging.getLogger("examvault.exams")


@dataclass(eq=False)
class PutExam:
    """Create an exam, or replace it while no attempt has started (docs/api.md, POST /exams)."""

    definition: ExamDef
    actor: str
    now: int
    action: str = "exam_created"
    # Worked out when the op is made, on the request's loop: rendering rich text is the
    # costly part of an exam, and the writer's transaction is shared by every save.
    fp: str = field(init=False)
    compiled: Exam = field(init=False)
    media: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.fp = fingerprint(self.definition)
        self.compiled = compile_exam(self.definition, version=1)
        self.media = media_uses(self.definition)

    async def apply(self, conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        exam, fp, compiled = self.definition, self.fp, self.compiled
        await _check_media(conn, exam.id, self.media)
        values = {
            "fingerprint": fp,
            "definition": exact_json.dumps(normalized(exam)),
            "title": plain_title(exam),
            "opens_at": compiled.opens_at,
            "closes_at": compiled.closes_at,
            "grace_seconds": exam.grace_seconds,
            "updated_at": self.now,
        }
        found = await exams.fingerprint(conn, exam.id)
        if found is None:
            await exams.insert(conn, exam.id, self.now, values)
            await audit.record(conn, self.now, self.actor, self.action, exam.id, {"version": 1})
            return 201, {"id": exam.id, "version": 1}
        version, stored_fp = found
        if stored_fp == fp:
            return 200, {"id": exam.id, "version": version}
        started = await attempts.count_started(conn, exam.id)
        if started:
            raise errors.ExamInUse(
                f"exam {exam.id!r} has {started} attempts; its definition can no longer change"
            )
        await exams.replace(conn, exam.id, version + 1, values)
        await audit.record(
            conn, self.now, self.actor, "exam_replaced", exam.id, {"version": version + 1}
        )
        return 201, {"id": exam.id, "version": version + 1}


@dataclass(eq=False)
class ImportExam:
    """An imported exam and its media in one write: the media, then the exam (whose check
    that every medium it shows exists then sees them). A refusal of any part — a medium of
    an exam whose attempts have started, the per-exam media limit, the definition — undoes
    every part: the write path runs it in one savepoint (services/writes.py)."""

    media: Sequence[PutMedium]
    exam: PutExam

    async def apply(self, conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        stored = [(await medium.apply(conn))[1] for medium in self.media]
        status, body = await self.exam.apply(conn)
        return status, body | {"media": stored}


async def _check_media(conn: AsyncConnection, exam_id: str, uses: dict[str, str]) -> None:
    """422 when the markup shows a medium this exam does not have (docs/api.md, Media)."""
    if not uses:
        return
    stored = await media.names(conn, exam_id)
    missing = [(name, whose) for name, whose in uses.items() if name not in stored]
    if missing:
        raise errors.InvalidBody(
            [
                {"loc": ["media", name], "msg": f"{whose}: no medium {name!r} in exam {exam_id!r}"}
                for name, whose in missing
            ]
        )


@dataclass(eq=False)
class CloseExam:
    """Close an exam: seal every attempt in progress, then ranks follow as a job."""

    exam_id: str
    actor: str
    now: int
    queue: JobQueue
    metrics: Metrics
    sealed: int = 0

    async def apply(self, conn: AsyncConnection) -> dict[str, Any]:
        header = await exams.header(conn, self.exam_id)
        if header is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        if header.closed_at is not None:
            return {"id": self.exam_id, "closed_at": format_time(header.closed_at), "sealed": 0}
        ids = await attempts.seal_for_close(conn, self.exam_id, self.now)
        await exams.mark_closed(conn, self.exam_id, self.now)
        await audit.record(
            conn, self.now, self.actor, "exam_closed", self.exam_id, {"sealed": len(ids)}
        )
        await self.queue.enqueue(conn, "ranks", self.exam_id)
        await self.queue.enqueue(conn, "analytics", self.exam_id)
        self.sealed = len(ids)
        for attempt_id in ids:
            log.info("attempt sealed by close", extra={"attempt_id": attempt_id, "kind": "auto"})
        return {"id": self.exam_id, "closed_at": format_time(self.now), "sealed": len(ids)}

    def after_commit(self) -> None:
        self.metrics.submissions.labels("auto").inc(self.sealed)
        self.queue.poke()


@dataclass
class Exams:
    """The exam team's operations on exams."""

    store: Store
    writes: Writes
    clock: Clock
    queue: JobQueue
    metrics: Metrics

    async def put(
        self, definition: ExamDef, actor: str, action: str = "exam_created"
    ) -> tuple[int, dict[str, Any]]:
        """Create (201), repeat harmlessly (200) or replace (201) an exam."""
        result: tuple[int, dict[str, Any]] = await self.writes.run(
            PutExam(definition, actor, self.clock.now(), action)
        )
        return result

    async def put_imported(
        self,
        definition: ExamDef,
        media: Sequence[tuple[str, str, bytes]],
        actor: str,
        exam_limit: int = media_rules.MAX_EXAM_BYTES,
    ) -> tuple[int, dict[str, Any]]:
        """Store an imported exam with its media (name, content type, bytes), all or none.

        The body answers as `put` does, with `media`: each medium as its upload answers.
        """
        now = self.clock.now()
        puts = []
        for name, content_type, data in media:
            kind = media_rules.check_type(content_type, data)
            stored = Medium(kind, media_rules.sha256(data), len(data), data)
            puts.append(PutMedium(definition.id, name, stored, actor, now, exam_limit))
        result: tuple[int, dict[str, Any]] = await self.writes.run(
            ImportExam(puts, PutExam(definition, actor, now, "exam_imported"))
        )
        return result

    async def close(self, exam_id: str, actor: str) -> dict[str, Any]:
        """Seal every attempt in progress and close; closing again changes nothing."""
        result: dict[str, Any] = await self.writes.run(
            CloseExam(exam_id, actor, self.clock.now(), self.queue, self.metrics)
        )
        return result

    async def listing(self) -> list[dict[str, Any]]:
        """Every exam with its counters, for the invigilator's list."""
        async with self.store.read() as conn:
            rows = await exams.listing(conn)
            counts = await attempts.counts_by_status(conn)
            registered = await candidates.counts_by_exam(conn)
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

    async def stored_definition(self, exam_id: str) -> tuple[dict[str, Any], int, int]:
        """The definition as stored (numbers as Decimal), its version and key version."""
        async with self.store.read() as conn:
            row = await exams.stored(conn, exam_id)
        if row is None:
            raise errors.NotFound(f"no exam {exam_id!r}")
        return exact_json.loads(row.definition), row.version, row.key_version

    async def definition_without_key(self, exam_id: str) -> orjson.Fragment:
        """The definition as an invigilator may read it: no `answer` field, no key version."""
        doc, version, _key_version = await self.stored_definition(exam_id)
        doc = dict(doc) | {"version": version}
        doc["sections"] = [
            dict(section)
            | {
                "questions": [
                    {k: v for k, v in q.items() if k != "answer"}
                    for q in section.get("questions", [])
                ]
            }
            for section in doc.get("sections", [])
        ]
        return orjson.Fragment(exact_json.dumps(doc))

    async def definition(self, exam_id: str) -> orjson.Fragment:
        """The definition with its key, version and key version, as JSON with exact numbers."""
        doc, version, key_version = await self.stored_definition(exam_id)
        text = exact_json.dumps(doc | {"version": version, "key_version": key_version})
        return orjson.Fragment(text)
