"""Starting attempts, many at once: the first minute of an exam.

At the start of an exam every candidate starts in the same second. Each start joins the
group-commit writer's next batch like a save does (services/writes.py), and the batch's
starts are applied together with a fixed number of statements per exam in it — the
exam's header, the candidates' existing attempts, their rows, one multi-row INSERT and
the announcements of each room among them — instead of five statements for each start. A new attempt
comes back with everything its first view shows (`fresh`), so its view needs no read.

Every refusal (no exam, closed, not open yet) is decided before the INSERT, so a refused
start has written nothing and the batch needs no savepoint to undo it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import MICROS, format_time
from examvault.domain import deadlines, views
from examvault.domain.exams import Exam
from examvault.services.catalog import Catalog
from examvault.store.queries import announcements, attempts, candidates, exams
from examvault.store.writer import Op

log = logging.getLogger("examvault.attempts")


@dataclass(frozen=True, slots=True)
class AttemptMeta:
    """What never changes about an attempt once it exists."""

    id: str
    exam_id: str
    candidate_id: str
    exam_version: int


@dataclass(frozen=True, slots=True)
class Started:
    """A new attempt as its start wrote it: everything its first view shows, so that the
    view needs no read (at the start of an exam every student starts in the same second)."""

    id: str
    exam_id: str
    candidate_id: str
    status: str
    started_at: int
    deadline: int
    last_seq: int = 0
    paused_at: None = None
    submitted_at: None = None
    submit_kind: None = None


@dataclass(eq=False)
class StartOp(Op):
    """Create the candidate's attempt, or find the one that exists (resume).

    `result` is `(201, meta)` for a new attempt, with its first view's parts in `fresh`
    (the row as written, its exam, the announcements it must show), or `(200, meta)`
    for one that existed.
    """

    catalog: Catalog
    exam_id: str
    candidate_id: str
    received_at: int
    fresh: tuple[Started, Exam, list[dict[str, Any]]] | None = field(default=None)

    def __post_init__(self) -> None:
        Op.__init__(self)

    def reset(self) -> None:
        super().reset()
        self.fresh = None


async def apply(conn: AsyncConnection, ops: Sequence[StartOp]) -> None:
    """Apply a batch's starts, exam by exam, in the writer's transaction."""
    by_exam: dict[str, list[StartOp]] = {}
    for op in ops:
        by_exam.setdefault(op.exam_id, []).append(op)
    for exam_id, group in by_exam.items():
        await _start_group(conn, exam_id, group)


def _refusal(exam: Exam, closed_at: int | None, now: int) -> errors.ExamvaultError | None:
    """Why a new attempt of this exam may not start at `now`, if it may not."""
    closes_end = None if exam.closes_at is None else exam.closes_at + exam.grace_seconds * MICROS
    if closed_at is not None or (closes_end is not None and now > closes_end):
        return errors.ExamClosed("the exam is closed")
    if exam.opens_at is not None and now < exam.opens_at:
        return errors.NotOpen(f"the exam opens at {format_time(exam.opens_at)}")
    return None


async def _start_group(conn: AsyncConnection, exam_id: str, group: list[StartOp]) -> None:
    ids = sorted({op.candidate_id for op in group})
    existing = await attempts.of_candidates(conn, exam_id, ids)
    todo = [op for op in group if op.candidate_id not in existing]
    header = await exams.header(conn, exam_id) if todo else None
    if todo and header is None:
        for op in todo:
            op.error = errors.NotFound("no such exam")
    elif todo and header is not None:
        exam = await todo[0].catalog.get(conn, exam_id, header.version, header.key_version)
        new = await _insert(conn, exam, header.closed_at, todo)
        # Rows another process inserted a moment ago, and a candidate's second start in
        # this batch: their attempts, read now.
        missing = sorted({op.candidate_id for op in todo if op.result is None and not op.error})
        if missing:
            existing.update(await attempts.of_candidates(conn, exam_id, missing))
        # What each room is told, read once per room of the batch (usually one).
        told: dict[str | None, list[dict[str, Any]]] = {}
        for op, started, room in new:
            if room not in told:
                told[room] = views.announcements(await announcements.for_room(conn, exam_id, room))
            op.fresh = (started, exam, told[room])
    for op in group:
        if op.result is None and op.error is None:
            row = existing[op.candidate_id]
            op.result = (200, AttemptMeta(row.id, exam_id, op.candidate_id, row.exam_version))


async def _insert(
    conn: AsyncConnection, exam: Exam, closed_at: int | None, todo: list[StartOp]
) -> list[tuple[StartOp, Started, str | None]]:
    """Insert the attempts of those allowed to start; the new ones, with their rooms."""
    people = await candidates.many(conn, exam.id, sorted({op.candidate_id for op in todo}))
    catalog = todo[0].catalog
    rows: list[dict[str, Any]] = []
    chosen: dict[str, tuple[StartOp, Started]] = {}
    for op in todo:
        refusal = _refusal(exam, closed_at, op.received_at)
        if refusal is not None:
            op.error = refusal
            continue
        if op.candidate_id in chosen:  # the same candidate twice in one batch: one attempt
            continue
        person = people.get(op.candidate_id)
        now = op.received_at
        deadline = deadlines.deadline(
            now,
            exam.duration_seconds,
            exam.closes_at,
            0 if person is None else person.extra_seconds,
            0 if person is None else person.extended_seconds,
        )
        attempt_id = secrets.token_urlsafe(16)
        rows.append(
            {
                "id": attempt_id,
                "exam_id": exam.id,
                "candidate_id": op.candidate_id,
                "exam_version": exam.version,
                "status": "in_progress",
                "started_at": now,
                "deadline": deadline,
                "end_at": deadlines.end(deadline, exam.grace_seconds),
                "last_seq": 0,
                "answered": 0,
                "totals": catalog.empty_totals(exam, op.candidate_id),
                "key_version": exam.key_version,
                "last_seen_at": now,
            }
        )
        started = Started(attempt_id, exam.id, op.candidate_id, "in_progress", now, deadline)
        chosen[op.candidate_id] = (op, started)
    inserted = await attempts.insert_started(conn, rows)
    new = []
    for candidate_id in inserted:
        op, started = chosen[candidate_id]
        op.result = (201, AttemptMeta(started.id, exam.id, candidate_id, exam.version))
        person = people.get(candidate_id)
        new.append((op, started, None if person is None else person.room))
        log.info("attempt started", extra={"attempt_id": started.id, "exam_id": exam.id})
    return new
