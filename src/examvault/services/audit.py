"""The audit trail: every change an exam team makes, written in the change's own
transaction (so an entry exists exactly when its change does), and read back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.clock import format_time
from examvault.domain import exact_json
from examvault.store.engine import Store
from examvault.store.queries import audit


async def record(
    conn: AsyncConnection, at: int, actor: str, action: str, exam_id: str | None, detail: Any
) -> None:
    """Append an audit entry in the transaction of the change it describes."""
    await audit.record(conn, at, actor, action, exam_id, exact_json.dumps(detail))


async def record_many(
    conn: AsyncConnection,
    at: int,
    actor: str,
    action: str,
    exam_id: str | None,
    details: Sequence[Any],
) -> None:
    """Append one entry per detail, in order, in one statement (a batch of marks writes
    hundreds at once)."""
    await audit.record_many(
        conn, at, actor, action, exam_id, [exact_json.dumps(d) for d in details]
    )


async def entries(store: Store, exam_id: str | None) -> list[dict[str, Any]]:
    """The audit trail, oldest first."""
    async with store.read() as conn:
        rows = await audit.entries(conn, exam_id)
    return [
        {
            "at": format_time(r.at),
            "actor": r.actor,
            "action": r.action,
            "exam_id": r.exam_id,
            "detail": orjson.loads(r.detail),
        }
        for r in rows
    ]
