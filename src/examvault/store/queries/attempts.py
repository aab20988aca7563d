"""Queries of the `attempts` table, outside the hot path (store/batch_sql.py has that).

Sealing is always one conditional UPDATE (`status = 'in_progress'`), so when several
processes share a database an attempt is never sealed twice and never skipped. A paused
attempt (`paused_at` set) has no end: the sweeper's UPDATE leaves it alone. An action
that moves an end (services/examday.py) locks the row first (`FOR UPDATE` on PostgreSQL,
the single writer on SQLite) and moves it in its own transaction, so the sweeper's UPDATE
sees either the old end and status (the action then finds it sealed) or the new end.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.engine import Store
from examvault.store.queries import insert, is_postgresql
from examvault.store.tables import attempts, exams

# An attempt's own columns, the ones a rescore reads.
RESCORE_COLUMNS = (
    attempts.c.id,
    attempts.c.candidate_id,
    attempts.c.status,
    attempts.c.totals,
    attempts.c.key_version,
    attempts.c.submitted_at,
)


async def meta(conn: AsyncConnection, attempt_id: str) -> Any | None:
    """(exam_id, candidate_id, exam_version): what never changes about an attempt."""
    return (
        await conn.execute(
            select(attempts.c.exam_id, attempts.c.candidate_id, attempts.c.exam_version).where(
                attempts.c.id == attempt_id
            )
        )
    ).one_or_none()


async def of_candidate(conn: AsyncConnection, exam_id: str, candidate_id: str) -> Any | None:
    """(id, exam_version, status) of the candidate's attempt, if one was started."""
    return (
        await conn.execute(
            select(attempts.c.id, attempts.c.exam_version, attempts.c.status).where(
                attempts.c.exam_id == exam_id, attempts.c.candidate_id == candidate_id
            )
        )
    ).one_or_none()


async def of_candidate_locked(conn: AsyncConnection, exam_id: str, candidate_id: str) -> Any | None:
    """The candidate's attempt row, locked on PostgreSQL until the transaction ends."""
    query = select(attempts).where(
        attempts.c.exam_id == exam_id, attempts.c.candidate_id == candidate_id
    )
    if is_postgresql(conn):
        query = query.with_for_update()
    return (await conn.execute(query)).one_or_none()


async def of_candidates_locked(
    conn: AsyncConnection, exam_id: str, candidate_ids: Sequence[str]
) -> dict[str, Any]:
    """These candidates' attempt rows by candidate id, locked in id order on PostgreSQL."""
    found: dict[str, Any] = {}
    ids = sorted(candidate_ids)
    for start in range(0, len(ids), 500):
        query = select(attempts).where(
            attempts.c.exam_id == exam_id, attempts.c.candidate_id.in_(ids[start : start + 500])
        )
        if is_postgresql(conn):
            query = query.order_by(attempts.c.id).with_for_update()
        for row in (await conn.execute(query)).all():
            found[row.candidate_id] = row
    return found


async def move_deadline(conn: AsyncConnection, attempt_id: str, micros: int) -> None:
    """Move the attempt's deadline and end by `micros`."""
    await conn.execute(
        update(attempts)
        .where(attempts.c.id == attempt_id)
        .values(deadline=attempts.c.deadline + micros, end_at=attempts.c.end_at + micros)
    )


async def move_deadlines(conn: AsyncConnection, ids: Sequence[str], micros: int) -> None:
    """Move these attempts' deadlines and ends by `micros` (a few statements for any
    number: an action on a whole exam holds the writer for as short a time as it can)."""
    for start in range(0, len(ids), 500):
        await conn.execute(
            update(attempts)
            .where(attempts.c.id.in_(list(ids[start : start + 500])))
            .values(deadline=attempts.c.deadline + micros, end_at=attempts.c.end_at + micros)
        )


async def change_many(conn: AsyncConnection, ids: Sequence[str], values: dict[str, Any]) -> None:
    """Set the same values on these attempts."""
    for start in range(0, len(ids), 500):
        await conn.execute(
            update(attempts)
            .where(attempts.c.id.in_(list(ids[start : start + 500])))
            .values(**values)
        )


async def change(conn: AsyncConnection, attempt_id: str, values: dict[str, Any]) -> None:
    """Set these columns of one attempt (an action, in its transaction)."""
    await conn.execute(update(attempts).where(attempts.c.id == attempt_id).values(**values))


