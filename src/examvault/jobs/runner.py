"""The job worker of this process: claim a job, run its handler, finish it, repeat.

Jobs are rows written with their cause (services/queue.py), claimed safely by any number
of workers (store/queries/jobs.py): a crash can delay a job but never lose it. A job
that keeps failing is parked, with its error, for someone to look at: never silently
dropped. Every handler is idempotent.

Why not an established queue library: procrastinate and its peers are PostgreSQL-only,
and the embedded default here is SQLite; the claim is the same SQL they use.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping

from examvault.clock import MICROS, Clock
from examvault.jobs.queue import Claim, Complete, Fail, Handler
from examvault.metrics import Metrics
from examvault.services.queue import JobQueue
from examvault.services.writes import Writes
from examvault.settings import Settings

log = logging.getLogger("examvault.jobs")


class Worker:
    """Runs the jobs of every kind it has a handler for."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        *,
        writes: Writes,
        queue: JobQueue,
        clock: Clock,
        metrics: Metrics,
        settings: Settings,
    ) -> None:
        self.handlers = handlers
        self.writes = writes
        self.queue = queue
        self.clock = clock
        self.metrics = metrics
        self.lease = int(settings.job_lease_seconds * MICROS)
        self.max_tries = settings.job_max_tries
        self.poll_seconds = settings.job_poll_seconds
        self.worker_id = f"w-{secrets.token_hex(4)}"

    async def run_once(self) -> bool:
        """Claim and run one job; False when none was ready."""
        job = await self.writes.run(Claim(self.worker_id, self.clock.now(), self.lease))
        if job is None:
            return False
        kind = job["kind"]
        try:
            finish = await self.handlers[kind](job)
            await self.writes.run(Complete(job["id"], self.worker_id, self.clock.now(), finish))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("job %s %s failed", kind, job["id"], extra={"exam_id": job["exam_id"]})
            outcome = await self.writes.run(
                Fail(
                    job["id"],
                    self.worker_id,
                    self.clock.now(),
                    job["tries"],
                    self.max_tries,
                    f"{type(exc).__name__}: {exc}",
                )
            )
            self.metrics.jobs.labels(kind, outcome).inc()
            return True
        self.metrics.jobs.labels(kind, "done").inc()
        log.info("job %s done", kind, extra={"exam_id": job["exam_id"], "kind": kind})
        return True

    async def run_forever(self, stopping: asyncio.Event) -> None:
        """Run jobs while there are some, else wait for a poke or a poll."""
        while not stopping.is_set():
            try:
                while not stopping.is_set() and await self.run_once():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("job worker could not claim; retrying", exc_info=True)
            if not stopping.is_set():
                await self.queue.wait(self.poll_seconds)
