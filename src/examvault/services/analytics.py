"""The analytics document: gathered from the store, computed off the event loop, kept.

The `analytics` job (enqueued when an exam closes and after a regrade) computes the
document of docs/api.md over the submitted attempts and stores it with its `basis`:
the key version, the close, and how many attempts were submitted and when the last one
was. `GET .../analytics` serves the stored document while its basis is current and
otherwise computes a fresh one on demand and stores it; that is how the provisional
figures of a running exam stay current without a job per submission.

The figures themselves are pure (domain/item_analysis.py); this module only reads the
store: the submitted attempts' totals, then one aggregated pass over their answers
(`store.queries.answers.tally`), and runs the arithmetic in a worker thread so the event
loop keeps answering saves.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock, format_time
from examvault.domain import item_analysis
from examvault.domain.answers import decode_response
from examvault.domain.exams import Exam
from examvault.domain.totals import Totals
from examvault.services.catalog import Catalog
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import analytics, answers, attempts, candidates, exam_keys, exams


@dataclass(frozen=True, slots=True)
class Gathered:
    """What one read of the store gives: the exam, its sheet, and the header figures."""

    exam: Exam
    tally: item_analysis.Tally  # cells and times still empty: see `tally`
    rows: list[tuple[Any, ...]]
    closed: bool
    absent: int
    basis: str


async def basis(conn: AsyncConnection, exam_id: str) -> str:
    """The state of the data a document is computed from; equal bases, equal documents."""
    header = await exams.header(conn, exam_id)
    if header is None:
        raise errors.NotFound(f"no exam {exam_id!r}")
    count, last = await attempts.submitted_summary(conn, exam_id)
    regrading = len(await exam_keys.regrading(conn, exam_id))
    return f"k{header.key_version}:c{header.closed_at}:n{count}:s{last}:r{regrading}"


def tally(
    exam: Exam, base: item_analysis.Tally, rows: list[tuple[Any, ...]]
) -> item_analysis.Tally:
    """The tally with its cells and times filled in from the aggregated rows."""
    cells: dict[str, list[item_analysis.Cell]] = {q.id: [] for q in exam.questions}
    times: dict[str, list[int]] = {q.id: [] for q in exam.questions}
    marks: dict[str, Fraction] = {}
    for qid, text, outcome, score_text, grp, count, total, spent in rows:
        q = exam.by_id.get(qid)
        if q is None:
            continue
        response = decode_response(q, text)
        value = marks.get(score_text)
        if value is None:
            value = marks[score_text] = Fraction(score_text)
        cells[qid].append(
            item_analysis.Cell(
                response, outcome, value, bool(grp & 1), bool(grp & 2), count, int(total)
            )
        )
        if response is not None and spent:
            times[qid].extend(map(int, spent.split(",")))
    return replace(base, cells=cells, times=times)


@dataclass(eq=False)
class StoreDocument:
    """Keep an analytics document, replacing the previous one."""

    exam_id: str
    computed_at: int
    basis: str
    document: str

    async def apply(self, conn: AsyncConnection) -> None:
        await analytics.put(conn, self.exam_id, self.computed_at, self.basis, self.document)


@dataclass
class Analytics:
    """The examiners' figures of an exam."""

    store: Store
    writes: Writes
    catalog: Catalog
    clock: Clock

    async def gather(self, exam_id: str) -> Gathered:
        """Read the submitted attempts and the tally of their answers in one snapshot."""
        async with self.store.read() as conn:
            exam, header = await self.catalog.exam_of(conn, exam_id)
            current = await basis(conn, exam_id)
            registered = await candidates.count(conn, exam_id)
            started = await attempts.count_started(conn, exam_id)
            rows = await attempts.submitted(conn, exam_id)
            parsed = [Totals.loads(r.totals) for r in rows]
            totals = [t.whole.score for t in parsed]
            candidate_ids = [r.candidate_id for r in rows]
            rk = item_analysis.ranking(totals, candidate_ids)
            groups = [
                (r.id, (i in rk.upper) | (i in rk.lower) << 1, rk.scaled[i])
                for i, r in enumerate(rows)
            ]
            keyless = [q.id for q in exam.questions if q.type in ("numeric", "text")]
            raw = await answers.tally(conn, groups, keyless) if rows else []
        sheet = item_analysis.Tally(
            candidate_ids=candidate_ids,
            totals=totals,
            sections={s.id: [t.sections[s.id].score for t in parsed] for s in exam.sections},
            cells={},
            times={},
        )
        closed = header.closed_at is not None
        return Gathered(exam, sheet, raw, closed, registered - started, current)

    async def compute(self, exam_id: str) -> tuple[dict[str, Any], Gathered]:
        """A fresh analytics document, the arithmetic done in a worker thread."""
        data = await self.gather(exam_id)

        def work() -> dict[str, Any]:
            return item_analysis.figures_of(data.exam, tally(data.exam, data.tally, data.rows))

        figures = await asyncio.to_thread(work)
        document = {
            "exam_id": exam_id,
            "provisional": not data.closed,
            "computed_at": format_time(self.clock.now()),
            "submitted": data.tally.n,
            "absent": data.absent,
            **figures,
        }
        return document, data

    async def fresh(self, exam_id: str) -> StoreDocument:
        """Compute the document now; the write that keeps it."""
        document, data = await self.compute(exam_id)
        text = orjson.dumps(document).decode()
        return StoreDocument(exam_id, self.clock.now(), data.basis, text)

    async def current(self, exam_id: str) -> orjson.Fragment:
        """The stored document when its basis is current, else a fresh one (then stored)."""
        async with self.store.read() as conn:
            now_basis = await basis(conn, exam_id)
            stored = await analytics.stored(conn, exam_id)
        if stored is not None and stored.basis == now_basis:
            return orjson.Fragment(stored.document)
        keep = await self.fresh(exam_id)
        await self.writes.run(keep)
        return orjson.Fragment(keep.document)
