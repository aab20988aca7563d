"""An attempt's life: start or resume, save, submit, seal, and what the candidate reads.

A request flows route → a method here → the group-commit writer (for writes) or a read
transaction. Every check of docs/api.md's order that needs no database runs before one is
touched: token, then body, then the attempt, then its state (in the transaction).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock, format_time
from examvault.domain import deadlines, views
from examvault.domain.answers import parse_items
from examvault.domain.exams import Exam, left_out
from examvault.domain.totals import Totals
from examvault.metrics import Metrics
from examvault.services.candidates import Candidate
from examvault.services.catalog import Catalog
from examvault.services.journal import AttemptOp
from examvault.services.starts import AttemptMeta, StartOp
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import announcements, answers, attempts, candidates, exams

log = logging.getLogger("examvault.attempts")


async def _notes(conn: AsyncConnection, candidate: Candidate) -> list[dict[str, Any]]:
    """The announcements for the whole exam and for the candidate's room, oldest first."""
    person = await candidates.one(conn, candidate.exam_id, candidate.id)
    rows = await announcements.for_room(
        conn, candidate.exam_id, None if person is None else person.room
    )
    return views.announcements(rows)


@dataclass(eq=False)
class SealExpired:
    """Seal every attempt past its end (the sweeper); safe to run on every host at once."""

    now: int
    metrics: Metrics
    sealed: int = 0

    async def apply(self, conn: AsyncConnection) -> int:
        ids = await attempts.seal_expired(conn, self.now)
        for attempt_id in ids:
            log.info("attempt auto-submitted", extra={"attempt_id": attempt_id, "kind": "auto"})
        self.sealed = len(ids)
        return len(ids)

    def after_commit(self) -> None:
        self.metrics.submissions.labels("auto").inc(self.sealed)


