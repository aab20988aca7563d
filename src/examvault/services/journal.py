"""Applying saves and submits: every response journaled, the highest seq wins.

This is the hot path. A batch of attempt operations from the group-commit writer is
applied with a fixed number of statements whatever its size (store/batch_sql.py): one
read of the attempts (locked on PostgreSQL), one of the answers the items touch, then
one multi-row write per table. Scores and totals are computed here, in memory, as each
item is applied, so that a submit only flips the attempt's state.

The rule for time (docs/api.md, Time): an item counts when the server received it at or
before the attempt's end (deadline + grace), or, once the attempt is sealed, at or
before the seal's instant. So an item received in time still counts when its
transaction commits after a seal made by another process: the seal waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, NamedTuple

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock, format_time
from examvault.domain import deadlines, views
from examvault.domain.answers import Item, decode_response
from examvault.domain.exams import Exam
from examvault.domain.marking import Outcome, Response, score
from examvault.domain.totals import Totals, parse_fraction
from examvault.metrics import Metrics
from examvault.services.catalog import Catalog
from examvault.services.queue import JobQueue
from examvault.settings import MAX_WRITERS
from examvault.store import batch_sql
from examvault.store.batch_sql import BatchDriver, BatchSql
from examvault.store.writer import Op

log = logging.getLogger("examvault.journal")


@dataclass(eq=False)
class AttemptOp(Op):
    """A save, a submit, or a touch (a read that must seal an attempt past its end)."""

    kind: Literal["save", "submit", "touch"]
    attempt_id: str
    exam_id: str
    candidate_id: str
    items: Sequence[Item]
    received_at: int
    metrics: Metrics | None = None
    sealed: str | None = None
    applied: int = 0
    late_count: int = 0
    stale_count: int = 0

    def __post_init__(self) -> None:
        Op.__init__(self)

    def after_commit(self) -> None:
        if self.metrics is None:
            return
        if self.applied:
            self.metrics.answer_saves.inc(self.applied)
        if self.late_count:
            self.metrics.late_journal_entries.inc(self.late_count)
            self.metrics.items_refused.labels("late").inc(self.late_count)
        if self.stale_count:
            self.metrics.items_refused.labels("stale").inc(self.stale_count)
        if self.sealed:
            self.metrics.submissions.labels(self.sealed).inc()
            log.info(
                "attempt submitted", extra={"attempt_id": self.attempt_id, "kind": self.sealed}
            )

    def reset(self) -> None:
        super().reset()
        self.sealed = None
        self.applied = 0
        self.late_count = 0
        self.stale_count = 0


@dataclass(slots=True)
class Stored:
    """The answer a question holds now."""

    seq: int
    response: Response
    marked: bool
    outcome: Outcome
    score: Fraction


class AttemptRow(NamedTuple):
    """An attempt as the batch reads it (batch_sql.ATTEMPT_COLUMNS)."""

    id: str
    exam_id: str
    candidate_id: str
    exam_version: int
    status: str
    deadline: int
    end_at: int
    submitted_at: int | None
    submit_kind: str | None
    last_seq: int
    answered: int
    totals: str
    last_seen_at: int | None
    rank: int | None
    percentile: str | None
    paused_at: int | None
    reopened: bool
    exam_key_version: int
    closed_at: int | None


@dataclass
class AttemptState:
    """An attempt row as the batch changes it."""

    row: AttemptRow
    exam: Exam
    status: str
    submitted_at: int | None
    submit_kind: str | None
    last_seq: int
    answered: int
    totals: Totals
    sealed_in_batch: bool = False
    touched_late_after_close: bool = False
    seen: int = 0

    def counts(self, received_at: int) -> bool:
        """Whether an item received at this instant counts (docs/api.md, Time).

        Up to the end (deadline + grace) inclusive while in progress, and up to the seal's
        instant once sealed: inclusive for the automatic seal at the end, strictly before
        for a seal made earlier (a submit or a close), which is the moment it happened.
        While paused no end applies: everything received counts (docs/api.md, Exam day).
        """
        end = int(self.row.end_at)
        if self.status != "submitted":
            return self.row.paused_at is not None or received_at <= end
        assert self.submitted_at is not None
        sealed = int(self.submitted_at)
        return received_at <= sealed if sealed == end else received_at < sealed

    def seal(self, kind: str, at: int) -> None:
        self.status, self.submit_kind, self.submitted_at = "submitted", kind, at
        self.sealed_in_batch = True


@dataclass(slots=True)
class SaveCounts:
    """What a batch adds to an exam's `save_stats` row of this second and writer task."""

    saved: int = 0
    late: int = 0


