"""Group commit: concurrent writes share one transaction, each acknowledged after it.

Durability is paid per commit (one fsync), not per row. Every write of a request is an
`Op` put on a bounded queue; a writer task takes whatever is waiting, applies it in one
transaction and commits, and only then answers each op. A full queue answers 503 at
once (push back, don't fall over). If a batch fails for a reason other than the
database being unreachable, its ops are retried one per transaction, so one bad op
cannot take the others down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.errors import Unavailable
from examvault.store.engine import Store, is_unreachable

log = logging.getLogger("examvault.writer")

# SQLSTATEs after which the same batch may simply be run again.
_RETRYABLE = {"40001", "40P01"}


class Op:
    """One unit of write work; `apply` sets `result` or `error`, never both."""

    result: Any = None
    error: BaseException | None = None
    future: asyncio.Future[Any]

    def __init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()

    def reset(self) -> None:
        """Forget the outcome of a rolled-back try."""
        self.result = None
        self.error = None

    def after_commit(self) -> None:
        """Effects outside the database (metrics, logs), run once committed, error or not."""


BatchFn = Callable[[AsyncConnection, Sequence[Op]], Awaitable[None]]


def _sqlstate(error: BaseException) -> str | None:
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


class Writer:
    """The group-commit writer of one process."""

    def __init__(
        self,
        store: Store,
        apply_batch: BatchFn,
        *,
        queue_limit: int,
        batch_limit: int,
        timeout: float,
        tasks: int = 1,
    ) -> None:
        self._store = store
        self._apply = apply_batch
        self._queue: asyncio.Queue[Op] = asyncio.Queue(maxsize=queue_limit)
        self._batch_limit = batch_limit
        self._timeout = timeout
        self._n_tasks = tasks
        self._tasks: list[asyncio.Task[None]] = []
        self._conns: dict[int, AsyncConnection] = {}
        self.last_batch_size = 0
        self.on_batch: Callable[[int, float], None] | None = None

    @property
    def depth(self) -> int:
        """Ops waiting for a transaction."""
        return self._queue.qsize()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(i), name=f"writer-{i}") for i in range(self._n_tasks)
        ]

    async def stop(self) -> None:
        """Finish what is queued, then stop: nothing accepted is abandoned."""
        if self._tasks and all(not t.done() for t in self._tasks):
            await self._queue.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conn in self._conns.values():
            with contextlib.suppress(Exception):
                await conn.close()
        self._conns.clear()

    async def run(self, op: Op) -> Any:
        """Queue an op and wait until it is committed; raise its error if it has one."""
        try:
            self._queue.put_nowait(op)
        except asyncio.QueueFull:
            raise Unavailable("too many writes waiting; retry shortly", retry_after=1) from None
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that arrives just as the future completes.
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(op.future)
        except TimeoutError:
            raise Unavailable("the database is slow to answer; retry", retry_after=2) from None

    async def _loop(self, slot: int) -> None:
        while True:
            first = await self._queue.get()
            batch = [first]
            while len(batch) < self._batch_limit:
                try:
                    batch.append(self._queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            started = time.perf_counter()
            try:
                await self._commit(batch, slot)
            finally:
                for _ in batch:
                    self._queue.task_done()
            self.last_batch_size = len(batch)
            if self.on_batch:
                self.on_batch(len(batch), time.perf_counter() - started)

    async def _commit(self, batch: list[Op], slot: int) -> None:
        for attempt in range(3):
            try:
                await self._transaction(batch, slot)
            except Exception as error:
                if _sqlstate(error) in _RETRYABLE and attempt < 2:
                    continue
                if is_unreachable(error):
                    log.warning("database unavailable: %s", type(error).__name__)
                    self._fail(batch, Unavailable("database unavailable; retry", retry_after=2))
                elif len(batch) > 1:
                    log.exception("batch of %d failed; retrying one by one", len(batch))
                    for op in batch:
                        await self._commit([op], slot)
                else:
                    log.exception("write failed")
                    self._fail(batch, error)
                return
            else:
                self._answer(batch)
                return

    async def _transaction(self, batch: list[Op], slot: int) -> None:
        for op in batch:
            op.reset()
        # Each writer task keeps its connection: no pool checkout, ping or reset per batch.
        conn = self._conns.get(slot)
        if conn is None or conn.closed or conn.invalidated:
            conn = await self._store.write_engine.connect()
            self._conns[slot] = conn
        await conn.begin()
        try:
            await self._apply(conn, batch)
            await conn.commit()
        except BaseException as error:
            with contextlib.suppress(Exception):
                await conn.rollback()
            if is_unreachable(error) or isinstance(error, asyncio.CancelledError):
                self._conns.pop(slot, None)
                with contextlib.suppress(Exception):
                    await conn.invalidate()
            raise

    def _answer(self, batch: list[Op]) -> None:
        for op in batch:
            try:
                op.after_commit()
            except Exception:  # metrics must never fail a committed write
                log.exception("after_commit failed")
            if op.future.done():
                continue
            if op.error is not None:
                op.future.set_exception(op.error)
            else:
                op.future.set_result(op.result)

    @staticmethod
    def _fail(batch: list[Op], error: BaseException) -> None:
        for op in batch:
            if not op.future.done():
                op.future.set_exception(error)
