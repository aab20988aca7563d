"""Results for examiners: the results table, live counters, and the ranks job.

Ranks and percentiles are computed by a background job once the exam closes (written
in the same transaction as the close), never in a candidate's request. The job is
idempotent: it recomputes every rank of the exam from the stored totals, so running it
twice, or after a late straggler changed a total, gives the same table.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import analytics, errors, views
from examvault.clock import format_time
from examvault.exams import Exam
from examvault.store.tables import attempts, candidates, exams, save_stats
from examvault.totals import Totals

if TYPE_CHECKING:
    from examvault.core import Core

COUNTS = ("correct", "partial", "wrong", "unanswered")


async def exam_of(conn: AsyncConnection, core: Core, exam_id: str) -> tuple[Exam, Any]:
    """The exam as it stands (current key) and its row (version, key version, closed_at)."""
    row = (
        await conn.execute(
            select(exams.c.version, exams.c.key_version, exams.c.closed_at).where(
                exams.c.id == exam_id
            )
        )
    ).one_or_none()
    if row is None:
        raise errors.NotFound(f"no exam {exam_id!r}")
    return await core.catalog.get(conn, exam_id, row.version, row.key_version), row


async def results(core: Core, exam_id: str) -> tuple[Exam, list[dict[str, Any]]]:
    """One row per registered candidate, ordered by candidate id (code-point order)."""
    async with core.store.read() as conn:
        exam, exam_row = await exam_of(conn, core, exam_id)
        rows = await _registered(
            conn,
            exam_id,
            attempts.c.status,
            attempts.c.totals,
            attempts.c.rank,
            attempts.c.percentile,
            attempts.c.section_ranks,
            attempts.c.submitted_at,
            attempts.c.submit_kind,
        )
    closed = exam_row.closed_at is not None
    return exam, [_row(exam, r, closed) for r in rows]


async def _registered(conn: AsyncConnection, exam_id: str, *columns: Any) -> list[Any]:
    """Every registered candidate with these columns of their attempt (None if absent),
    in candidate-id code-point order: sorted here, whatever the database's collation."""
    rows = (
        await conn.execute(
            select(
                candidates.c.id.label("candidate_id"),
                candidates.c.name,
                attempts.c.id.label("attempt_id"),
                *columns,
            )
            .select_from(candidates)
            .outerjoin(
                attempts,
                (attempts.c.exam_id == candidates.c.exam_id)
                & (attempts.c.candidate_id == candidates.c.id),
            )
            .where(candidates.c.exam_id == exam_id)
        )
    ).all()
    return sorted(rows, key=lambda r: r.candidate_id)


def _row(exam: Exam, r: Any, closed: bool) -> dict[str, Any]:
    submitted = r.status == "submitted"
    totals = Totals.loads(r.totals) if submitted else None
    ranks = orjson.loads(r.section_ranks) if (closed and submitted and r.section_ranks) else None
    row: dict[str, Any] = {
        "candidate_id": r.candidate_id,
        "attempt_id": r.attempt_id,
        "status": r.status or "absent",
        "score": views.number(totals.whole.score) if totals else None,
        "max_score": views.number(exam.max_score),
        "sections": {s.id: views.number(totals.sections[s.id].score) for s in exam.sections}
        if totals
        else None,
    }
    for i, name in enumerate(COUNTS):
        row[name] = totals.whole.counts[i] if totals else None
    row |= {
        "rank": r.rank if closed and submitted else None,
        "percentile": views.decimal_number(r.percentile) if closed and submitted else None,
        "submitted_at": format_time(r.submitted_at),
        "submit_kind": r.submit_kind,
        "section_ranks": {k: v[0] for k, v in ranks.items()} if ranks else None,
        "section_percentiles": {k: views.decimal_number(v[1]) for k, v in ranks.items()}
        if ranks
        else None,
    }
    return row


def results_csv(exam: Exam, rows: list[dict[str, Any]]) -> str:
    """The results table as CSV: sections flattened, null as an empty cell."""
    sids = [s.id for s in exam.sections]
    header = [
        "candidate_id", "attempt_id", "status", "score", "max_score",
        *[f"section.{s}" for s in sids],
        *COUNTS, "rank", "percentile", "submitted_at", "submit_kind",
        *[f"section_rank.{s}" for s in sids],
        *[f"section_percentile.{s}" for s in sids],
    ]  # fmt: skip
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        sec = r["sections"] or {}
        sr = r["section_ranks"] or {}
        sp = r["section_percentiles"] or {}
        values = [
            r["candidate_id"],
            r["attempt_id"],
            r["status"],
            r["score"],
            r["max_score"],
            *[sec.get(s) for s in sids],
            *[r[c] for c in COUNTS],
            r["rank"],
            r["percentile"],
            r["submitted_at"],
            r["submit_kind"],
            *[sr.get(s) for s in sids],
            *[sp.get(s) for s in sids],
        ]  # fmt: skip
        writer.writerow(["" if v is None else v for v in values])
    return buf.getvalue()