class Journal:
    """Applies the writer's batches of saves, submits and touches."""

    def __init__(self, clock: Clock, catalog: Catalog, queue: JobQueue, shard: int) -> None:
        self.clock = clock
        self.catalog = catalog
        self.queue = queue
        # This process's rows in `save_stats`, one a writer task (`shards`), so that
        # concurrent transactions never wait on one another's row.
        self.shard = shard

    def shards(self, slot: int) -> int:
        """The `save_stats` shard of this process's writer task `slot`."""
        return self.shard * MAX_WRITERS + slot

    async def apply(self, conn: AsyncConnection, ops: Sequence[AttemptOp], slot: int) -> None:
        """Apply a batch of attempt operations inside the transaction of writer task `slot`."""
        postgresql = conn.dialect.name == "postgresql"
        sql = batch_sql.POSTGRESQL if postgresql else batch_sql.SQLITE
        now = self.clock.now()
        states = await _load_attempts(conn, ops, sql, self.catalog)
        driver = await BatchDriver.of(conn, postgresql)
        current = await _load_answers(driver, ops, states, sql)
        late_before = await _load_late(driver, ops, states, sql)
        stats: dict[str, SaveCounts] = {}
        journal_rows, answer_rows = _apply_ops(ops, states, current, late_before, stats, now)
        second = now // 1_000_000
        stats_rows = [
            (eid, second, self.shards(slot), c.saved, c.late)
            for eid, c in stats.items()
            if c.saved or c.late
        ]
        await _write(driver, sql, states, journal_rows, answer_rows, stats_rows)
        reranked = {
            st.row.exam_id
            for st in states.values()
            if st.row.closed_at is not None and (st.sealed_in_batch or st.touched_late_after_close)
        }
        for exam_id in sorted(reranked):
            await self.queue.enqueue(conn, "ranks", exam_id)


