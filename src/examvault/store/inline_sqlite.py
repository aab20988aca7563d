"""aiosqlite's connection, run on the calling thread: for the writer, which has its own.

aiosqlite keeps the event loop free by running every SQLite call on a thread of its own
and handing the result back through the loop. The group-commit writer already runs on
a thread and loop of its own (store/writer.py), so for it each of those hand-offs was
pure cost: two thread switches per statement, each waiting for the GIL behind the
request loop. In the profile of steady autosave the writer spent more time waiting for
those wake-ups than applying the batch. This connection keeps aiosqlite's interface
(SQLAlchemy's `sqlite+aiosqlite` dialect drives it unchanged) and calls SQLite directly
on the writer's thread.

It replaces aiosqlite's private queue to its worker thread (`_tx`, which SQLAlchemy's
dialect also uses directly), so the aiosqlite version is pinned in pyproject.toml and
tests/integration/test_inline_sqlite.py checks the behaviour this relies on.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Generator
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
    """An aiosqlite connection whose calls run on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start


def creator(path: str) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """An `async_creator` for `create_async_engine` opening `path` inline."""

    async def connect() -> aiosqlite.Connection:
        return await InlineConnection(partial(sqlite3.connect, path, check_same_thread=False))

    return connect
