"""Jobs as the services see them: a row written in the transaction of its cause, and a
bell that wakes this process's worker once that transaction commits.

A crash between the two can delay a job but never lose it: the row is committed with
its cause, and every worker polls (jobs/runner.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.clock import Clock
from examvault.store.queries import jobs


class JobQueue:
    """Enqueue jobs in a caller's transaction; wake the local worker after commit."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._bell = asyncio.Event()

    async def enqueue(
        self, conn: AsyncConnection, kind: str, exam_id: str | None, payload: Any = None
    ) -> None:
        """Add a job in the caller's transaction; a pending twin makes it a no-op."""
        await jobs.enqueue(conn, kind, exam_id, payload, self.clock.now())

    def poke(self) -> None:
        """Wake this process's worker now instead of at its next poll."""
        self._bell.set()

    async def wait(self, seconds: float) -> None:
        """Until poked, or for at most `seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._bell.wait()
        self._bell.clear()
