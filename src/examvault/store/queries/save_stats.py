"""Queries of the `save_stats` table: saves and late items per exam, second and writer task.

The hot path adds to it (store/batch_sql.py, `upsert_save_stats`); these read it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.tables import save_stats


async def totals(conn: AsyncConnection, exam_id: str) -> tuple[int, int]:
    """(saved, late) over the whole exam."""
    saved, late = (
        await conn.execute(
            select(
                func.coalesce(func.sum(save_stats.c.saved), 0),
                func.coalesce(func.sum(save_stats.c.late), 0),
            ).where(save_stats.c.exam_id == exam_id)
        )
    ).one()
    return int(saved), int(late)


async def per_second(conn: AsyncConnection, exam_id: str, after: int) -> dict[int, int]:
    """Saves per second, for the seconds after `after`."""
    rows = await conn.execute(
        select(save_stats.c.second, func.sum(save_stats.c.saved))
        .where(save_stats.c.exam_id == exam_id, save_stats.c.second > after)
        .group_by(save_stats.c.second)
    )
    return {int(second): int(n) for second, n in rows}
