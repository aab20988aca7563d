"""The server's parts, wired once per process and handed to every route.

`Core` owns the store, the group-commit writer, the caches and the background tasks
(sweeper and job worker). `web/app.py` builds one in its lifespan; tests build one
around a temporary database; nothing else constructs these parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import jobs as jobs_module
from examvault import sweeper
from examvault.attempts import Attempts
from examvault.candidates import Directory
from examvault.catalog import Catalog
from examvault.clock import Clock, SystemClock
from examvault.journal import AttemptOp, apply_attempt_ops
from examvault.metrics import Metrics
from examvault.settings import Settings
from examvault.store.engine import Store, open_store
from examvault.store.writer import Op, Writer
from examvault.views import QuestionFragments


class Applies(Protocol):
    async def apply(self, conn: AsyncConnection) -> Any: ...


class Call(Op):
    """A write that is not an attempt operation, run in a savepoint of the shared batch
    (so that its refusal undoes what it wrote, and only that) unless its work declares
    `refuses_before_writing`: then a refusal has nothing to undo, and the savepoint's two
    statements are saved — at the start of an exam every student starts at once."""

    def __init__(self, work: Applies) -> None:
        super().__init__()
        self.work = work

    async def apply(self, conn: AsyncConnection) -> Any:
        return await self.work.apply(conn)

    def after_commit(self) -> None:
        hook = getattr(self.work, "after_commit", None)
        if hook is not None:
            hook()


@dataclass
class Core:
    """Everything a request needs."""

    settings: Settings
    store: Store
    clock: Clock
    metrics: Metrics
    catalog: Catalog
    fragments: QuestionFragments
    shard: int

    def __post_init__(self) -> None:
        self.writer = Writer(
            self.store,
            self._apply_batch,
            queue_limit=self.settings.write_queue_limit,
            batch_limit=self.settings.write_batch_limit,
            timeout=self.settings.write_timeout_seconds,
            tasks=self.settings.writers,
        )
        self.writer.on_batch = self._observe_batch
        self.writer.on_failure = self.metrics.write_failures.inc
        self.directory = Directory(self.store)
        self.attempts = Attempts(self)
        self.jobs = jobs_module.Jobs(self)
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def create(cls, settings: Settings, clock: Clock | None = None) -> Core:
        return cls(
            settings=settings,
            store=open_store(settings.database()),
            clock=clock or SystemClock(),
            metrics=Metrics(),
            catalog=Catalog(),
            fragments=QuestionFragments(),
            shard=secrets.randbelow(1 << 15),
        )

    def insert(self, table: Table) -> Any:
        """An INSERT that knows ON CONFLICT on either store."""
        return (postgresql.insert if self.store.is_postgresql else sqlite.insert)(table)

    async def write(self, work: Applies) -> Any:
        """Run one write in the next shared transaction; return once it is committed."""
        return await self.writer.run(Call(work))

    async def write_attempt(self, op: AttemptOp) -> Any:
        """Run a save, submit or touch in the next shared transaction."""
        op.metrics = self.metrics
        return await self.writer.run(op)

    async def _apply_batch(self, conn: AsyncConnection, ops: Sequence[Op]) -> None:
        from examvault.errors import ExamvaultError

        attempt_ops = [op for op in ops if isinstance(op, AttemptOp)]
        for op in ops:
            if isinstance(op, Call):
                try:
                    if getattr(op.work, "refuses_before_writing", False):
                        op.result = await op.apply(conn)  # nothing to undo on a refusal
                    else:
                        async with conn.begin_nested():
                            op.result = await op.apply(conn)
                except ExamvaultError as error:
                    op.error = error
        if attempt_ops:
            await apply_attempt_ops(conn, attempt_ops, self)

    def _observe_batch(self, size: int, seconds: float) -> None:
        self.metrics.write_batch_size.observe(size)
        self.metrics.write_batch_seconds.observe(seconds)
        self.metrics.write_queue_depth.set(self.writer.depth)

    async def start(self, *, background: bool = True) -> None:
        """Start the writer and, unless told not to, the sweeper and the job worker."""
        self.writer.start()
        if background:
            self._tasks.append(asyncio.create_task(sweeper.run_forever(self), name="sweeper"))
            if self.settings.run_workers:
                self._tasks.append(asyncio.create_task(self.jobs.run_forever(), name="jobs"))

    async def stop(self) -> None:
        """Let the sweeper and the job worker finish the statement they are in (a task
        cancelled mid-query leaves its connection half-used), then stop the writer."""
        self.stopping.set()
        self.jobs.poke()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=5)
            for task in late:  # a long job: it is leased, and rerun after a restart
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._tasks.clear()
        await self.writer.stop()
        await self.store.dispose()
