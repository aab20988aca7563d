"""Queries of the `audit` table: who changed what, appended in the change's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.tables import audit


async def record(
    conn: AsyncConnection, at: int, actor: str, action: str, exam_id: str | None, detail: str
) -> None:
    """Append an entry; `detail` is JSON text."""
    await conn.execute(
        audit.insert().values(at=at, actor=actor, action=action, exam_id=exam_id, detail=detail)
    )


async def record_many(
    conn: AsyncConnection,
    at: int,
    actor: str,
    action: str,
    exam_id: str | None,
    details: Sequence[str],
) -> None:
    """Append one entry per `details` item (JSON text), in one executemany statement;
    ids follow the order given."""
    if details:
        await conn.execute(
            audit.insert(),
            [
                {"at": at, "actor": actor, "action": action, "exam_id": exam_id, "detail": d}
                for d in details
            ],
        )


async def entries(conn: AsyncConnection, exam_id: str | None) -> Sequence[Any]:
    """Every entry (of one exam, if given), oldest first."""
    query = select(audit).order_by(audit.c.id)
    if exam_id is not None:
        query = query.where(audit.c.exam_id == exam_id)
    return (await conn.execute(query)).all()


async def first_actor(conn: AsyncConnection, exam_id: str) -> str | None:
    """Who made the exam (its first entry)."""
    actor: str | None = (
        await conn.execute(
            select(audit.c.actor).where(audit.c.exam_id == exam_id).order_by(audit.c.id).limit(1)
        )
    ).scalar_one_or_none()
    return actor
