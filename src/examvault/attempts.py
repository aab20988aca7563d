"""An attempt's life: start or resume, save, submit, seal, and what the candidate reads.

A request flows route → a method here → the group-commit writer (for writes) or a read
transaction. Every check of API.md's order that needs no database runs before one is
touched: token, then body, then the attempt, then its state (in the transaction).
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import and_, case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors, views
from examvault.answers import parse_items
from examvault.candidates import Candidate
from examvault.catalog import record
from examvault.clock import MICROS, format_time
from examvault.exams import Exam
from examvault.journal import AttemptOp
from examvault.store.tables import answers, attempts, exams
from examvault.totals import Totals

if TYPE_CHECKING:
    from examvault.core import Core

log = logging.getLogger("examvault.attempts")


@dataclass(frozen=True, slots=True)
class AttemptMeta:
    """What never changes about an attempt once it exists."""

    id: str
    exam_id: str
    candidate_id: str
    exam_version: int


@dataclass(eq=False)
class Start:
    """Create the candidate's attempt, or find the one that exists (resume)."""

    core: Core
    candidate: Candidate
    received_at: int
    # Every refusal (no exam, closed, not open) comes before the one write, so the batch
    # needs no savepoint to undo it (core.Core._apply_batch).
    refuses_before_writing = True

    async def apply(self, conn: AsyncConnection) -> tuple[int, AttemptMeta]:
        existing = await _attempt_of(conn, self.candidate)
        if existing is not None:
            return 200, existing
        row = (
            await conn.execute(
                select(exams.c.version, exams.c.key_version, exams.c.closed_at).where(
                    exams.c.id == self.candidate.exam_id
                )
            )
        ).one_or_none()
        if row is None:
            raise errors.NotFound("no such exam")
        exam = await self.core.catalog.get(
            conn, self.candidate.exam_id, row.version, row.key_version
        )
        now = self.received_at
        closes_end = (
            None if exam.closes_at is None else exam.closes_at + exam.grace_seconds * MICROS
        )
        if row.closed_at is not None or (closes_end is not None and now > closes_end):
            raise errors.ExamClosed("the exam is closed")
        if exam.opens_at is not None and now < exam.opens_at:
            raise errors.NotOpen(f"the exam opens at {format_time(exam.opens_at)}")
        deadline = now + exam.duration_seconds * MICROS
        if exam.closes_at is not None:
            deadline = min(deadline, exam.closes_at)
        attempt_id = secrets.token_urlsafe(16)
        inserted = await conn.execute(
            self.core.insert(attempts)
            .values(
                id=attempt_id,
                exam_id=exam.id,
                candidate_id=self.candidate.id,
                exam_version=exam.version,
                status="in_progress",
                started_at=now,
                deadline=deadline,
                end_at=deadline + exam.grace_seconds * MICROS,
                last_seq=0,
                answered=0,
                totals=self.core.catalog.empty_totals(exam),
                key_version=exam.key_version,
                last_seen_at=now,
            )
            .on_conflict_do_nothing(index_elements=[attempts.c.exam_id, attempts.c.candidate_id])
        )
        if inserted.rowcount == 0:  # another process started it a moment ago
            existing = await _attempt_of(conn, self.candidate)
            assert existing is not None
            return 200, existing
        log.info("attempt started", extra={"attempt_id": attempt_id, "exam_id": exam.id})
        return 201, AttemptMeta(attempt_id, exam.id, self.candidate.id, exam.version)


