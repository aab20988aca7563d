"""The server's clock at work: auto-submit attempts past their end, close exams.

Runs in every server process. Sealing is one conditional UPDATE (`status =
'in_progress' AND end_at < now`, store/queries/attempts.py), so when several processes
share a database an attempt is never sealed twice and never skipped: whichever sweeper
comes first seals it, and the others find nothing left to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from examvault.clock import Clock
from examvault.metrics import Metrics
from examvault.services.attempts import SealExpired
from examvault.services.exams import Exams
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import attempts, exams

log = logging.getLogger("examvault.sweeper")


@dataclass
class Sweeper:
    """Seals what has expired and closes exams whose closes_at + grace has passed."""

    store: Store
    writes: Writes
    exams: Exams
    clock: Clock
    metrics: Metrics
    interval: float

    async def sweep(self) -> int:
        """One pass; the number of attempts it sealed."""
        now = self.clock.now()
        async with self.store.read() as conn:
            expired = await attempts.any_expired(conn, now)
            closing = await exams.due_to_close(conn, now)
            in_progress = await attempts.count_in_progress(conn)
        sealed = 0
        if expired:
            sealed = int(await self.writes.run(SealExpired(now, self.metrics)))
        for exam_id in closing:
            await self.exams.close(exam_id, "server")
            log.info("exam closed at closes_at", extra={"exam_id": exam_id})
        self.metrics.attempts_in_progress.set(max(0, in_progress - sealed))
        return sealed

    async def run_forever(self, stopping: asyncio.Event) -> None:
        """Sweep every interval; a failing sweep (database down) is retried next time."""
        while not stopping.is_set():
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("sweep failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await stopping.wait()
