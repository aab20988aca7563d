"""Queries of the `jobs` table: enqueue in the cause's transaction, claim, finish, retry.

A claim takes one row with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises
writers with `BEGIN IMMEDIATE` instead) and is a lease: a job whose worker died is
claimed again once the lease runs out.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.clock import MICROS
from examvault.store.queries import insert
from examvault.store.tables import jobs


async def enqueue(
    conn: AsyncConnection, kind: str, exam_id: str | None, payload: Any, now: int
) -> None:
    """Add a job in the caller's transaction; a pending twin makes it a no-op."""
    await conn.execute(
        insert(conn, jobs)
        .values(
            kind=kind,
            exam_id=exam_id,
            payload=orjson.dumps(payload or {}).decode(),
            dedupe=f"{kind}:{exam_id}",
            status="pending",
            tries=0,
            run_after=now,
            created_at=now,
        )
        # The predicate is literal SQL, not a bound parameter: PostgreSQL matches it to
        # the partial unique index at plan time, and once asyncpg's prepared statement
        # switches to a generic plan (after five runs) a `$9` no longer matches it.
        .on_conflict_do_nothing(
            index_elements=[jobs.c.dedupe], index_where=text("status = 'pending'")
        )
    )


async def claim(conn: AsyncConnection, worker: str, now: int, lease: int) -> dict[str, Any] | None:
    """Take the oldest ready job (or one whose lease ran out) for this worker."""
    ready = (
        select(jobs.c.id)
        .where(
            or_(
                (jobs.c.status == "pending") & (jobs.c.run_after <= now),
                (jobs.c.status == "running") & (jobs.c.locked_at < now - lease),
            )
        )
        .order_by(jobs.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = (
        await conn.execute(
            update(jobs)
            .where(jobs.c.id == ready)
            .values(status="running", locked_at=now, locked_by=worker, tries=jobs.c.tries + 1)
            .returning(jobs.c.id, jobs.c.kind, jobs.c.exam_id, jobs.c.payload, jobs.c.tries)
        )
    ).one_or_none()
    if row is None:
        return None
    return {
        "id": row.id,
        "kind": row.kind,
        "exam_id": row.exam_id,
        "payload": orjson.loads(row.payload),
        "tries": row.tries,
    }


async def complete(conn: AsyncConnection, job_id: int, worker: str, now: int) -> bool:
    """Mark the job done; False when the lease ran out and another worker took it over."""
    done = await conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.locked_by == worker)
        .values(status="done", finished_at=now, locked_by=None)
    )
    return bool(done.rowcount)


async def fail(
    conn: AsyncConnection, job_id: int, worker: str, now: int, *, park: bool, tries: int, error: str
) -> None:
    """Retry later with exponential backoff, or park the job for someone to look at."""
    await conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.locked_by == worker)
        .values(
            status="parked" if park else "pending",
            run_after=now + min(2**tries, 300) * MICROS,
            last_error=error[:2000],
            locked_by=None,
        )
    )
