"""An exam's pictures: stored through the write path, given only to those who may see
the paper (docs/api.md, Media).

A picture is part of the paper, so it is as secret as the questions: the admin, an
invigilator of the exam, and a candidate of the exam once their attempt has started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock
from examvault.domain import media as rules
from examvault.services import audit
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import attempts, media
from examvault.store.queries.media import Medium


@dataclass(eq=False)
class PutMedium:
    """Store one picture: 201 when new or changed, 200 when the same bytes are there."""

    exam_id: str
    name: str
    medium: Medium
    actor: str
    now: int
    exam_limit: int

    async def apply(self, conn: AsyncConnection) -> tuple[int, dict[str, Any]]:
        body = {
            "name": self.name,
            "sha256": self.medium.sha256,
            "bytes": self.medium.size,
            "content_type": self.medium.content_type,
        }
        stored = await media.digest(conn, self.exam_id, self.name)
        if stored == self.medium.sha256:
            return 200, body
        started = await attempts.count_started(conn, self.exam_id)
        if started:
            raise errors.ExamInUse(
                f"exam {self.exam_id!r} has {started} attempts; its media can no longer change"
            )
        others = await media.bytes_of_others(conn, self.exam_id, self.name)
        if others + self.medium.size > self.exam_limit:
            raise errors.PayloadTooLarge(
                f"exam {self.exam_id!r} would hold more than {self.exam_limit} bytes of media"
            )
        await media.put(
            conn, self.exam_id, self.name, self.medium, self.now, replace=stored is not None
        )
        detail = {"name": self.name, "sha256": self.medium.sha256, "bytes": self.medium.size}
        await audit.record(conn, self.now, self.actor, "medium_stored", self.exam_id, detail)
        return 201, body


@dataclass
class Media:
    """Upload and read an exam's pictures."""

    store: Store
    writes: Writes
    clock: Clock
    exam_limit: int = rules.MAX_EXAM_BYTES

    async def put(
        self, exam_id: str, name: str, content_type: str, data: bytes, actor: str
    ) -> tuple[int, dict[str, Any]]:
        """Check and store a picture; committed before this returns."""
        media_type = rules.check_type(content_type, data)
        medium = Medium(media_type, rules.sha256(data), len(data), data)
        result: tuple[int, dict[str, Any]] = await self.writes.run(
            PutMedium(exam_id, name, medium, actor, self.clock.now(), self.exam_limit)
        )
        return result

    async def get(self, exam_id: str, name: str, candidate_id: str | None) -> Medium:
        """A picture; for a candidate (`candidate_id`), only once their attempt started."""
        async with self.store.read() as conn:
            if candidate_id is not None:
                attempt = await attempts.of_candidate(conn, exam_id, candidate_id)
                if attempt is None:
                    raise errors.Forbidden("the exam's media open when your attempt starts")
            found = await media.get(conn, exam_id, name)
        if found is None:
            raise errors.NotFound(f"exam {exam_id!r} has no medium {name!r}")
        return found

    async def of_exam(self, exam_id: str) -> dict[str, tuple[str, bytes]]:
        """Every picture of an exam, name → (content type, bytes): for its export (admin)."""
        async with self.store.read() as conn:
            found = await media.of_exam(conn, exam_id)
        return {name: (m.content_type, m.data) for name, m in found.items()}