async def _attempt_of(conn: AsyncConnection, candidate: Candidate) -> AttemptMeta | None:
    row = (
        await conn.execute(
            select(attempts.c.id, attempts.c.exam_version).where(
                attempts.c.exam_id == candidate.exam_id, attempts.c.candidate_id == candidate.id
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return AttemptMeta(row.id, candidate.exam_id, candidate.id, row.exam_version)


@dataclass(eq=False)
class Close:
    """Close an exam: seal every attempt in progress, then ranks follow as a job."""

    core: Core
    exam_id: str
    actor: str
    now: int
    sealed: int = 0

    async def apply(self, conn: AsyncConnection) -> dict[str, Any]:
        row = (
            await conn.execute(select(exams.c.closed_at).where(exams.c.id == self.exam_id))
        ).one_or_none()
        if row is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        if row.closed_at is not None:
            return {"id": self.exam_id, "closed_at": format_time(row.closed_at), "sealed": 0}
        sealed = await conn.execute(
            update(attempts)
            .where(attempts.c.exam_id == self.exam_id, attempts.c.status == "in_progress")
            .values(
                status="submitted",
                submit_kind="auto",
                submitted_at=case(
                    (attempts.c.end_at < self.now, attempts.c.end_at), else_=self.now
                ),
            )
            .returning(attempts.c.id)
        )
        ids = list(sealed.scalars())
        await conn.execute(
            update(exams).where(exams.c.id == self.exam_id).values(closed_at=self.now)
        )
        await record(conn, self.now, self.actor, "exam_closed", self.exam_id, {"sealed": len(ids)})
        await self.core.jobs.enqueue(conn, "ranks", self.exam_id)
        await self.core.jobs.enqueue(conn, "analytics", self.exam_id)
        self.sealed = len(ids)
        for attempt_id in ids:
            log.info("attempt sealed by close", extra={"attempt_id": attempt_id, "kind": "auto"})
        return {"id": self.exam_id, "closed_at": format_time(self.now), "sealed": len(ids)}

    def after_commit(self) -> None:
        self.core.metrics.submissions.labels("auto").inc(self.sealed)
        self.core.jobs.poke()


@dataclass(eq=False)
class SealExpired:
    """Seal every attempt past its end (the sweeper); safe to run on every host at once."""

    core: Core
    now: int
    sealed: int = 0

    async def apply(self, conn: AsyncConnection) -> int:
        result = await conn.execute(
            update(attempts)
            .where(and_(attempts.c.status == "in_progress", attempts.c.end_at < self.now))
            .values(status="submitted", submit_kind="auto", submitted_at=attempts.c.end_at)
            .returning(attempts.c.id)
        )
        ids = list(result.scalars())
        for attempt_id in ids:
            log.info("attempt auto-submitted", extra={"attempt_id": attempt_id, "kind": "auto"})
        self.sealed = len(ids)
        return len(ids)

    def after_commit(self) -> None:
        self.core.metrics.submissions.labels("auto").inc(self.sealed)


class Attempts:
    """The candidate-facing operations."""

    def __init__(self, core: Core, cache_limit: int = 200_000) -> None:
        self.core = core
        self._meta: OrderedDict[str, AttemptMeta] = OrderedDict()
        self._limit = cache_limit

    async def meta(self, attempt_id: str) -> AttemptMeta | None:
        found = self._meta.get(attempt_id)
        if found is not None:
            return found
        async with self.core.store.read() as conn:
            row = (
                await conn.execute(
                    select(
                        attempts.c.exam_id, attempts.c.candidate_id, attempts.c.exam_version
                    ).where(attempts.c.id == attempt_id)
                )
            ).one_or_none()
        if row is None:
            return None
        found = AttemptMeta(attempt_id, row.exam_id, row.candidate_id, row.exam_version)
        self._remember(found)
        return found

    def _remember(self, meta: AttemptMeta) -> None:
        self._meta[meta.id] = meta
        if len(self._meta) > self._limit:
            self._meta.popitem(last=False)

    async def _owned(self, candidate: Candidate, attempt_id: str) -> AttemptMeta | None:
        meta = await self.meta(attempt_id)
        if meta is None or meta.candidate_id != candidate.id or meta.exam_id != candidate.exam_id:
            return None
        return meta

    async def _exam_for(self, candidate: Candidate, meta: AttemptMeta | None) -> Exam:
        """The exam whose questions a body is checked against (no key needed)."""
        if meta is not None:
            cached = self.core.catalog.questions_of(meta.exam_id, meta.exam_version)
            if cached is not None:
                return cached
        async with self.core.store.read() as conn:
            if meta is not None:
                key_version = (
                    await conn.execute(
                        select(exams.c.key_version).where(exams.c.id == meta.exam_id)
                    )
                ).scalar_one()
                return await self.core.catalog.get(
                    conn, meta.exam_id, meta.exam_version, key_version
                )
            exam = await self.core.catalog.current(conn, candidate.exam_id)
        if exam is None:
            raise errors.NotFound("no such exam")
        return exam

    async def start(self, candidate: Candidate, exam_id: str) -> tuple[int, dict[str, Any]]:
        if exam_id != candidate.exam_id:
            raise errors.NotFound(f"no exam {exam_id!r} for this candidate")
        status, meta = await self.core.write(Start(self.core, candidate, self.core.clock.now()))
        self._remember(meta)  # the view that follows needs no read to find it
        return status, await self.view(candidate, meta.id)

    async def view(self, candidate: Candidate, attempt_id: str) -> dict[str, Any]:
        """The attempt view; an attempt past its end is sealed first (it was touched)."""
        meta = await self._owned(candidate, attempt_id)
        if meta is None:
            raise errors.NotFound("no such attempt")
        for _ in range(2):
            async with self.core.store.read() as conn:
                row = await _attempt_row(conn, attempt_id)
                now = self.core.clock.now()
                if row.status == "in_progress" and now > row.end_at:
                    expired = True
                else:
                    expired = False
                    exam = await self.core.catalog.get(
                        conn, row.exam_id, row.exam_version, row.exam_key_version
                    )
                    rows = (
                        await conn.execute(
                            select(
                                answers.c.question_id,
                                answers.c.response,
                                answers.c.seq,
                                answers.c.marked,
                                answers.c.time_spent_ms,
                            ).where(answers.c.attempt_id == attempt_id)
                        )
                    ).all()
            if not expired:
                return views.attempt_view(exam, row, rows, now, self.core.fragments)
            await self._touch(candidate, meta)
        raise errors.Unavailable("the attempt is being sealed; retry")

    async def _touch(self, candidate: Candidate, meta: AttemptMeta) -> None:
        await self.core.write_attempt(
            AttemptOp(
                kind="touch",
                attempt_id=meta.id,
                exam_id=meta.exam_id,
                candidate_id=candidate.id,
                items=(),
                received_at=self.core.clock.now(),
            )
        )

    async def save(self, candidate: Candidate, attempt_id: str, body: Any) -> dict[str, Any]:
        """Store answers; the body is required."""
        return await self._write(candidate, attempt_id, body, "save")

    async def submit(self, candidate: Candidate, attempt_id: str, body: Any) -> dict[str, Any]:
        """Seal the attempt, with the last unsent answers if the body has any."""
        return await self._write(candidate, attempt_id, body, "submit")

    async def _write(
        self, candidate: Candidate, attempt_id: str, body: Any, kind: Literal["save", "submit"]
    ) -> dict[str, Any]:
        # The arrival time decides whether an item counts, whatever the queue does later.
        received_at = self.core.clock.now()
        meta = await self._owned(candidate, attempt_id)
        exam = await self._exam_for(candidate, meta)
        items = parse_items(
            exam, body, required=kind == "save", max_items=self.core.settings.max_items_per_save
        )
        if meta is None:
            raise errors.NotFound("no such attempt")
        result: dict[str, Any] = await self.core.write_attempt(
            AttemptOp(
                kind=kind,
                attempt_id=attempt_id,
                exam_id=meta.exam_id,
                candidate_id=candidate.id,
                items=items,
                received_at=received_at,
            )
        )
        return result

    async def result(self, candidate: Candidate, attempt_id: str) -> dict[str, Any]:
        meta = await self._owned(candidate, attempt_id)
        if meta is None:
            raise errors.NotFound("no such attempt")
        for _ in range(2):
            async with self.core.store.read() as conn:
                row = await _attempt_row(conn, attempt_id)
                exam = await self.core.catalog.get(
                    conn, row.exam_id, row.exam_version, row.exam_key_version
                )
            if row.status == "in_progress" and self.core.clock.now() > row.end_at:
                await self._touch(candidate, meta)
                continue
            if not views.is_released(exam, row.status == "submitted", row.closed_at):
                raise errors.NotReleased(
                    "the result is not released yet"
                    if exam.show_result != "never"
                    else "this exam does not release results to candidates"
                )
            closed = row.closed_at is not None
            return views.result(
                exam,
                Totals.loads(row.totals),
                row.rank if closed else None,
                row.percentile if closed else None,
            )
        raise errors.Unavailable("the attempt is being sealed; retry")

    async def me(self, candidate: Candidate) -> dict[str, Any]:
        async with self.core.store.read() as conn:
            exam = await self.core.catalog.current(conn, candidate.exam_id)
            attempt = (
                await conn.execute(
                    select(attempts.c.id, attempts.c.status).where(
                        attempts.c.exam_id == candidate.exam_id,
                        attempts.c.candidate_id == candidate.id,
                    )
                )
            ).one_or_none()
        if exam is None:
            raise errors.NotFound("no such exam")
        return {
            "candidate_id": candidate.id,
            "name": candidate.name,
            "exam": {
                "id": exam.id,
                "title": exam.title,
                "duration_seconds": exam.duration_seconds,
                "opens_at": format_time(exam.opens_at),
                "closes_at": format_time(exam.closes_at),
                "show_result": exam.show_result,
                "instructions": exam.instructions,
                "sections": views.section_marks(exam),
            },
            "attempt": None
            if attempt is None
            else {"attempt_id": attempt.id, "status": attempt.status},
            "server_time": format_time(self.core.clock.now()),
        }


async def _attempt_row(conn: AsyncConnection, attempt_id: str) -> Any:
    return (
        await conn.execute(
            select(attempts, exams.c.key_version.label("exam_key_version"), exams.c.closed_at)
            .join(exams, exams.c.id == attempts.c.exam_id)
            .where(attempts.c.id == attempt_id)
        )
    ).one()
