"""The `regrade` job: move every attempt of an exam to a new key, from its stored responses.

Enqueued by a key change (services/keys.py). It reads only the answers to the questions
whose rule changed (`rescoring.touched`) and moves each attempt's totals by the
difference, exactly (domain/rescoring.py), in chunks of attempts that are each one write
of their own, so the group-commit writer is never held for long and saves of other exams
keep flowing between chunks. A chunk reads the answers and writes the new scores in the
same transaction (attempts locked on PostgreSQL), so a save landing meanwhile is either
before the chunk (and moved by it) or after it (and scored under the new key by the save
itself). The impact compares each attempt under the key before the change with the key
after it, recomputed from the responses, so it is the same on every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.clock import MICROS
from examvault.domain.exams import left_out
from examvault.domain.rescoring import Rescored, Scorer, impact, rescore, touched
from examvault.domain.totals import Totals
from examvault.jobs.handlers.ranks import Ranks
from examvault.jobs.queue import Finish, Job
from examvault.services.catalog import Catalog
from examvault.services.queue import JobQueue
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import answers, attempts, exam_keys, exams

CHUNK = 250  # attempts per write at most
CHUNK_ROWS = 2000  # answer rows per write, about
CHUNK_FLOOR = 25  # attempts per write at least
SAVE_CLOCK_MARGIN = 300 * MICROS


@dataclass(eq=False)
class RescoreChunk:
    """Rescore some attempts in one write: the changed answers, the totals by the difference.

    `questions`: the questions whose rule changed (by default, between `old` and `new`);
    `blanks`: a scorer per key version attempts may still be at (by default `old`);
    `since`: attempts still in progress, or submitted at or after this time, are rescored
    from scratch instead (see `from_scratch`).
    """

    exam_id: str
    attempt_ids: Sequence[str]
    new: Scorer
    old: Scorer
    questions: frozenset[str] | None = None
    blanks: Mapping[int, Scorer] = field(default_factory=dict)
    since: int | None = None

    def from_scratch(self, row: Any) -> bool:
        """Whether a save may have landed on this attempt between the change and now.

        A save that gives a question its first answer moves the totals from the blank
        marks of the key it runs under (services/journal.py), not of the key the attempt's totals
        were at; when a change altered those blank marks (a drop with a bonus) the
        difference is not in the rows. Such an attempt is recomputed from all its rows,
        as before; a closed exam's attempts, the usual case, take the fast path.
        """
        if row.key_version == self.new.exam.key_version:
            return False
        if row.status != "submitted":
            return True
        return self.since is not None and (row.submitted_at or 0) >= self.since

    async def apply(self, conn: AsyncConnection) -> list[Rescored]:
        target = self.new.exam.key_version
        qids = touched([self.old.exam, self.new.exam]) if self.questions is None else self.questions
        rows = await attempts.for_rescore(conn, self.exam_id, self.attempt_ids)
        full = {r.id for r in rows if self.from_scratch(r)}
        stored: dict[str, list[tuple[str, str | None, str, str, str | None]]] = {
            r.id: [] for r in rows
        }
        fast = [r.id for r in rows if r.id not in full]
        for ids, only in ((fast, qids), (sorted(full), None)):
            if ids and (only is None or only):
                for r in await answers.for_rescore(conn, ids, only):
                    stored[r.attempt_id].append(
                        (r.question_id, r.response, r.outcome, r.score, r.mark)
                    )
        changed_answers: list[dict[str, Any]] = []
        attempt_rows: list[dict[str, Any]] = []
        out: list[Rescored] = []
        exam = self.new.exam
        for row in rows:
            # Pools: the questions this candidate was not given count nowhere.
            gone = left_out(exam, row.candidate_id)
            if row.id in full:
                items = stored[row.id]
                totals = self.new.totals((self.new.entry(q, t, m) for q, t, _, _, m in items), gone)
                before = self.old.totals(
                    (self.old.entry(q, t, m) for q, t, _, _, m in items), gone
                ).whole.score
                changed = [
                    (q, e)
                    for q, t, outcome, marks, m in items
                    if (e := self.new.entry(q, t, m)).outcome != outcome or e.text != marks
                ]
            else:
                totals = Totals.loads(row.totals)
                blank = None
                if row.key_version != target:
                    blank = self.blanks.get(row.key_version, self.old)
                before, changed = rescore(
                    totals, stored[row.id], qids, self.new, self.old, blank, gone
                )
            for qid, e in changed:
                changed_answers.append(
                    {"b_a": row.id, "b_q": qid, "outcome": e.outcome, "score": e.text}
                )
            text = totals.dumps()
            if text != row.totals or row.key_version != target:
                attempt_rows.append({"b_id": row.id, "totals": text, "key_version": target})
            had = not gone or not qids <= gone
            out.append(Rescored(row.id, row.status == "submitted", before, totals.whole.score, had))
        await answers.update_scores(conn, changed_answers)
        await attempts.update_totals(conn, attempt_rows)
        return out


@dataclass
class Regrade:
    """Rescore the changed questions of every attempt, then mark the change done."""

    store: Store
    writes: Writes
    catalog: Catalog
    queue: JobQueue
    ranks: Ranks

    async def __call__(self, job: Job) -> Finish:
        exam_id = job["exam_id"]
        async with self.store.read() as conn:
            row = await exams.header(conn, exam_id)
            assert row is not None  # exams are never deleted
            pending = await exam_keys.regrading(conn, exam_id, up_to=row.key_version)
            target = row.key_version
            base = max(min(pending, default=target) - 1 if target > 1 else 1, 1)
            changed_at = await exam_keys.first_change_at(conn, exam_id, pending)
            lowest = await attempts.lowest_key_version(conn, exam_id)
            first = min(base, lowest or target)
            versions = [
                await self.catalog.get(conn, exam_id, row.version, v)
                for v in range(first, target + 1)
            ]
            ids = await attempts.ids_of_exam(conn, exam_id)
        scorers = {e.key_version: Scorer(e) for e in versions}
        new, old = scorers[target], scorers[base]
        questions = touched(versions)
        # Attempts submitted after the change (less a margin for clocks of other hosts) may
        # have been saved under the new key before their chunk: `RescoreChunk.from_scratch`.
        since = None if changed_at is None else changed_at - SAVE_CLOCK_MARGIN
        # Each chunk is one write in the shared writer: keep it to about CHUNK_ROWS answer
        # rows so the saves of other exams batched behind it wait milliseconds, not seconds.
        # An exam closed before `since` has only attempts moved by the difference; otherwise
        # count on reading every answer (from scratch), with a floor so the writes stay few.
        settled = row.closed_at is not None and since is not None and row.closed_at < since
        per_attempt = len(questions) if settled else len(new.exam.questions)
        size = max(CHUNK_FLOOR, min(CHUNK, CHUNK_ROWS // max(1, per_attempt)))
        rescored: list[Rescored] = []
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            rescored += await self.writes.run(
                RescoreChunk(exam_id, chunk, new, old, questions, scorers, since)
            )
        effect = orjson.dumps(impact(rescored, row.closed_at is not None)).decode()
        # Ranks are rewritten in the transaction that marks the change done, so that once
        # the history says "done" the results already show the new key's ranks.
        ranks = await self.ranks.compute(exam_id) if row.closed_at is not None else []

        async def finish(conn: AsyncConnection) -> None:
            await exam_keys.mark_done(conn, exam_id, pending, effect)
            await attempts.write_ranks(conn, ranks)
            await self.queue.enqueue(conn, "analytics", exam_id)

        return finish