class Attempts:
    """The candidate-facing operations."""

    def __init__(
        self,
        store: Store,
        writes: Writes,
        catalog: Catalog,
        clock: Clock,
        *,
        max_items_per_save: int,
        cache_limit: int = 200_000,
    ) -> None:
        self.store = store
        self.writes = writes
        self.catalog = catalog
        self.clock = clock
        self.fragments = views.QuestionFragments()
        self.max_items_per_save = max_items_per_save
        self._meta: OrderedDict[str, AttemptMeta] = OrderedDict()
        self._limit = cache_limit

    async def meta(self, attempt_id: str) -> AttemptMeta | None:
        found = self._meta.get(attempt_id)
        if found is not None:
            return found
        async with self.store.read() as conn:
            row = await attempts.meta(conn, attempt_id)
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
            cached = self.catalog.questions_of(meta.exam_id, meta.exam_version)
            if cached is not None:
                return cached
        async with self.store.read() as conn:
            if meta is not None:
                header = await exams.header(conn, meta.exam_id)
                if header is None:
                    raise errors.NotFound("no such exam")
                return await self.catalog.get(
                    conn, meta.exam_id, meta.exam_version, header.key_version
                )
            exam = await self.catalog.current(conn, candidate.exam_id)
        if exam is None:
            raise errors.NotFound("no such exam")
        return exam

    async def start(self, candidate: Candidate, exam_id: str) -> tuple[int, dict[str, Any]]:
        if exam_id != candidate.exam_id:
            raise errors.NotFound(f"no exam {exam_id!r} for this candidate")
        start = StartOp(self.catalog, candidate.exam_id, candidate.id, self.clock.now())
        status, meta = await self.writes.begin_attempt(start)
        self._remember(meta)  # a later view needs no read to find it
        if start.fresh is None:  # resumed: the attempt as it stands now
            return status, await self.view(candidate, meta.id)
        row, exam, notes = start.fresh
        view = views.attempt_view(exam, row, (), self.clock.now(), self.fragments)
        view["announcements"] = notes
        return status, view

    async def view(self, candidate: Candidate, attempt_id: str) -> dict[str, Any]:
        """The attempt view; an attempt past its end is sealed first (it was touched)."""
        meta = await self._owned(candidate, attempt_id)
        if meta is None:
            raise errors.NotFound("no such attempt")
        for _ in range(2):
            async with self.store.read() as conn:
                row = await attempts.with_exam(conn, attempt_id)
                now = self.clock.now()
                if row.status == "in_progress" and deadlines.ended(row.end_at, row.paused_at, now):
                    expired = True
                else:
                    expired = False
                    exam = await self.catalog.get(
                        conn, row.exam_id, row.exam_version, row.exam_key_version
                    )
                    rows = await answers.of_attempt(conn, attempt_id)
                    notes = await _notes(conn, candidate)
            if not expired:
                view = views.attempt_view(exam, row, rows, now, self.fragments)
                view["announcements"] = notes
                return view
            await self._touch(candidate, meta)
        raise errors.Unavailable("the attempt is being sealed; retry")

    async def _touch(self, candidate: Candidate, meta: AttemptMeta) -> None:
        await self.writes.attempt(
            AttemptOp(
                kind="touch",
                attempt_id=meta.id,
                exam_id=meta.exam_id,
                candidate_id=candidate.id,
                items=(),
                received_at=self.clock.now(),
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
        received_at = self.clock.now()
        meta = await self._owned(candidate, attempt_id)
        exam = await self._exam_for(candidate, meta)
        items = parse_items(
            exam,
            body,
            required=kind == "save",
            max_items=self.max_items_per_save,
            left_out=left_out(exam, candidate.id),
        )
        if meta is None:
            raise errors.NotFound("no such attempt")
        result: dict[str, Any] = await self.writes.attempt(
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
        row, exam, totals, _ = await self._released(candidate, attempt_id, review=False)
        closed = row.closed_at is not None
        return views.result(
            exam, totals, row.rank if closed else None, row.percentile if closed else None
        )

    async def review(self, candidate: Candidate, attempt_id: str) -> dict[str, Any]:
        """The released attempt question by question, as the exam's `review` allows."""
        _, exam, _, rows = await self._released(candidate, attempt_id, review=True)
        return views.review(exam, candidate.id, rows, full=exam.review == "full")

    async def _released(
        self, candidate: Candidate, attempt_id: str, *, review: bool
    ) -> tuple[Any, Exam, Totals, Sequence[Any]]:
        """The attempt row, exam and totals once the result is released (409 before; 409
        for a review the exam does not offer), with the answers for a review."""
        meta = await self._owned(candidate, attempt_id)
        if meta is None:
            raise errors.NotFound("no such attempt")
        for _ in range(2):
            async with self.store.read() as conn:
                row = await attempts.with_exam(conn, attempt_id)
                exam = await self.catalog.get(
                    conn, row.exam_id, row.exam_version, row.exam_key_version
                )
                rows = await answers.review(conn, attempt_id) if review else ()
            if row.status == "in_progress" and deadlines.ended(
                row.end_at, row.paused_at, self.clock.now()
            ):
                await self._touch(candidate, meta)
                continue
            if review and exam.review == "none":
                raise errors.NoReview("this exam does not offer a review of the attempt")
            if not views.is_released(exam, row.status == "submitted", row.closed_at):
                raise errors.NotReleased(
                    "the result is not released yet"
                    if exam.show_result != "never"
                    else "this exam does not release results to candidates"
                )
            totals = Totals.loads(row.totals)
            if views.waits_for_marks(exam, totals):
                raise errors.MarksPending(
                    f"{totals.whole.pending} answers are still to be marked",
                    pending_marks=totals.whole.pending,
                )
            return row, exam, totals, rows
        raise errors.Unavailable("the attempt is being sealed; retry")

    async def me(self, candidate: Candidate) -> dict[str, Any]:
        async with self.store.read() as conn:
            exam = await self.catalog.current(conn, candidate.exam_id)
            attempt = await attempts.of_candidate(conn, candidate.exam_id, candidate.id)
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
            "server_time": format_time(self.clock.now()),
        }
