"""Background jobs: rows written with their cause, claimed safely by any number of workers.

A job is inserted in the same transaction as the change that causes it (an exam
closed, a key changed), so a crash can delay a job but never lose it. A worker claims
one row with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers with
`BEGIN IMMEDIATE` instead); a claim is a lease, so a job whose worker died is claimed
again once the lease runs out. A job that keeps failing is parked, with its error, for
someone to look at: never silently dropped. Every job is idempotent.

Why not an established queue library: procrastinate and its peers are PostgreSQL-only,
and the embedded default here is SQLite; the claim below is the same SQL they use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import regrade, reports, results
from examvault.clock import MICROS
from examvault.store.tables import jobs

if TYPE_CHECKING:
    from examvault.core import Core

log = logging.getLogger("examvault.jobs")

# A handler computes (reading freely) and returns the write that finishes the job;
# that write commits in the same transaction that marks the job done.
Finish = Callable[[AsyncConnection], Awaitable[None]]
Handler = Callable[["Core", dict[str, Any]], Awaitable[Finish]]


async def _ranks(core: Core, job: dict[str, Any]) -> Finish:
    updates = await results.compute_ranks(core, job["exam_id"])

    async def finish(conn: AsyncConnection) -> None:
        await results.write_ranks(conn, updates)

    return finish


# regrade: rescore after a key change (regrade.py); analytics: the examiners' figures
# (reports.py). Both are idempotent, like ranks: a rerun recomputes from stored rows.
HANDLERS: dict[str, Handler] = {
    "ranks": _ranks,
    "regrade": regrade.handle,
    "analytics": reports.handle,
}


@dataclass(eq=False)
class Claim:
    """Take the oldest ready job (or one whose lease ran out) for this worker."""

    worker: str
    now: int
    lease: int

    async def apply(self, conn: AsyncConnection) -> dict[str, Any] | None:
        ready = (
            select(jobs.c.id)
            .where(
                or_(
                    (jobs.c.status == "pending") & (jobs.c.run_after <= self.now),
                    (jobs.c.status == "running") & (jobs.c.locked_at < self.now - self.lease),
                )
            )
            .order_by(jobs.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        row = (
            await conn.execute(
                update(jobs)
                .where(jobs.c.id == ready)
                .values(
                    status="running",
                    locked_at=self.now,
                    locked_by=self.worker,
                    tries=jobs.c.tries + 1,
                )
                .returning(jobs.c.id, jobs.c.kind, jobs.c.exam_id, jobs.c.payload, jobs.c.tries)
            )
        ).one_or_none()
        if row is None:
            return None
        return {
            "id": row.id,
            "kind": row.kind,
            "exam_id": row.exam_id,
            "payload": orjson.loads(row.payload),
            "tries": row.tries,
        }


@dataclass(eq=False)
class Complete:
    """Apply the job's result and mark it done, in one transaction."""

    job_id: int
    worker: str
    now: int
    finish: Finish

    async def apply(self, conn: AsyncConnection) -> bool:
        done = await conn.execute(
            update(jobs)
            .where(jobs.c.id == self.job_id, jobs.c.locked_by == self.worker)
            .values(status="done", finished_at=self.now, locked_by=None)
        )
        if done.rowcount == 0:  # the lease ran out and another worker took it over
            return False
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
        await conn.execute(
            update(jobs)
            .where(jobs.c.id == self.job_id, jobs.c.locked_by == self.worker)
            .values(
                status="parked" if parked else "pending",
                run_after=self.now + min(2**self.tries, 300) * MICROS,
                last_error=self.error[:2000],
                locked_by=None,
            )
        )
        return "parked" if parked else "retry"


class Jobs:
    """Enqueueing jobs, and the worker loop of this process."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.worker_id = f"w-{secrets.token_hex(4)}"
        self._wake = asyncio.Event()

    async def enqueue(
        self, conn: AsyncConnection, kind: str, exam_id: str | None, payload: Any = None
    ) -> None:
        """Add a job in the caller's transaction; a pending twin makes it a no-op."""
        await conn.execute(
            self.core.insert(jobs)
            .values(
                kind=kind,
                exam_id=exam_id,
                payload=orjson.dumps(payload or {}).decode(),
                dedupe=f"{kind}:{exam_id}",
                status="pending",
                tries=0,
                run_after=self.core.clock.now(),
                created_at=self.core.clock.now(),
            )
            # The predicate is literal SQL, not a bound parameter: PostgreSQL matches it to
            # the partial unique index at plan time, and once asyncpg's prepared statement
            # switches to a generic plan (after five runs) a `$9` no longer matches it.
            .on_conflict_do_nothing(
                index_elements=[jobs.c.dedupe], index_where=text("status = 'pending'")
            )
        )

    def poke(self) -> None:
        """Wake this process's worker now instead of at its next poll."""
        self._wake.set()

    async def run_once(self) -> bool:
        """Claim and run one job; False when none was ready."""
        core = self.core
        lease = int(core.settings.job_lease_seconds * MICROS)
        job = await core.write(Claim(self.worker_id, core.clock.now(), lease))
        if job is None:
            return False
        kind = job["kind"]
        try:
            finish = await HANDLERS[kind](core, job)
            await core.write(Complete(job["id"], self.worker_id, core.clock.now(), finish))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job %s %s failed", kind, job["id"], extra={"exam_id": job["exam_id"]})
            outcome = await core.write(
                Fail(
                    job["id"],
                    self.worker_id,
                    core.clock.now(),
                    job["tries"],
                    core.settings.job_max_tries,
                    f"{type(exc).__name__}: {exc}",
                )
            )
            core.metrics.jobs.labels(kind, outcome).inc()
            return True
        core.metrics.jobs.labels(kind, "done").inc()
        log.info("job %s done", kind, extra={"exam_id": job["exam_id"], "kind": kind})
        return True

    async def run_forever(self) -> None:
        """The worker loop: run jobs while there are some, else wait for a poke or a poll."""
        stopping = self.core.stopping
        while not stopping.is_set():
            try:
                while not stopping.is_set() and await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("job worker could not claim; retrying", exc_info=True)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.core.settings.job_poll_seconds):
                    await self._wake.wait()
