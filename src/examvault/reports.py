"""The analytics document: gathered from the store, computed off the event loop, kept.

The `analytics` job (enqueued when an exam closes and after a regrade) computes the
document of API-ADMIN.md over the submitted attempts and stores it with its `basis`:
the key version, the close, and how many attempts were submitted and when the last one
was. `GET .../analytics` serves the stored document while its basis is current and
otherwise computes a fresh one on demand and stores it; that is how the provisional
figures of a running exam stay current without a job per submission.

The figures themselves are pure (`item_analysis.py`); this module only reads rows into a
`Sheet`, in partitions so other requests are served in between, and runs the arithmetic
in a worker thread so the event loop keeps answering saves meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors, item_analysis
from examvault.answers import decode_response
from examvault.clock import format_time
from examvault.exams import Exam
from examvault.marking import Outcome, Response, score
from examvault.store.tables import analytics, answers, attempts, candidates, exam_keys, exams
from examvault.totals import Totals

if TYPE_CHECKING:
    from examvault.core import Core
    from examvault.jobs import Finish

_PARTITION = 5000


@dataclass(frozen=True, slots=True)
class Gathered:
    """What one read of the store gives: the exam, its sheet, and the header figures."""

    exam: Exam
    sheet: item_analysis.Sheet
    closed: bool
    absent: int
    basis: str


async def basis(conn: AsyncConnection, exam_id: str) -> str:
    """The state of the data a document is computed from; equal bases, equal documents."""
    row = (
        await conn.execute(
            select(exams.c.key_version, exams.c.closed_at).where(exams.c.id == exam_id)
        )
    ).one_or_none()
    if row is None:
        raise errors.NotFound(f"no exam {exam_id!r}")
    count, last = (
        await conn.execute(
            select(func.count(), func.max(attempts.c.submitted_at)).where(
                attempts.c.exam_id == exam_id, attempts.c.status == "submitted"
            )
        )
    ).one()
    regrading = (
        await conn.execute(
            select(func.count()).where(
                exam_keys.c.exam_id == exam_id, exam_keys.c.status == "regrading"
            )
        )
    ).scalar_one()
    return f"k{row.key_version}:c{row.closed_at}:n{count}:s{last}:r{regrading}"


async def gather(core: Core, exam_id: str) -> Gathered:
    """Read the submitted attempts and their answers in one snapshot."""
    async with core.store.read() as conn:
        row = (
            await conn.execute(
                select(exams.c.version, exams.c.key_version, exams.c.closed_at).where(
                    exams.c.id == exam_id
                )
            )
        ).one_or_none()
        if row is None:
            raise errors.NotFound(f"no exam {exam_id!r}")
        current = await basis(conn, exam_id)
        exam = await core.catalog.get(conn, exam_id, row.version, row.key_version)
        registered = (
            await conn.execute(
                select(func.count()).select_from(candidates).where(candidates.c.exam_id == exam_id)
            )
        ).scalar_one()
        started = (
            await conn.execute(
                select(func.count()).select_from(attempts).where(attempts.c.exam_id == exam_id)
            )
        ).scalar_one()
        rows = (
            await conn.execute(
                select(attempts.c.id, attempts.c.candidate_id, attempts.c.totals).where(
                    attempts.c.exam_id == exam_id, attempts.c.status == "submitted"
                )
            )
        ).all()
        builder = _Builder(exam, rows)
        result = await conn.stream(
            select(
                answers.c.attempt_id,
                answers.c.question_id,
                answers.c.response,
                answers.c.outcome,
                answers.c.score,
                answers.c.time_spent_ms,
            )
            .join(attempts, attempts.c.id == answers.c.attempt_id)
            .where(attempts.c.exam_id == exam_id, attempts.c.status == "submitted")
        )
        async for part in result.partitions(_PARTITION):
            builder.add(part)
            await asyncio.sleep(0)  # let saves of other exams through between partitions
    return Gathered(exam, builder.sheet(), row.closed_at is not None, registered - started, current)


class _Builder:
    """Fills the sheet's columns from answer rows; questions without a row are unanswered."""

    def __init__(self, exam: Exam, rows: Any) -> None:
        self.exam = exam
        n = len(rows)
        self.index = {r.id: i for i, r in enumerate(rows)}
        self.candidate_ids = [r.candidate_id for r in rows]
        parsed = [Totals.loads(r.totals) for r in rows]
        self.totals = [t.whole.score for t in parsed]
        self.sections = {s.id: [t.sections[s.id].score for t in parsed] for s in exam.sections}
        self.outcomes: dict[str, list[Outcome]] = {}
        self.scores: dict[str, list[Fraction]] = {}
        self.responses: dict[str, list[Response]] = {}
        self.times: dict[str, list[int | None]] = {}
        for q in exam.questions:
            outcome, marks = score(q.rule, None)
            self.outcomes[q.id] = [outcome] * n
            self.scores[q.id] = [marks] * n
            self.responses[q.id] = [None] * n
            self.times[q.id] = [None] * n
        # Few distinct values: decode each once and share the objects (cheap to group).
        self._responses: dict[tuple[str, str | None], Response] = {}
        self._marks: dict[str, Fraction] = {}

    def add(self, rows: Any) -> None:
        for attempt_id, qid, text, outcome, marks, ms in rows:
            i = self.index[attempt_id]
            key = (qid, text)
            response = self._responses.get(key)
            if response is None and key not in self._responses:
                response = decode_response(self.exam.by_id[qid], text)
                self._responses[key] = response
            value = self._marks.get(marks)
            if value is None:
                value = self._marks[marks] = Fraction(marks)
            self.outcomes[qid][i] = outcome
            self.scores[qid][i] = value
            self.responses[qid][i] = response
            self.times[qid][i] = None if response is None else ms

    def sheet(self) -> item_analysis.Sheet:
        return item_analysis.Sheet(
            candidate_ids=self.candidate_ids,
            totals=self.totals,
            sections=self.sections,
            outcomes=self.outcomes,
            scores=self.scores,
            responses=self.responses,
            times=self.times,
        )


