"""Group commit: concurrent writes share one transaction, each acknowledged after it.

Durability is paid per commit (one fsync), not per row. Every write of a request is an
`Op` put on a bounded queue; a writer task takes whatever is waiting, applies it in one
transaction and commits, and only then answers each op. A full queue answers 503 at
once (push back, don't fall over). If a batch fails for a reason other than the
database being unreachable, its ops are retried one per transaction, so one bad op
cannot take the others down with it.

On PostgreSQL the writer keeps two batches in flight, as a two-stage pipeline: one task
at a time gathers a batch and applies it (the intake), and hands the intake on when only
its COMMIT is left. One batch at a time left the process idle while PostgreSQL worked on
it (0.75 of a core); a second task taking batches whenever it was free split them in
half, which cost more CPU a save than it saved when the cores were busy (docs/performance.md,
"Two batches in flight").
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from examvault.errors import Unavailable
from examvault.store.checkpoints import Checkpointer
from examvault.store.engine import Store, is_unreachable

log = logging.getLogger("examvault.writer")

# SQLSTATEs after which the same batch may simply be run again.
_RETRYABLE = {"40001", "40P01"}


class Op:
    """One unit of write work; `apply` sets `result` or `error`, never both."""

    result: Any = None
    error: BaseException | None = None
    future: asyncio.Future[Any]
    give_up_at: float = 0.0  # request-loop time after which its request answers 503

    def __init__(self) -> None:
        self.future = asyncio.get_running_loop().create_future()

    def reset(self) -> None:
        """Forget the outcome of a rolled-back try."""
        self.result = None
        self.error = None

    def after_commit(self) -> None:
        """Effects outside the database (metrics, logs), run once committed, error or not."""


# Applies a batch in the transaction of `conn`; the int is the writer task's slot (0, 1, …),
# so that concurrent transactions of one process can keep to rows of their own.
BatchFn = Callable[[AsyncConnection, Sequence[Op], int], Awaitable[None]]


class _Turn:
    """A writer task's turn at the intake: handed on once, at the COMMIT or when its
    batch ends, whichever comes first."""

    def __init__(self, intake: asyncio.Lock) -> None:
        self._intake: asyncio.Lock | None = intake

    def hand_on(self) -> None:
        if self._intake is not None:
            self._intake.release()
            self._intake = None


def _sqlstate(error: BaseException) -> str | None:
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


class Writer:
    """The group-commit writer of one process, on the request loop.

    It once ran in a thread of its own, with its own event loop. Every time it came back
    from the database it had to take the GIL back from the busy request loop, waiting
    up to the interpreter's 5 ms switch interval. On SQLite a batch of 60 saves took
    16 ms of wall time for 6 ms of work, and both cores were half idle
    (docs/performance.md, "The request path on one core").
    - On SQLite its calls are synchronous (store/inline_sqlite.py), so a batch never
      waits behind other callbacks. Only the COMMIT, where SQLite waits for the disk,
      leaves the loop for a thread of the connection's own; checkpoints are made beside
      the writer (store/checkpoints.py).
    - On PostgreSQL its round trips are asyncpg's awaits. In four alternating pairs of
      wrk runs, the writer on the request loop gave 4,808 durable saves/s on average
      against 4,507 in its thread, at 151 µs of server CPU per save against 170
      (docs/performance.md, "The load tool's own pauses, one send per response, the
      PostgreSQL writer on the loop").
    """

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
        self._limit = queue_limit
        self._batch_limit = batch_limit
        self._timeout = timeout
        self._n_tasks = tasks
        self._served: asyncio.Task[None] | None = None  # the writer's tasks
        self._checkpointer: Checkpointer | None = None  # SQLite: its checkpoints, beside it
        self._pending = 0  # accepted and not yet answered; touched on the request loop only
        self._waiting: collections.deque[Op] = collections.deque()  # in order of arrival
        self._expiry: asyncio.Task[None] | None = None
        self._drained: asyncio.Event | None = None
        self._main: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Op] | None = None
        self._stopping: asyncio.Event | None = None
        self._conns: dict[int, AsyncConnection] = {}
        self._intake: asyncio.Lock | None = None  # held while a task gathers and applies
        self.engine: AsyncEngine | None = None
        self.last_batch_size = 0
        self.on_batch: Callable[[int, float], None] | None = None
        self.on_failure: Callable[[int], None] | None = None

    @property
    def depth(self) -> int:
        """Ops accepted and not yet answered."""
        return self._pending

    def start(self) -> None:
        """Start the writer's tasks; call from the request loop."""
        self._main = asyncio.get_running_loop()
        self._intake = asyncio.Lock()  # made here: a lock keeps the loop it first waits on
        self._drained = asyncio.Event()
        self._expiry = self._main.create_task(self._expire(), name="writer-expiry")
        if self._store.sqlite_path is not None:
            self._checkpointer = Checkpointer(self._store.sqlite_path)
            self._checkpointer.start()
        self.engine = self._store.new_write_engine(connections=self._n_tasks)
        self._queue = asyncio.Queue()
        self._stopping = asyncio.Event()
        self._served = self._main.create_task(self._serve(), name="writer")

    async def _serve(self) -> None:
        assert self._stopping is not None
        tasks = [
            asyncio.create_task(self._loop(i), name=f"writer-{i}") for i in range(self._n_tasks)
        ]
        await self._stopping.wait()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for conn in self._conns.values():
            with contextlib.suppress(Exception):
                await conn.close()
        self._conns.clear()

    async def stop(self) -> None:
        """Finish what is queued, then stop: nothing accepted is abandoned."""
        if self._served is None:
            return
        assert self._drained is not None and self._stopping is not None
        if self._pending:
            self._drained.clear()
            await self._drained.wait()
        self._stopping.set()
        await self._served
        self._served = None
        assert self.engine is not None
        await self.engine.dispose()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry

    async def run(self, op: Op) -> Any:
        """Queue an op and wait until it is committed; raise its error if it has one."""
        if self._pending >= self._limit or self._queue is None:
            raise Unavailable("too many writes waiting; retry shortly", retry_after=1)
        self._pending += 1
        self._queue.put_nowait(op)
        op.give_up_at = self._main_loop_time() + self._timeout
        self._waiting.append(op)
        return await op.future

    def _main_loop_time(self) -> float:
        assert self._main is not None
        return self._main.time()

    async def _expire(self) -> None:
        """Answer 503 to ops waiting longer than the timeout, on the request loop.

        One sweep every quarter second instead of a timer per request: in the profile of
        a 4,000-submit burst, arming and cancelling a timer per request was an eighth
        of the request loop's time. An expired op stays queued and is still applied;
        only the wait for its answer ends (the client retries with the same seq).
        """
        while True:
            await asyncio.sleep(0.25)
            now = self._main_loop_time()
            waiting = self._waiting
            while waiting and (waiting[0].future.done() or waiting[0].give_up_at <= now):
                op = waiting.popleft()
                if not op.future.done():
                    op.future.set_exception(
                        Unavailable("the database is slow to answer; retry", retry_after=2)
                    )

    async def _loop(self, slot: int) -> None:
        assert self._queue is not None and self._intake is not None
        while True:
            await self._intake.acquire()
            turn = _Turn(self._intake)
            try:
                first = await self._queue.get()
                batch = [first]
                while len(batch) < self._batch_limit:
                    try:
                        batch.append(self._queue.get_nowait())
                    except asyncio.QueueEmpty:
                        break
                started = time.perf_counter()
                await self._commit(batch, slot, turn)
            finally:
                turn.hand_on()
            self.last_batch_size = len(batch)
            if self.on_batch:
                self.on_batch(len(batch), time.perf_counter() - started)
            # On SQLite a batch runs without a pause (its calls are synchronous): let the
            # requests that arrived meanwhile run, and the answers just scheduled go out,
            # before the next batch.
            await asyncio.sleep(0)

    async def _commit(self, batch: list[Op], slot: int, turn: _Turn) -> None:
        for attempt in range(3):
            try:
                await self._transaction(batch, slot, turn)
            except Exception as error:  # every failure must reach its ops
                if _sqlstate(error) in _RETRYABLE and attempt < 2:
                    continue
                if is_unreachable(error):
                    log.warning("database unavailable: %s", type(error).__name__)
                    self._resolve(batch, Unavailable("database unavailable; retry", retry_after=2))
                elif len(batch) > 1:
                    log.exception("batch of %d failed; retrying one by one", len(batch))
                    for op in batch:
                        await self._commit([op], slot, turn)
                else:
                    log.exception("write failed")
                    if self.on_failure:
                        self.on_failure(len(batch))
                    self._resolve(batch, error)
                return
            else:
                self._resolve(batch, None)
                return

    async def _transaction(self, batch: list[Op], slot: int, turn: _Turn) -> None:
        for op in batch:
            op.reset()
        # Each writer task keeps its connection: no pool checkout, ping or reset per batch.
        conn = self._conns.get(slot)
        if conn is None or conn.closed or conn.invalidated:
            assert self.engine is not None
            conn = await self.engine.connect()
            self._conns[slot] = conn
        await conn.begin()
        try:
            await self._apply(conn, batch, slot)
            turn.hand_on()  # the next batch is gathered and applied while this one commits
            await conn.commit()
        except BaseException as error:
            with contextlib.suppress(Exception):
                await conn.rollback()
            if is_unreachable(error) or isinstance(error, asyncio.CancelledError):
                self._conns.pop(slot, None)
                with contextlib.suppress(Exception):
                    await conn.invalidate()
            raise

    def _resolve(self, batch: list[Op], failure: BaseException | None) -> None:
        """Run after-commit effects and answer every op."""
        for op in batch:
            if failure is None:
                try:
                    op.after_commit()
                except Exception:  # metrics must never fail a committed write
                    log.exception("after_commit failed")
            self._pending -= 1
            if op.future.done():
                continue
            if failure is not None:
                op.future.set_exception(failure)
            elif op.error is not None:
                op.future.set_exception(op.error)
            else:
                op.future.set_result(op.result)
        if self._pending == 0 and self._drained is not None:
            self._drained.set()
