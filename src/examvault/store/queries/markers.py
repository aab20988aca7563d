"""Queries of the `markers` table: registrations, found by token hash."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.tables import markers


async def by_token_hash(conn: AsyncConnection, digest: str) -> Any | None:
    """(exam_id, id, questions) of the marker holding this token, if any."""
    return (
        await conn.execute(
            select(markers.c.exam_id, markers.c.id, markers.c.questions).where(
                markers.c.token_hash == digest
            )
        )
    ).one_or_none()


async def taken(conn: AsyncConnection, exam_id: str, ids: Sequence[str]) -> list[str]:
    """Which of these ids are already registered on the exam."""
    return list(
        (
            await conn.execute(
                select(markers.c.id).where(
                    markers.c.exam_id == exam_id, markers.c.id.in_(list(ids))
                )
            )
        ).scalars()
    )


async def insert_many(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(markers.insert(), rows)
