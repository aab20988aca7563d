"""Results for examiners and invigilators: the results table, live counters, and the
invigilator's table of candidates. Reads only; ranks are written by a job
(jobs/handlers/ranks.py) once the exam closes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from examvault.clock import Clock, format_time
from examvault.domain import results as table
from examvault.domain import views
from examvault.domain.exams import Exam
from examvault.domain.totals import Totals
from examvault.metrics import Metrics
from examvault.services.catalog import Catalog
from examvault.store.engine import Store
from examvault.store.queries import attempts, candidates, save_stats


@dataclass
class Results:
    """What the exam team reads about an exam's attempts."""

    store: Store
    catalog: Catalog
    clock: Clock
    metrics: Metrics

    async def table(self, exam_id: str) -> tuple[Exam, list[dict[str, Any]]]:
        """One row per registered candidate, ordered by candidate id (code-point order)."""
        async with self.store.read() as conn:
            exam, header = await self.catalog.exam_of(conn, exam_id)
            rows = await candidates.with_attempts(
                conn,
                exam_id,
                "status",
                "totals",
                "rank",
                "percentile",
                "section_ranks",
                "submitted_at",
                "submit_kind",
            )
        closed = header.closed_at is not None
        return exam, [table.row(exam, r, closed) for r in rows]

    async def stats(self, exam_id: str) -> dict[str, Any]:
        """Live counters for the invigilator (docs/api.md, GET .../stats)."""
        now_s = self.clock.now() // 1_000_000
        async with self.store.read() as conn:
            await self.catalog.exam_of(conn, exam_id)
            registered = await candidates.count(conn, exam_id)
            by_status = await attempts.counts_by_status(conn, exam_id)
            saved, late = await save_stats.totals(conn, exam_id)
            recent = await save_stats.per_second(conn, exam_id, now_s - 60)
        last_10 = sum(n for s, n in recent.items() if s > now_s - 10)
        return {
            "exam_id": exam_id,
            "registered": registered,
            "in_progress": by_status.get("in_progress", 0),
            "submitted": by_status.get("submitted", 0),
            "answers_saved": saved,
            "last_minute_saves": sum(recent.values()),
            "late_items": late,
            "saves_per_second": round(last_10 / 10, 1),
            "save_p99_ms": self.metrics.save_window.p99_ms(),
        }

    async def candidates(
        self,
        exam_id: str,
        *,
        rooms: Sequence[str] | None = None,
        candidate_ids: Sequence[str] | None = None,
        scores: bool = True,
    ) -> list[dict[str, Any]]:
        """The invigilator's table: state, room, accommodation, deadline, last seen,
        answers given, and the score once submitted (left out with `scores=False`)."""
        async with self.store.read() as conn:
            await self.catalog.exam_of(conn, exam_id)
            rows = await candidates.with_attempts(
                conn,
                exam_id,
                "status",
                "last_seen_at",
                "answered",
                "totals",
                "deadline",
                "paused_at",
                rooms=rooms,
                candidate_ids=candidate_ids,
            )
        out = []
        for r in rows:
            paused = r.status == "in_progress" and r.paused_at is not None
            row: dict[str, Any] = {
                "candidate_id": r.candidate_id,
                "name": r.name,
                "status": "paused" if paused else (r.status or "absent"),
                "attempt_id": r.attempt_id,
                "room": r.room,
                "extra_seconds": r.extra_seconds,
                "extended_seconds": r.extended_seconds,
                "paused": paused,
                "deadline": format_time(r.deadline),
                "last_seen": format_time(r.last_seen_at),
                "answers": r.answered or 0,
            }
            if scores:
                row["score"] = (
                    views.number(Totals.loads(r.totals).whole.score)
                    if r.status == "submitted"
                    else None
                )
            out.append(row)
        return out
