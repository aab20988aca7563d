"""The analytics document: gathered from the store, computed off the event loop, kept.

The `analytics` job (enqueued when an exam closes and after a regrade) computes the
document of API-ADMIN.md over the submitted attempts and stores it with its `basis`:
the key version, the close, and how many attempts were submitted and when the last one
was. `GET .../analytics` serves the stored document while its basis is current and
otherwise computes a fresh one on demand and stores it; that is how the provisional
figures of a running exam stay current without a job per submission.

The figures themselves are pure (`item_analysis.py`); this module only reads the store:
the submitted attempts' totals, then one aggregated pass over their answers (`_TALLY`),
and runs the arithmetic in a worker thread so the event loop keeps answering saves.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors, item_analysis
from examvault.answers import decode_response
from examvault.clock import format_time
from examvault.exams import Exam
from examvault.results import exam_of
from examvault.store.tables import analytics, attempts, candidates, exam_keys, exams
from examvault.totals import Totals

if TYPE_CHECKING:
    from examvault.core import Core
    from examvault.jobs import Finish


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
    """Read the submitted attempts and the tally of their answers in one snapshot."""
    async with core.store.read() as conn:
        exam, row = await exam_of(conn, core, exam_id)
        current = await basis(conn, exam_id)
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
        parsed = [Totals.loads(r.totals) for r in rows]
        totals = [t.whole.score for t in parsed]
        candidate_ids = [r.candidate_id for r in rows]
        rk = item_analysis.ranking(totals, candidate_ids)
        groups = [
            (r.id, (i in rk.upper) | (i in rk.lower) << 1, rk.scaled[i]) for i, r in enumerate(rows)
        ]
        raw = await _tally_rows(conn, core.store.is_postgresql, groups) if rows else []
    tally = item_analysis.Tally(
        candidate_ids=candidate_ids,
        totals=totals,
        sections={s.id: [t.sections[s.id].score for t in parsed] for s in exam.sections},
        cells={},
        times={},
    )
    closed = row.closed_at is not None
    return Gathered(exam, tally, raw, closed, registered - started, current)


# One pass over the answers of the submitted attempts, aggregated by the database: per
# question, distinct stored answer and rank group (1 upper, 2 lower, 3 both), how many
# attempts, the sum of their scaled totals and their times. About 1,000 rows instead of
# 2 M for 10,000 attempts × 200 questions: reading every answer row into Python through
# SQLAlchemy was most of the time (docs/performance.md). The groups travel in a temporary
# table of this connection's transaction; the sums are exact integers on both stores.
_GROUPS = "ev_rank_groups"
_TALLY = """
SELECT a.question_id, a.response, a.outcome, a.score, g.grp, COUNT(*), SUM(g.y), {times}
FROM {groups} g JOIN answers a ON a.attempt_id = g.attempt_id
GROUP BY a.question_id, a.response, a.outcome, a.score, g.grp
"""


async def _tally_rows(
    conn: AsyncConnection, postgresql: bool, groups: list[tuple[str, int, int]]
) -> list[tuple[Any, ...]]:
    """The aggregated answer rows, through the raw driver (the rows need no mapping)."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if postgresql:
        # The transaction has begun (SQLAlchemy ran the queries above), so ON COMMIT DROP
        # removes the table when the read ends, whether it succeeded or not.
        await driver.execute(
            f"CREATE TEMP TABLE {_GROUPS} (attempt_id TEXT PRIMARY KEY, grp INTEGER NOT NULL,"
            " y BIGINT NOT NULL) ON COMMIT DROP"
        )
        await driver.copy_records_to_table(_GROUPS, records=groups)
        await driver.execute(f"ANALYZE {_GROUPS}")  # else it is planned as a tiny table
        times = "string_agg(a.time_spent_ms::text, ',')"
        rows = await driver.fetch(_TALLY.format(times=times, groups=_GROUPS))
        return [tuple(r) for r in rows]
    # SQLite: a temporary table lives in the connection's own temp database, so creating
    # it takes no lock on the main database and the read stays a reader.
    await driver.execute(f"DROP TABLE IF EXISTS temp.{_GROUPS}")
    await driver.execute(
        f"CREATE TEMP TABLE {_GROUPS} (attempt_id TEXT PRIMARY KEY, grp INTEGER NOT NULL,"
        " y INTEGER NOT NULL)"
    )
    try:
        await driver.executemany(f"INSERT INTO temp.{_GROUPS} VALUES (?, ?, ?)", groups)
        sql = _TALLY.format(times="group_concat(a.time_spent_ms)", groups=f"temp.{_GROUPS}")
        async with driver.execute(sql) as cursor:
            return [tuple(r) for r in await cursor.fetchall()]
    finally:
        await driver.execute(f"DROP TABLE temp.{_GROUPS}")


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


async def compute(core: Core, exam_id: str) -> tuple[dict[str, Any], Gathered]:
    """A fresh analytics document, the arithmetic done in a worker thread."""
    data = await gather(core, exam_id)

    def work() -> dict[str, Any]:
        return item_analysis.figures_of(data.exam, tally(data.exam, data.tally, data.rows))

    figures = await asyncio.to_thread(work)
    document = {
        "exam_id": exam_id,
        "provisional": not data.closed,
        "computed_at": format_time(core.clock.now()),
        "submitted": data.tally.n,
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
