"""aiosqlite's connection, run on the calling thread: for the group-commit writer.

aiosqlite keeps the event loop free by running every SQLite call on a thread of its own
and handing the result back through the loop: two thread switches per statement, each
waiting for the GIL behind a busy request loop. For the group-commit writer (a batch is a
handful of statements, answered together) those hand-offs cost more than the
statements (the `live` polls' short reads by key skip aiosqlite and SQLAlchemy
altogether: `Store.quick_sqlite`). This connection keeps aiosqlite's interface
(SQLAlchemy's `sqlite+aiosqlite` dialect drives it unchanged) and calls SQLite directly
on the caller's thread — the writer's COMMIT excepted, see `InlineConnection`.

It replaces aiosqlite's private queue to its worker thread (`_tx`, which SQLAlchemy's
dialect also uses directly), so the aiosqlite version is pinned in pyproject.toml and
tests/integration/test_inline_sqlite.py checks the behaviour this relies on.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import aiosqlite


class _RunNow:
    """Stands in for aiosqlite's queue to its worker thread: runs each call at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:  # handed to the caller, as aiosqlite does
            if future is not None and not future.done():
                future.set_exception(error)
        else:
            if future is not None and not future.done():
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread.

    With `commit_on_thread`, COMMIT alone runs on a thread of this connection's own: the
    commit is where SQLite writes the log and waits for the disk (fsync), ~0.5–1 ms a
    batch, which on the caller's thread held the request loop (the writer runs on it).
    The caller still awaits the commit before it answers anyone; meanwhile the loop reads
    the next requests. One hand-over each way per batch, against one per statement that
    made a writer thread of its own wait for the GIL (store/writer.py). Measured with wrk,
    alternating: 4,665 → 5,455 durable saves/s on average over five pairs of runs
    (docs/performance.md).
    """

    def __init__(
        self, connector: Callable[[], sqlite3.Connection], *, commit_on_thread: bool = False
    ) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]
        self._committer = (
            ThreadPoolExecutor(1, thread_name_prefix="examvault-commit")
            if commit_on_thread
            else None
        )

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start

    async def commit(self) -> None:
        if self._committer is None:
            await super().commit()
            return
        await asyncio.get_running_loop().run_in_executor(self._committer, self._conn.commit)

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self._committer is not None:
                self._committer.shutdown(wait=False)


def creator(
    path: str, *, commit_on_thread: bool = False
) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An `async_creator` for `create_async_engine` opening `path` inline."""

    async def connect() -> aiosqlite.Connection:
        return await InlineConnection(
            partial(sqlite3.connect, path, check_same_thread=False),
            commit_on_thread=commit_on_thread,
        )

    return connect
