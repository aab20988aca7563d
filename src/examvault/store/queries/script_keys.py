"""Queries of the `script_keys` table: each exam's secret for script ids."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.queries import insert
from examvault.store.tables import script_keys


async def get(conn: AsyncConnection, exam_id: str) -> str | None:
    """The exam's secret, if it has one yet."""
    secret: str | None = (
        await conn.execute(select(script_keys.c.secret).where(script_keys.c.exam_id == exam_id))
    ).scalar_one_or_none()
    return secret


async def ensure(conn: AsyncConnection, exam_id: str, secret: str) -> str:
    """The exam's secret: `secret` if it had none, else the one it had (first one wins)."""
    await conn.execute(
        insert(conn, script_keys)
        .values(exam_id=exam_id, secret=secret)
        .on_conflict_do_nothing(index_elements=[script_keys.c.exam_id])
    )
    stored = await get(conn, exam_id)
    assert stored is not None
    return stored
