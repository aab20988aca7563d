"""Queries of the `exams` table: one row per exam, its definition and its state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.clock import MICROS
from examvault.store.queries import is_postgresql
from examvault.store.tables import attempts, exams


class Header(NamedTuple):
    """What most requests need to know of an exam: which version, which key, closed?"""

    version: int
    key_version: int
    closed_at: int | None
    created_at: int


class Stored(NamedTuple):
    """The definition as stored (JSON text with exact numbers), with its versions."""

    definition: str
    version: int
    key_version: int


async def header(conn: AsyncConnection, exam_id: str, *, lock: bool = False) -> Header | None:
    """The exam's header; `lock` holds the row until commit on PostgreSQL (key changes
    from two hosts queue there)."""
    query = select(
        exams.c.version, exams.c.key_version, exams.c.closed_at, exams.c.created_at
    ).where(exams.c.id == exam_id)
    if lock and is_postgresql(conn):
        query = query.with_for_update()
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else Header(*row)


async def stored(conn: AsyncConnection, exam_id: str) -> Stored | None:
    """The stored definition and its versions."""
    row = (
        await conn.execute(
            select(exams.c.definition, exams.c.version, exams.c.key_version).where(
                exams.c.id == exam_id
            )
        )
    ).one_or_none()
    return None if row is None else Stored(*row)


async def fingerprint(conn: AsyncConnection, exam_id: str) -> tuple[int, str] | None:
    """The version and the definition's fingerprint, to tell a repeat from a change."""
    row = (
        await conn.execute(
            select(exams.c.version, exams.c.fingerprint).where(exams.c.id == exam_id)
        )
    ).one_or_none()
    return None if row is None else (row.version, row.fingerprint)


async def insert(conn: AsyncConnection, exam_id: str, now: int, values: dict[str, Any]) -> None:
    """A new exam at version 1, key version 1."""
    await conn.execute(
        exams.insert().values(id=exam_id, version=1, key_version=1, created_at=now, **values)
    )


async def replace(
    conn: AsyncConnection, exam_id: str, version: int, values: dict[str, Any]
) -> None:
    """A new version of the definition (only while no attempt exists)."""
    await conn.execute(
        exams.update().where(exams.c.id == exam_id).values(version=version, **values)
    )


async def set_key_version(conn: AsyncConnection, exam_id: str, key_version: int) -> None:
    await conn.execute(exams.update().where(exams.c.id == exam_id).values(key_version=key_version))


async def mark_closed(conn: AsyncConnection, exam_id: str, at: int) -> None:
    await conn.execute(exams.update().where(exams.c.id == exam_id).values(closed_at=at))


async def listing(conn: AsyncConnection) -> Sequence[Any]:
    """Every exam's id, title, version and close, by id."""
    return (
        await conn.execute(
            select(exams.c.id, exams.c.title, exams.c.version, exams.c.closed_at).order_by(
                exams.c.id
            )
        )
    ).all()


async def due_to_close(conn: AsyncConnection, now: int) -> list[str]:
    """Exams still open whose closes_at + grace has passed and that have no attempt
    still in progress or paused (one given extra time keeps its exam open)."""
    busy = (
        select(attempts.c.id)
        .where(attempts.c.exam_id == exams.c.id, attempts.c.status == "in_progress")
        .exists()
    )
    return list(
        (
            await conn.execute(
                select(exams.c.id).where(
                    exams.c.closed_at.is_(None),
                    exams.c.closes_at.is_not(None),
                    exams.c.closes_at + exams.c.grace_seconds * MICROS < now,
                    ~busy,
                )
            )
        ).scalars()
    )
