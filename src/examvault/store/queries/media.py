"""Queries of the `media` table: an exam's pictures, their bytes and their digests."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.tables import media


class Medium(NamedTuple):
    """One stored picture."""

    content_type: str
    sha256: str
    size: int
    data: bytes


async def digest(conn: AsyncConnection, exam_id: str, name: str) -> str | None:
    """The sha256 of a stored medium, to tell a repeat from a change (no bytes read)."""
    found: str | None = (
        await conn.execute(
            select(media.c.sha256).where(media.c.exam_id == exam_id, media.c.name == name)
        )
    ).scalar_one_or_none()
    return found


async def bytes_of_others(conn: AsyncConnection, exam_id: str, name: str) -> int:
    """The bytes of the exam's media other than `name`, for the per-exam limit."""
    total: int = (
        await conn.execute(
            select(func.coalesce(func.sum(media.c.bytes), 0)).where(
                media.c.exam_id == exam_id, media.c.name != name
            )
        )
    ).scalar_one()
    return int(total)


async def put(
    conn: AsyncConnection,
    exam_id: str,
    name: str,
    medium: Medium,
    now: int,
    *,
    replace: bool,
) -> None:
    """Store a medium, or replace the one of that name."""
    values = {
        "content_type": medium.content_type,
        "sha256": medium.sha256,
        "bytes": medium.size,
        "data": medium.data,
        "stored_at": now,
    }
    if replace:
        await conn.execute(
            media.update().where(media.c.exam_id == exam_id, media.c.name == name).values(**values)
        )
    else:
        await conn.execute(media.insert().values(exam_id=exam_id, name=name, **values))


async def names(conn: AsyncConnection, exam_id: str) -> set[str]:
    """The names of the exam's media."""
    return set(
        (await conn.execute(select(media.c.name).where(media.c.exam_id == exam_id))).scalars()
    )


async def get(conn: AsyncConnection, exam_id: str, name: str) -> Medium | None:
    """A medium with its bytes."""
    row = (
        await conn.execute(
            select(media.c.content_type, media.c.sha256, media.c.bytes, media.c.data).where(
                media.c.exam_id == exam_id, media.c.name == name
            )
        )
    ).one_or_none()
    return None if row is None else Medium(row[0], row[1], row[2], bytes(row[3]))


async def of_exam(conn: AsyncConnection, exam_id: str) -> dict[str, Medium]:
    """Every medium of an exam with its bytes, by name (an export writes them all)."""
    rows = await conn.execute(
        select(media.c.name, media.c.content_type, media.c.sha256, media.c.bytes, media.c.data)
        .where(media.c.exam_id == exam_id)
        .order_by(media.c.name)
    )
    return {row[0]: Medium(row[1], row[2], row[3], bytes(row[4])) for row in rows}