async def compute(core: Core, exam_id: str) -> tuple[dict[str, Any], Gathered]:
    """A fresh analytics document, the arithmetic done in a worker thread."""
    data = await gather(core, exam_id)
    figures = await asyncio.to_thread(item_analysis.figures, data.exam, data.sheet)
    document = {
        "exam_id": exam_id,
        "provisional": not data.closed,
        "computed_at": format_time(core.clock.now()),
        "submitted": data.sheet.n,
        "absent": data.absent,
        **figures,
    }
    return document, data


@dataclass(eq=False)
class StoreDocument:
    """Keep an analytics document, replacing the previous one."""

    core: Core
    exam_id: str
    computed_at: int
    basis: str
    document: str

    async def apply(self, conn: AsyncConnection) -> None:
        stmt = self.core.insert(analytics).values(
            exam_id=self.exam_id,
            computed_at=self.computed_at,
            basis=self.basis,
            document=self.document,
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[analytics.c.exam_id],
                set_={
                    "computed_at": stmt.excluded.computed_at,
                    "basis": stmt.excluded.basis,
                    "document": stmt.excluded.document,
                },
            )
        )


async def handle(core: Core, job: dict[str, Any]) -> Finish:
    """The `analytics` job: compute and store the document of one exam."""
    document, data = await compute(core, job["exam_id"])
    store = StoreDocument(
        core, job["exam_id"], core.clock.now(), data.basis, orjson.dumps(document).decode()
    )
    return store.apply


async def current(core: Core, exam_id: str) -> orjson.Fragment:
    """The stored document when its basis is current, else a fresh one (then stored)."""
    async with core.store.read() as conn:
        now_basis = await basis(conn, exam_id)
        stored = (
            await conn.execute(
                select(analytics.c.basis, analytics.c.document).where(
                    analytics.c.exam_id == exam_id
                )
            )
        ).one_or_none()
    if stored is not None and stored.basis == now_basis:
        return orjson.Fragment(stored.document)
    document, data = await compute(core, exam_id)
    text = orjson.dumps(document).decode()
    await core.write(StoreDocument(core, exam_id, core.clock.now(), data.basis, text))
    return orjson.Fragment(text)
