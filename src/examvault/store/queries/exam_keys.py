"""Queries of the `exam_keys` table: each answer-key change, its reason and its regrade."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.tables import exam_keys


async def changes_up_to(conn: AsyncConnection, exam_id: str, key_version: int) -> list[str]:
    """The stored change lists (JSON text) of every version up to this one, in order."""
    return list(
        (
            await conn.execute(
                select(exam_keys.c.changes)
                .where(exam_keys.c.exam_id == exam_id, exam_keys.c.key_version <= key_version)
                .order_by(exam_keys.c.key_version)
            )
        ).scalars()
    )


async def status(conn: AsyncConnection, exam_id: str, key_version: int) -> str | None:
    """The regrade status of one key version (None for the definition's own key)."""
    found: str | None = (
        await conn.execute(
            select(exam_keys.c.status).where(
                exam_keys.c.exam_id == exam_id, exam_keys.c.key_version == key_version
            )
        )
    ).scalar_one_or_none()
    return found


async def insert(conn: AsyncConnection, **values: Any) -> None:
    """Record a key change (status "regrading" until its job is done)."""
    await conn.execute(exam_keys.insert().values(**values))


async def history(conn: AsyncConnection, exam_id: str) -> Sequence[Any]:
    """Every recorded key version, oldest first."""
    return (
        await conn.execute(
            select(exam_keys)
            .where(exam_keys.c.exam_id == exam_id)
            .order_by(exam_keys.c.key_version)
        )
    ).all()


async def regrading(conn: AsyncConnection, exam_id: str, up_to: int | None = None) -> list[int]:
    """The key versions whose regrade is not done yet."""
    query = select(exam_keys.c.key_version).where(
        exam_keys.c.exam_id == exam_id, exam_keys.c.status == "regrading"
    )
    if up_to is not None:
        query = query.where(exam_keys.c.key_version <= up_to)
    return list((await conn.execute(query)).scalars())


async def first_change_at(conn: AsyncConnection, exam_id: str, versions: list[int]) -> int | None:
    """When the earliest of these key versions was recorded."""
    at: int | None = (
        await conn.execute(
            select(func.min(exam_keys.c.at)).where(
                exam_keys.c.exam_id == exam_id, exam_keys.c.key_version.in_(versions or [0])
            )
        )
    ).scalar_one()
    return at


async def mark_done(conn: AsyncConnection, exam_id: str, versions: list[int], impact: str) -> None:
    """These versions are regraded; `impact` is the effect on the submitted attempts."""
    if versions:
        await conn.execute(
            update(exam_keys)
            .where(exam_keys.c.exam_id == exam_id, exam_keys.c.key_version.in_(versions))
            .values(status="done", impact=impact)
        )