def _apply_ops(
    ops: Sequence[AttemptOp],
    states: dict[str, AttemptState],
    current: dict[tuple[str, str], Stored],
    late_before: set[tuple[str, str, int]],
    stats: dict[str, SaveCounts],
    now: int,
) -> tuple[dict[tuple[str, str, int], tuple[Any, ...]], dict[tuple[str, str], tuple[Any, ...]]]:
    """Apply each op to the attempts in memory; the journal and answer rows to write."""
    journal_rows: dict[tuple[str, str, int], tuple[Any, ...]] = {}
    answer_rows: dict[tuple[str, str], tuple[Any, ...]] = {}

    for op in ops:
        st = states.get(op.attempt_id)
        if st is None or st.row.candidate_id != op.candidate_id or st.row.exam_id != op.exam_id:
            op.error = errors.NotFound("no such attempt")
            continue
        st.seen = max(st.seen, op.received_at)
        # Judged by when the request arrived, not when its batch runs: a submit received
        # in time stays a manual submit even if the queue delayed it past the end.
        if st.status == "in_progress" and deadlines.ended(
            st.row.end_at, st.row.paused_at, op.received_at
        ):
            st.seal("auto", st.row.end_at)
            op.sealed = "auto"
        accepted: list[int] = []
        stale: list[int] = []
        late: list[int] = []
        applied = 0
        for item in sorted(op.items, key=lambda it: it.seq):
            key = (op.attempt_id, item.question_id)
            cur = current.get(key)
            if (
                cur is not None
                and item.seq == cur.seq
                and item.same_content(cur.response, cur.marked)
            ):
                accepted.append(item.seq)
                continue
            is_late = not st.counts(op.received_at)
            journal_rows.setdefault(
                (op.attempt_id, item.question_id, item.seq), _journal_row(op, item, is_late)
            )
            if (cur is not None and item.seq <= cur.seq) or (
                (op.attempt_id, item.question_id, item.seq) in late_before
            ):
                # Not higher than the stored seq; or sent again after a reopen, though
                # journaled late before it: late it stays, so not applied (docs/api.md).
                stale.append(item.seq)
            elif is_late:
                late.append(item.seq)
            else:
                _apply(st, cur, item, op, current, answer_rows, now)
                accepted.append(item.seq)
                applied += 1
                if st.status == "submitted" and st.row.closed_at is not None:
                    st.touched_late_after_close = True
        op.applied, op.late_count, op.stale_count = applied, len(late), len(stale)
        counts = stats.setdefault(st.row.exam_id, SaveCounts())
        counts.saved += applied
        counts.late += len(late)
        if op.kind == "submit" and st.status == "in_progress":
            paused = st.row.paused_at is not None
            st.seal("manual", now if paused else min(now, st.row.end_at))
            op.sealed = "manual"
        if op.kind == "save" and late:
            op.error = _conflict(st, accepted, stale, late)
        else:
            op.result = _result(op, st, accepted, stale, late, now)
    return journal_rows, answer_rows


def _apply(
    st: AttemptState,
    cur: Stored | None,
    item: Item,
    op: AttemptOp,
    current: dict[tuple[str, str], Stored],
    answer_rows: dict[tuple[str, str], tuple[Any, ...]],
    now: int,
) -> None:
    question = st.exam.by_id[item.question_id]
    old = (cur.outcome, cur.score) if cur is not None else score(question.rule, None)
    new = score(question.rule, item.response)
    st.totals.move(question.section_id, old, new)
    was_answered = cur is not None and cur.response is not None
    st.answered += int(item.response is not None) - int(was_answered)
    st.last_seq = max(st.last_seq, item.seq)
    current[(op.attempt_id, item.question_id)] = Stored(
        item.seq, item.response, item.marked, new[0], new[1]
    )
    answer_rows[(op.attempt_id, item.question_id)] = (  # batch_sql.ANSWER_WRITE_COLUMNS
        op.attempt_id,
        item.question_id,
        item.seq,
        item.response_json,
        item.marked,
        item.time_spent_ms,
        new[0],
        str(new[1]),
        now,
    )


def _journal_row(op: AttemptOp, item: Item, late: bool) -> tuple[Any, ...]:
    return (  # batch_sql.JOURNAL_COLUMNS
        op.attempt_id,
        item.question_id,
        item.seq,
        item.response_json,
        item.marked,
        item.time_spent_ms,
        op.received_at,
        late,
    )


def _conflict(
    st: AttemptState, accepted: list[int], stale: list[int], late: list[int]
) -> errors.Conflict:
    extra = {"accepted": accepted, "stale": stale, "late": late}
    if st.submit_kind == "manual":
        return errors.AlreadySubmitted(
            "the attempt was submitted; these items were kept in the journal but do not count",
            **extra,
        )
    closed_at = st.row.closed_at
    if closed_at is not None and st.submitted_at is not None and st.submitted_at < st.row.end_at:
        return errors.ExamClosed(
            "the exam was closed; these items were kept in the journal but do not count", **extra
        )
    return errors.PastDeadline(
        "the time is over; these items were kept in the journal but do not count", **extra
    )


