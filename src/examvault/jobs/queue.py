"""The job queue's three writes — claim, complete, fail — each one op of the shared
writer, and the types a handler speaks.

A handler computes (reading freely) and returns the write that finishes the job; that
write commits in the same transaction that marks the job done, so a job's effect exists
exactly when its row says "done".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.queries import jobs

Job = dict[str, Any]  # id, kind, exam_id, payload, tries (store.queries.jobs.claim)
Finish = Callable[[AsyncConnection], Awaitable[None]]
Handler = Callable[[Job], Awaitable[Finish]]


@dataclass(eq=False)
class Claim:
    """Take the oldest ready job (or one whose lease ran out) for this worker."""

    worker: str
    now: int
    lease: int

    async def apply(self, conn: AsyncConnection) -> Job | None:
        return await jobs.claim(conn, self.worker, self.now, self.lease)


@dataclass(eq=False)
class Complete:
    """Apply the job's result and mark it done, in one transaction."""

    job_id: int
    worker: str
    now: int
    finish: Finish

    async def apply(self, conn: AsyncConnection) -> bool:
        if not await jobs.complete(conn, self.job_id, self.worker, self.now):
            return False  # the lease ran out and another worker took it over
        await self.finish(conn)
        return True


@dataclass(eq=False)
class Fail:
    """Retry later with backoff, or park the job after too many tries."""

    job_id: int
    worker: str
    now: int
    tries: int
    max_tries: int
    error: str

    async def apply(self, conn: AsyncConnection) -> str:
        parked = self.tries >= self.max_tries
        await jobs.fail(
            conn,
            self.job_id,
            self.worker,
            self.now,
            park=parked,
            tries=self.tries,
            error=self.error,
        )
        return "parked" if parked else "retry"
