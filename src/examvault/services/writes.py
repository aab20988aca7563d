"""The write path: every write of a request joins the next shared transaction.

Three kinds of work share the group-commit writer (store/writer.py): attempt operations
(save, submit, touch), applied together by the journal with a fixed number of
statements; starts, applied together by services/starts.py; and every other write
(`Applies`: an exam, a registration, a close, a key change, a job's claim), each in a
SAVEPOINT of the same transaction so that its refusal undoes what it wrote and only that.
The COMMIT answers them all at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.errors import ExamvaultError
from examvault.metrics import Metrics
from examvault.services import starts
from examvault.services.journal import AttemptOp, Journal
from examvault.services.starts import StartOp
from examvault.settings import Settings
from examvault.store.engine import Store
from examvault.store.writer import Op, Writer


class Applies(Protocol):
    """A write: what it does inside the shared transaction."""

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


class Writes:
    """The process's group-commit writer, and how a batch of ops is applied."""

    def __init__(self, store: Store, settings: Settings, metrics: Metrics, journal: Journal):
        self.metrics = metrics
        self.journal = journal
        self.writer = Writer(
            store,
            self._apply_batch,
            queue_limit=settings.write_queue_limit,
            batch_limit=settings.write_batch_limit,
            timeout=settings.write_timeout_seconds,
            tasks=settings.writer_tasks(),
        )
        self.writer.on_batch = self._observe_batch
        self.writer.on_failure = metrics.write_failures.inc

    @property
    def depth(self) -> int:
        """Ops waiting for a batch."""
        return self.writer.depth

    async def run(self, work: Applies) -> Any:
        """Run one write in the next shared transaction; return once it is committed."""
        return await self.writer.run(Call(work))

    async def begin_attempt(self, op: StartOp) -> Any:
        """Start (or resume) an attempt in the next shared transaction."""
        return await self.writer.run(op)

    async def attempt(self, op: AttemptOp) -> Any:
        """Run a save, submit or touch in the next shared transaction."""
        op.metrics = self.metrics
        return await self.writer.run(op)

    async def _apply_batch(self, conn: AsyncConnection, ops: Sequence[Op], slot: int) -> None:
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
        start_ops = [op for op in ops if isinstance(op, StartOp)]
        if start_ops:
            await starts.apply(conn, start_ops)
        if attempt_ops:
            await self.journal.apply(conn, attempt_ops, slot)

    def _observe_batch(self, size: int, seconds: float) -> None:
        self.metrics.write_batch_size.observe(size)
        self.metrics.write_batch_seconds.observe(seconds)
        self.metrics.write_queue_depth.set(self.writer.depth)

    def start(self) -> None:
        self.writer.start()

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        await self.writer.stop()