def _result(
    op: AttemptOp,
    st: AttemptState,
    accepted: list[int],
    stale: list[int],
    late: list[int],
    now: int,
) -> dict[str, Any]:
    if op.kind == "submit":
        return {
            "status": "submitted",
            "submitted_at": format_time(st.submitted_at),
            "submit_kind": st.submit_kind,
            "late": late,
            "result": views.released_result(
                st.exam, st.totals, st.row.closed_at, st.row.rank, st.row.percentile
            ),
        }
    return {
        "accepted": accepted,
        "stale": stale,
        "last_seq": st.last_seq,
        "server_time": format_time(now),
        "deadline": format_time(st.row.deadline),
        "status": st.status,
    }


async def _load_attempts(
    conn: AsyncConnection, ops: Sequence[AttemptOp], sql: BatchSql, catalog: Catalog
) -> dict[str, AttemptState]:
    ids = sorted({op.attempt_id for op in ops})
    states: dict[str, AttemptState] = {}
    for values in await conn.exec_driver_sql(sql.load_attempts, sql.ids(ids)):
        row = AttemptRow._make(values)
        exam = await catalog.get(conn, row.exam_id, row.exam_version, row.exam_key_version)
        states[row.id] = AttemptState(
            row=row,
            exam=exam,
            status=row.status,
            submitted_at=row.submitted_at,
            submit_kind=row.submit_kind,
            last_seq=row.last_seq,
            answered=row.answered,
            totals=Totals.loads(row.totals),
        )
    return states


async def _load_answers(
    driver: BatchDriver, ops: Sequence[AttemptOp], states: dict[str, AttemptState], sql: BatchSql
) -> dict[tuple[str, str], Stored]:
    pairs = sorted(
        {(op.attempt_id, i.question_id) for op in ops if op.attempt_id in states for i in op.items}
    )
    current: dict[tuple[str, str], Stored] = {}
    if not pairs:
        return current
    # batch_sql.ANSWER_COLUMNS
    for attempt_id, question_id, seq, response, marked, outcome, stored in await driver.fetch(
        sql.load_answers, sql.pairs(pairs)
    ):
        question = states[attempt_id].exam.by_id[question_id]
        current[(attempt_id, question_id)] = Stored(
            seq=seq,
            response=decode_response(question, response),
            marked=bool(marked),
            outcome=outcome,
            score=parse_fraction(stored),
        )
    return current


async def _load_late(
    driver: BatchDriver, ops: Sequence[AttemptOp], states: dict[str, AttemptState], sql: BatchSql
) -> set[tuple[str, str, int]]:
    """(attempt, question, seq) of the items journaled late, for the reopened attempts of
    the batch only: no statement at all for a batch without one."""
    pairs = sorted(
        {
            (op.attempt_id, i.question_id)
            for op in ops
            if op.attempt_id in states and states[op.attempt_id].row.reopened
            for i in op.items
        }
    )
    if not pairs:
        return set()
    return {(a, q, int(s)) for a, q, s in await driver.fetch(sql.load_late, sql.pairs(pairs))}


async def _write(
    driver: BatchDriver,
    sql: BatchSql,
    states: dict[str, AttemptState],
    journal_rows: dict[tuple[str, str, int], tuple[Any, ...]],
    answer_rows: dict[tuple[str, str], tuple[Any, ...]],
    stats_rows: list[tuple[Any, ...]],
) -> None:
    if sql.insert_rows is None:
        await driver.executemany(sql.insert_journal, list(journal_rows.values()))
        await driver.executemany(sql.upsert_answers, list(answer_rows.values()))
        await driver.executemany(sql.upsert_save_stats, stats_rows)
    elif journal_rows or answer_rows or stats_rows:  # PostgreSQL: the three in one trip
        params = batch_sql.insert_rows_params(
            list(journal_rows.values()), list(answer_rows.values()), stats_rows
        )
        await driver.execute(sql.insert_rows, params)
    await driver.executemany(
        sql.update_attempts,
        [
            (  # batch_sql.ATTEMPT_UPDATE_COLUMNS
                st.status,
                st.submitted_at,
                st.submit_kind,
                st.last_seq,
                st.answered,
                st.totals.dumps(),
                max(st.seen, st.row.last_seen_at or 0),
                st.row.id,
            )
            for st in states.values()
        ],
    )
