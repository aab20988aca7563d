"""Queries of the `analytics` table: the last analytics document of each exam."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.queries import insert
from examvault.store.tables import analytics


async def stored(conn: AsyncConnection, exam_id: str) -> Any | None:
    """(basis, document) of the exam's last document."""
    return (
        await conn.execute(
            select(analytics.c.basis, analytics.c.document).where(analytics.c.exam_id == exam_id)
        )
    ).one_or_none()


async def put(
    conn: AsyncConnection, exam_id: str, computed_at: int, basis: str, document: str
) -> None:
    """Keep a document, replacing the previous one."""
    stmt = insert(conn, analytics).values(
        exam_id=exam_id, computed_at=computed_at, basis=basis, document=document
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[analytics.c.exam_id],
            set_={
                "computed_at": stmt.excluded.computed_at,
                "basis": stmt.excluded.basis,
                "document": stmt.excluded.document,
            },
        )
    )
