"""Answer-key changes (docs/api.md, "Answer-key changes"; docs/marking.md, "Key changes").

A change is checked against the exam (domain/key_changes.py), then recorded in one
write: the `exam_keys` row (who, when, why, what), the exam's new `key_version`, a
`regrade` job and an audit entry. Because they commit together, a crash can delay the
regrade but never lose it, and the key a save is scored with (read in the save's own
transaction) is never ahead of a recorded change. A body that changes no rule is
answered 200 and records nothing, so sending the same change twice regrades once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock, format_time
from examvault.domain import exact_json
from examvault.domain.key_changes import KeyChangeDef, changes_anything, check_changes
from examvault.services import audit
from examvault.services.catalog import Catalog
from examvault.services.queue import JobQueue
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import audit as audit_rows
from examvault.store.queries import exam_keys, exams


@dataclass(eq=False)
class ChangeKey:
    """Record a key change and its regrade, or nothing when it changes no rule."""

    catalog: Catalog
    queue: JobQueue
    exam_id: str
    body: KeyChangeDef
    actor: str
    now: int

    async def apply(self, conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        row = await exams.header(conn, self.exam_id, lock=True)  # two hosts queue here
        if row is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        exam = await self.catalog.get(conn, self.exam_id, row.version, row.key_version)
        changes = check_changes(exam, self.body)
        if not changes_anything(exam, changes):
            status = await exam_keys.status(conn, self.exam_id, row.key_version)
            return 200, {"key_version": row.key_version, "status": status or "done"}
        version = row.key_version + 1
        await exam_keys.insert(
            conn,
            exam_id=self.exam_id,
            key_version=version,
            at=self.now,
            actor=self.actor,
            reason=self.body.reason,
            changes=exact_json.dumps(changes),
            status="regrading",
        )
        await exams.set_key_version(conn, self.exam_id, version)
        await self.queue.enqueue(conn, "regrade", self.exam_id)
        detail = {"key_version": version, "reason": self.body.reason, "changes": changes}
        await audit.record(conn, self.now, self.actor, "key_changed", self.exam_id, detail)
        return 202, {"key_version": version, "status": "regrading"}

    def after_commit(self) -> None:
        self.queue.poke()


@dataclass
class Keys:
    """Changing an exam's answer key, and its history."""

    store: Store
    writes: Writes
    catalog: Catalog
    clock: Clock
    queue: JobQueue

    async def change(
        self, exam_id: str, body: KeyChangeDef, actor: str
    ) -> tuple[int, dict[str, Any]]:
        """202 with the new key version while it regrades; 200 when nothing changes."""
        result: tuple[int, dict[str, Any]] = await self.writes.run(
            ChangeKey(self.catalog, self.queue, exam_id, body, actor, self.clock.now())
        )
        return result

    async def history(self, exam_id: str) -> dict[str, Any]:
        """The key versions of an exam, starting with the definition's own key (version 1)."""
        async with self.store.read() as conn:
            row = await exams.header(conn, exam_id)
            if row is None:
                raise errors.NotFound(f"no exam {exam_id!r}")
            created = await audit_rows.first_actor(conn, exam_id)
            rows = await exam_keys.history(conn, exam_id)
        first = {
            "key_version": 1,
            "at": format_time(row.created_at),
            "actor": created,
            "reason": None,
            "changes": [],
            "status": "done",
            "impact": None,
        }
        return {
            "key_version": row.key_version,
            "history": [first]
            + [
                {
                    "key_version": r.key_version,
                    "at": format_time(r.at),
                    "actor": r.actor,
                    "reason": r.reason,
                    "changes": orjson.Fragment(exact_json.dumps(exact_json.loads(r.changes))),
                    "status": r.status,
                    "impact": None if r.impact is None else orjson.loads(r.impact),
                }
                for r in rows
            ],
        }
