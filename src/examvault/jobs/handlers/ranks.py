"""The `ranks` job: ranks and percentiles of every submitted attempt, overall and per
section, once the exam closes (written in the same transaction as the close) and no
manual question waits for a mark (each mark of a closed exam enqueues it again).

Idempotent: it recomputes every rank of the exam from the stored totals, so running it
twice, or after a late straggler changed a total, gives the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.domain import ranking
from examvault.domain.totals import Totals
from examvault.jobs.queue import Finish, Job
from examvault.services.catalog import Catalog
from examvault.store.engine import Store
from examvault.store.queries import attempts


@dataclass
class Ranks:
    """Computes ranks from a snapshot, and writes them when the job completes."""

    store: Store
    catalog: Catalog

    async def compute(self, exam_id: str) -> list[dict[str, Any]]:
        """The rank rows of every submitted attempt (attempts.write_ranks' shape)."""
        async with self.store.read() as conn:
            exam, _ = await self.catalog.exam_of(conn, exam_id)
            rows = await attempts.submitted(conn, exam_id)
        totals = [Totals.loads(r.totals) for r in rows]
        if any(t.whole.pending for t in totals):
            # Ranks wait for the last mark (docs/marking.md): a rank among half-marked
            # scripts would be shown, then change. The job the last mark enqueues ranks.
            return [
                {"b_id": r.id, "rank": None, "percentile": None, "section_ranks": None}
                for r in rows
            ]
        whole: list[Fraction] = [t.whole.score for t in totals]
        ranks = ranking.competition_ranks(whole)
        pcts = ranking.percentiles(whole)
        per_section: dict[str, tuple[list[int], list[Any]]] = {}
        for s in exam.sections:
            scores = [t.sections[s.id].score for t in totals]
            per_section[s.id] = (ranking.competition_ranks(scores), ranking.percentiles(scores))
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

    async def __call__(self, job: Job) -> Finish:
        updates = await self.compute(job["exam_id"])

        async def finish(conn: AsyncConnection) -> None:
            await attempts.write_ranks(conn, updates)

        return finish