async def insert_started(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert new attempts in one statement; the candidate ids whose attempt was inserted
    (a candidate missing from it already had one: another process started it a moment
    ago)."""
    if not rows:
        return []
    statement = (
        insert(conn, attempts)
        .on_conflict_do_nothing(index_elements=[attempts.c.exam_id, attempts.c.candidate_id])
        .returning(attempts.c.candidate_id)
    )
    return list((await conn.execute(statement, list(rows))).scalars())


async def of_candidates(
    conn: AsyncConnection, exam_id: str, candidate_ids: Sequence[str]
) -> dict[str, Any]:
    """(id, exam_version) of these candidates' attempts, by candidate id."""
    found: dict[str, Any] = {}
    for start in range(0, len(candidate_ids), 500):
        query = select(attempts.c.candidate_id, attempts.c.id, attempts.c.exam_version).where(
            attempts.c.exam_id == exam_id,
            attempts.c.candidate_id.in_(candidate_ids[start : start + 500]),
        )
        for row in (await conn.execute(query)).all():
            found[row.candidate_id] = row
    return found


async def with_exam(conn: AsyncConnection, attempt_id: str) -> Any:
    """The attempt's row with its exam's key version and close."""
    return (
        await conn.execute(
            select(attempts, exams.c.key_version.label("exam_key_version"), exams.c.closed_at)
            .join(exams, exams.c.id == attempts.c.exam_id)
            .where(attempts.c.id == attempt_id)
        )
    ).one()


async def any_expired(conn: AsyncConnection, now: int) -> bool:
    """Whether some attempt in progress is past its end."""
    found = (
        await conn.execute(
            select(attempts.c.id)
            .where(
                attempts.c.status == "in_progress",
                attempts.c.end_at < now,
                attempts.c.paused_at.is_(None),
            )
            .limit(1)
        )
    ).first()
    return found is not None


async def seal_expired(conn: AsyncConnection, now: int) -> list[str]:
    """Seal every attempt past its end, at its end; the ids sealed. A paused attempt has
    no end and is left alone."""
    result = await conn.execute(
        update(attempts)
        .where(
            attempts.c.status == "in_progress",
            attempts.c.end_at < now,
            attempts.c.paused_at.is_(None),
        )
        .values(status="submitted", submit_kind="auto", submitted_at=attempts.c.end_at)
        .returning(attempts.c.id)
    )
    return list(result.scalars())


async def seal_for_close(conn: AsyncConnection, exam_id: str, now: int) -> list[str]:
    """Seal every attempt of the exam still in progress or paused: at `now`, or at its
    end if that came first (a paused attempt has none); the ids sealed."""
    result = await conn.execute(
        update(attempts)
        .where(attempts.c.exam_id == exam_id, attempts.c.status == "in_progress")
        .values(
            status="submitted",
            submit_kind="auto",
            submitted_at=case(
                (attempts.c.paused_at.is_not(None), now),
                (attempts.c.end_at < now, attempts.c.end_at),
                else_=now,
            ),
            paused_at=None,
        )
        .returning(attempts.c.id)
    )
    return list(result.scalars())


async def count_in_progress(conn: AsyncConnection) -> int:
    n: int = (
        await conn.execute(
            select(func.count()).select_from(attempts).where(attempts.c.status == "in_progress")
        )
    ).scalar_one()
    return n


async def count_started(conn: AsyncConnection, exam_id: str) -> int:
    n: int = (
        await conn.execute(
            select(func.count()).select_from(attempts).where(attempts.c.exam_id == exam_id)
        )
    ).scalar_one()
    return n


async def counts_by_status(conn: AsyncConnection, exam_id: str | None = None) -> dict[Any, int]:
    """Attempts per status of one exam, or per (exam, status) over every exam."""
    if exam_id is not None:
        rows = await conn.execute(
            select(attempts.c.status, func.count())
            .where(attempts.c.exam_id == exam_id)
            .group_by(attempts.c.status)
        )
        return {status: n for status, n in rows}
    rows = await conn.execute(
        select(attempts.c.exam_id, attempts.c.status, func.count()).group_by(
            attempts.c.exam_id, attempts.c.status
        )
    )
    return {(exam, status): n for exam, status, n in rows}


async def submitted(conn: AsyncConnection, exam_id: str) -> Sequence[Any]:
    """(id, candidate_id, totals) of every submitted attempt of the exam."""
    return (
        await conn.execute(
            select(attempts.c.id, attempts.c.candidate_id, attempts.c.totals).where(
                attempts.c.exam_id == exam_id, attempts.c.status == "submitted"
            )
        )
    ).all()


async def submitted_summary(conn: AsyncConnection, exam_id: str) -> tuple[int, int | None]:
    """How many attempts are submitted, and when the last one was."""
    count, last = (
        await conn.execute(
            select(func.count(), func.max(attempts.c.submitted_at)).where(
                attempts.c.exam_id == exam_id, attempts.c.status == "submitted"
            )
        )
    ).one()
    return int(count), last


async def write_ranks(conn: AsyncConnection, updates: list[dict[str, Any]]) -> None:
    """Store ranks: rows of b_id, rank, percentile, section_ranks."""
    if updates:
        await conn.execute(update(attempts).where(attempts.c.id == bindparam("b_id")), updates)


async def ids_of_exam(conn: AsyncConnection, exam_id: str) -> list[str]:
    return list(
        (
            await conn.execute(
                select(attempts.c.id).where(attempts.c.exam_id == exam_id).order_by(attempts.c.id)
            )
        ).scalars()
    )


async def lowest_key_version(conn: AsyncConnection, exam_id: str) -> int | None:
    """The oldest key version any attempt's totals are at."""
    v: int | None = (
        await conn.execute(
            select(func.min(attempts.c.key_version)).where(attempts.c.exam_id == exam_id)
        )
    ).scalar_one()
    return v


async def for_rescore(conn: AsyncConnection, exam_id: str, ids: Sequence[str]) -> Sequence[Any]:
    """These attempts' totals and key versions, locked in id order on PostgreSQL."""
    query = select(*RESCORE_COLUMNS).where(attempts.c.id.in_(ids), attempts.c.exam_id == exam_id)
    if is_postgresql(conn):
        query = query.order_by(attempts.c.id).with_for_update()
    return (await conn.execute(query)).all()


async def for_marks(conn: AsyncConnection, exam_id: str, ids: Sequence[str]) -> Sequence[Any]:
    """(id, status, totals, exam_version) of these attempts of the exam, locked in id order
    on PostgreSQL (as a save's batch and a regrade lock them: no cycle of waits)."""
    query = select(
        attempts.c.id, attempts.c.status, attempts.c.totals, attempts.c.exam_version
    ).where(attempts.c.id.in_(list(ids)), attempts.c.exam_id == exam_id)
    if is_postgresql(conn):
        query = query.order_by(attempts.c.id).with_for_update()
    return (await conn.execute(query)).all()


async def set_totals(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Rows of b_id, totals."""
    if rows:
        await conn.execute(update(attempts).where(attempts.c.id == bindparam("b_id")), rows)


async def update_totals(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Rows of b_id, totals, key_version."""
    if rows:
        await conn.execute(update(attempts).where(attempts.c.id == bindparam("b_id")), rows)


_LIVE_SELECT = (
    "SELECT a.id, a.exam_id, a.candidate_id, a.status, a.deadline, a.paused_at, c.room "
    "FROM attempts a LEFT JOIN candidates c ON c.exam_id = a.exam_id AND c.id = a.candidate_id "
)
# One fixed shape whatever the number of ids, as the writer's batch (store/batch_sql.py):
# SQLAlchemy's expanding `IN` compiled the statement again for every batch size, and
# the polls' batches come in every size. On PostgreSQL one primary-key lookup per id,
# whatever plan was kept (see batch_sql's note on generic plans made on empty tables).
_LIVE_SQLITE = _LIVE_SELECT + "WHERE a.id IN (SELECT value FROM json_each(?))"
_LIVE_POSTGRESQL = (
    "SELECT x.* FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL ("
    + _LIVE_SELECT
    + "WHERE a.id = k.id LIMIT 1) AS x"
)


class LiveRow(NamedTuple):
    """What the candidate's page polls of an attempt (`live_many`)."""

    id: str
    exam_id: str
    candidate_id: str
    status: str
    deadline: int
    paused_at: int | None
    room: str | None


async def live_many(store: Store, attempt_ids: Sequence[str]) -> dict[str, LiveRow]:
    """What the candidate's page polls — the attempt's state and its candidate's room —
    of many attempts at once (the polls that arrived together), by id, in one snapshot.
    On SQLite straight from `Store.quick_sqlite`, on the event loop's thread."""
    ids = list(attempt_ids)
    rows: Any
    if store.is_postgresql:
        async with store.read() as conn:
            rows = await conn.exec_driver_sql(_LIVE_POSTGRESQL, (ids,))
    else:
        keys = (orjson.dumps(ids).decode(),)
        rows = store.quick_rows(_LIVE_SQLITE, keys)
        if rows is None:  # a database in memory: no quick connection sees it
            async with store.read() as conn:
                rows = await conn.exec_driver_sql(_LIVE_SQLITE, keys)
    return {row[0]: LiveRow._make(row) for row in rows}
