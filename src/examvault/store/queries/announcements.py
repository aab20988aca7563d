"""Queries of the `announcements` table: what the invigilators told the rooms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.engine import Store
from examvault.store.queries import insert
from examvault.store.tables import announcements


async def add(
    conn: AsyncConnection, exam_id: str, room: str | None, text: str, at: int, actor: str
) -> int:
    """Append an announcement; its id."""
    result = await conn.execute(
        insert(conn, announcements)
        .values(exam_id=exam_id, room=room, text=text, at=at, actor=actor)
        .returning(announcements.c.id)
    )
    new_id: int = result.scalar_one()
    return new_id


async def of_exam(
    conn: AsyncConnection,
    exam_id: str,
    *,
    rooms: Sequence[str] | None = None,
    with_whole_exam: bool = True,
) -> Sequence[Any]:
    """The exam's announcements, oldest first: all of them, or those of these rooms (and
    those for the whole exam, unless told not to)."""
    query = select(announcements).where(announcements.c.exam_id == exam_id)
    if rooms is not None:
        room_in = announcements.c.room.in_(list(rooms))
        query = query.where(
            or_(room_in, announcements.c.room.is_(None)) if with_whole_exam else room_in
        )
    return (await conn.execute(query.order_by(announcements.c.id))).all()


async def for_room(conn: AsyncConnection, exam_id: str, room: str | None) -> Sequence[Any]:
    """What a candidate of this room (or of none) is told: the whole exam's announcements
    and the room's, oldest first."""
    return await of_exam(conn, exam_id, rooms=[] if room is None else [room])


class Note(NamedTuple):
    """An announcement as a candidate is shown it (`for_room_quick`)."""

    id: int
    text: str
    at: int


_FOR_ROOM_SQLITE = (
    "SELECT id, text, at FROM announcements WHERE exam_id = ? AND (room IS NULL OR room = ?) "
    "ORDER BY id"
)


async def for_room_quick(store: Store, exam_id: str, room: str | None) -> Sequence[Any]:
    """`for_room` for the `live` polls' batch: on SQLite from `Store.quick_rows`, on the
    event loop's thread (through aiosqlite's a read waits for the GIL behind the busy
    request loop, and the batch's other polls with it)."""
    rows = store.quick_rows(_FOR_ROOM_SQLITE, (exam_id, room))
    if rows is None:
        async with store.read() as conn:
            return await for_room(conn, exam_id, room)
    return [Note._make(row) for row in rows]