async def stats(core: Core, exam_id: str) -> dict[str, Any]:
    """Live counters for the invigilator (API.md, GET .../stats)."""
    now_s = core.clock.now() // 1_000_000
    async with core.store.read() as conn:
        await exam_of(conn, core, exam_id)
        registered = (
            await conn.execute(
                select(func.count()).select_from(candidates).where(candidates.c.exam_id == exam_id)
            )
        ).scalar_one()
        by_status: dict[str, int] = dict(
            (
                await conn.execute(
                    select(attempts.c.status, func.count())
                    .where(attempts.c.exam_id == exam_id)
                    .group_by(attempts.c.status)
                )
            ).all()
        )
        sums = (
            await conn.execute(
                select(
                    func.coalesce(func.sum(save_stats.c.saved), 0),
                    func.coalesce(func.sum(save_stats.c.late), 0),
                ).where(save_stats.c.exam_id == exam_id)
            )
        ).one()
        recent = dict(
            (
                await conn.execute(
                    select(save_stats.c.second, func.sum(save_stats.c.saved))
                    .where(save_stats.c.exam_id == exam_id, save_stats.c.second > now_s - 60)
                    .group_by(save_stats.c.second)
                )
            ).all()
        )
    last_10 = sum(int(v) for s, v in recent.items() if s > now_s - 10)
    return {
        "exam_id": exam_id,
        "registered": registered,
        "in_progress": by_status.get("in_progress", 0),
        "submitted": by_status.get("submitted", 0),
        "answers_saved": int(sums[0]),
        "last_minute_saves": sum(int(v) for v in recent.values()),
        "late_items": int(sums[1]),
        "saves_per_second": round(last_10 / 10, 1),
        "save_p99_ms": core.metrics.save_window.p99_ms(),
    }


async def compute_ranks(core: Core, exam_id: str) -> list[dict[str, Any]]:
    """Ranks and percentiles of every submitted attempt, overall and per section."""
    async with core.store.read() as conn:
        exam, _ = await exam_of(conn, core, exam_id)
        rows = (
            await conn.execute(
                select(attempts.c.id, attempts.c.totals).where(
                    attempts.c.exam_id == exam_id, attempts.c.status == "submitted"
                )
            )
        ).all()
    totals = [Totals.loads(r.totals) for r in rows]
    whole: list[Fraction] = [t.whole.score for t in totals]
    ranks = analytics.competition_ranks(whole)
    pcts = analytics.percentiles(whole)
    per_section: dict[str, tuple[list[int], list[Any]]] = {}
    for s in exam.sections:
        scores = [t.sections[s.id].score for t in totals]
        per_section[s.id] = (analytics.competition_ranks(scores), analytics.percentiles(scores))
    return [
        {
            "b_id": r.id,
            "rank": ranks[i],
            "percentile": str(pcts[i]),
            "section_ranks": orjson.dumps(
                {sid: [v[0][i], str(v[1][i])] for sid, v in per_section.items()}
            ).decode(),
        }
        for i, r in enumerate(rows)
    ]


async def write_ranks(conn: AsyncConnection, updates: list[dict[str, Any]]) -> None:
    """Store the ranks computed by `compute_ranks`."""
    if updates:
        await conn.execute(
            update(attempts).where(attempts.c.id == bindparam("b_id")),
            updates,
        )


async def candidate_table(core: Core, exam_id: str) -> list[dict[str, Any]]:
    """The invigilator's table: state, last seen, answers given, score once submitted."""
    async with core.store.read() as conn:
        await exam_of(conn, core, exam_id)
        rows = await _registered(
            conn,
            exam_id,
            attempts.c.status,
            attempts.c.last_seen_at,
            attempts.c.answered,
            attempts.c.totals,
        )
    return [
        {
            "candidate_id": r.candidate_id,
            "name": r.name,
            "status": r.status or "absent",
            "attempt_id": r.attempt_id,
            "last_seen": format_time(r.last_seen_at),
            "answers": r.answered or 0,
            "score": views.number(Totals.loads(r.totals).whole.score)
            if r.status == "submitted"
            else None,
        }
        for r in rows
    ]
