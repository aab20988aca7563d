"""The server's clock at work: auto-submit attempts past their end, close exams.

Runs in every server process. Sealing is one conditional UPDATE (`status =
'in_progress' AND end_at < now`), so when several processes share a database an
attempt is never sealed twice and never skipped: whichever sweeper comes first seals
it, and the others find nothing left to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from examvault.attempts import Close, SealExpired
from examvault.clock import MICROS
from examvault.store.tables import attempts, exams

if TYPE_CHECKING:
    from examvault.core import Core

log = logging.getLogger("examvault.sweeper")


async def sweep(core: Core) -> int:
    """Seal what has expired and close exams whose closes_at + grace has passed."""
    now = core.clock.now()
    async with core.store.read() as conn:
        expired = (
            await conn.execute(
                select(attempts.c.id)
                .where(attempts.c.status == "in_progress", attempts.c.end_at < now)
                .limit(1)
            )
        ).first()
        closing = (
            (
                await conn.execute(
                    select(exams.c.id).where(
                        exams.c.closed_at.is_(None),
                        exams.c.closes_at.is_not(None),
                        exams.c.closes_at + exams.c.grace_seconds * MICROS < now,
                    )
                )
            )
            .scalars()
            .all()
        )
        in_progress = (
            await conn.execute(
                select(func.count()).select_from(attempts).where(attempts.c.status == "in_progress")
            )
        ).scalar_one()
    sealed = 0
    if expired is not None:
        sealed = int(await core.write(SealExpired(core, now)))
    for exam_id in closing:
        await core.write(Close(core, exam_id, "server", now))
        log.info("exam closed at closes_at", extra={"exam_id": exam_id})
    core.metrics.attempts_in_progress.set(max(0, in_progress - sealed))
    return sealed


async def run_forever(core: Core) -> None:
    """Sweep every interval; a failing sweep (database down) is retried next time."""
    while not core.stopping.is_set():
        try:
            await sweep(core)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("sweep failed; retrying", exc_info=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(core.settings.sweep_interval_seconds):
                await core.stopping.wait()
