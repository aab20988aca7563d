"""Queries of the `candidates` table: registrations, found by token hash."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.queries import is_postgresql
from examvault.store.tables import attempts, candidates

_CHUNK = 500  # ids per IN list: well under every driver's parameter limit


async def by_token_hash(conn: AsyncConnection, digest: str) -> Any | None:
    """(exam_id, id, name) of the candidate holding this token, if any."""
    return (
        await conn.execute(
            select(candidates.c.exam_id, candidates.c.id, candidates.c.name).where(
                candidates.c.token_hash == digest
            )
        )
    ).one_or_none()


async def tokens_of_exam(conn: AsyncConnection, exam_id: str) -> Sequence[Any]:
    """(token_hash, id, name) of every candidate of the exam."""
    query = select(candidates.c.token_hash, candidates.c.id, candidates.c.name).where(
        candidates.c.exam_id == exam_id
    )
    return (await conn.execute(query)).all()


async def taken(conn: AsyncConnection, exam_id: str, ids: Sequence[str]) -> list[str]:
    """Which of these ids are already registered on the exam."""
    found: list[str] = []
    for start in range(0, len(ids), _CHUNK):
        found += (
            await conn.execute(
                select(candidates.c.id).where(
                    candidates.c.exam_id == exam_id,
                    candidates.c.id.in_(ids[start : start + _CHUNK]),
                )
            )
        ).scalars()
    return found


async def one(conn: AsyncConnection, exam_id: str, candidate_id: str) -> Any | None:
    """The candidate's row, if registered."""
    return (
        await conn.execute(
            select(candidates).where(
                candidates.c.exam_id == exam_id, candidates.c.id == candidate_id
            )
        )
    ).one_or_none()


async def many(conn: AsyncConnection, exam_id: str, candidate_ids: Sequence[str]) -> dict[str, Any]:
    """These candidates' rows, by id. On PostgreSQL they are share-locked until commit,
    so that an exam-day action changing them (an extension for someone not yet started)
    either commits first and is read here, or waits and then finds the attempt."""
    found: dict[str, Any] = {}
    ids = sorted(candidate_ids)
    for start in range(0, len(ids), 500):
        query = select(candidates).where(
            candidates.c.exam_id == exam_id, candidates.c.id.in_(ids[start : start + 500])
        )
        if is_postgresql(conn):
            query = query.order_by(candidates.c.id).with_for_update(read=True)
        for row in (await conn.execute(query)).all():
            found[row.id] = row
    return found


async def change(
    conn: AsyncConnection, exam_id: str, candidate_id: str, values: dict[str, Any]
) -> None:
    await conn.execute(
        update(candidates)
        .where(candidates.c.exam_id == exam_id, candidates.c.id == candidate_id)
        .values(**values)
    )


async def insert_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(candidates.insert(), rows)


async def count(conn: AsyncConnection, exam_id: str) -> int:
    """How many candidates are registered on the exam."""
    n: int = (
        await conn.execute(
            select(func.count()).select_from(candidates).where(candidates.c.exam_id == exam_id)
        )
    ).scalar_one()
    return n


async def counts_by_exam(conn: AsyncConnection) -> dict[str, int]:
    """Registered candidates per exam."""
    rows = await conn.execute(
        select(candidates.c.exam_id, func.count()).group_by(candidates.c.exam_id)
    )
    return {exam_id: n for exam_id, n in rows}


async def with_attempts(
    conn: AsyncConnection,
    exam_id: str,
    *columns: str,
    rooms: Sequence[str] | None = None,
    candidate_ids: Sequence[str] | None = None,
) -> list[Any]:
    """Every registered candidate (of these rooms, or these ids, if given) with their
    room and accommodation and these columns of their attempt (None if absent), in
    candidate-id code-point order: sorted here, whatever the database's collation."""
    query = (
        select(
            candidates.c.id.label("candidate_id"),
            candidates.c.name,
            candidates.c.room,
            candidates.c.extra_seconds,
            candidates.c.extended_seconds,
            attempts.c.id.label("attempt_id"),
            *(attempts.c[name] for name in columns),
        )
        .select_from(candidates)
        .outerjoin(
            attempts,
            (attempts.c.exam_id == candidates.c.exam_id)
            & (attempts.c.candidate_id == candidates.c.id),
        )
        .where(candidates.c.exam_id == exam_id)
    )
    if rooms is not None:
        query = query.where(candidates.c.room.in_(list(rooms)))
    if candidate_ids is not None:
        query = query.where(candidates.c.id.in_(list(candidate_ids)))
    rows = (await conn.execute(query)).all()
    return sorted(rows, key=lambda r: r.candidate_id)


async def rooms_of(
    conn: AsyncConnection,
    exam_id: str,
    *,
    ids: Sequence[str] | None = None,
    rooms: Sequence[str] | None = None,
) -> dict[str, str | None]:
    """candidate id → room, of these ids, or of these rooms, or of the whole exam."""
    found: dict[str, str | None] = {}
    base = select(candidates.c.id, candidates.c.room).where(candidates.c.exam_id == exam_id)
    if ids is None:
        query = base if rooms is None else base.where(candidates.c.room.in_(list(rooms)))
        found.update({cid: room for cid, room in await conn.execute(query)})
        return found
    for start in range(0, len(ids), _CHUNK):
        query = base.where(candidates.c.id.in_(list(ids[start : start + _CHUNK])))
        found.update({cid: room for cid, room in await conn.execute(query)})
    return found


async def add_extended(
    conn: AsyncConnection, exam_id: str, ids: Sequence[str], seconds: int
) -> None:
    """Add `seconds` to these candidates' extended_seconds."""
    for start in range(0, len(ids), _CHUNK):
        await conn.execute(
            update(candidates)
            .where(
                candidates.c.exam_id == exam_id,
                candidates.c.id.in_(list(ids[start : start + _CHUNK])),
            )
            .values(extended_seconds=candidates.c.extended_seconds + seconds)
        )
