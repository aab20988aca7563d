"""Engines for SQLite (WAL) and PostgreSQL, with the settings durability needs.

SQLite: WAL with `synchronous=FULL`, so a commit is on disk before it returns and an
acknowledged answer survives power loss, not only a process crash (NORMAL would lose
the last transactions on power loss). Writes take the lock up front with
`BEGIN IMMEDIATE`, so two writers never deadlock on a lock upgrade; reads run in
deferred transactions on a separate pool and never block the writer.

PostgreSQL: `synchronous_commit=on` is forced per connection, whatever the server's
default, so a commit has been flushed to the WAL on disk before it returns.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from examvault.errors import Unavailable
from examvault.store import inline_sqlite

# SQLSTATE classes of a database that is away, not of a wrong statement: connection
# exceptions (08), insufficient resources (53: too many connections), operator
# intervention (57: shutting down, restarting, "the database system is starting up").
_AWAY_CLASSES = ("08", "53", "57")


def is_unreachable(error: BaseException) -> bool:
    """Errors that mean the database cannot be used right now, not that the op is wrong."""
    if isinstance(error, sa_exc.DBAPIError):
        orig = error.orig
        state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return (
            bool(error.connection_invalidated)
            or isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
            or (isinstance(state, str) and state[:2] in _AWAY_CLASSES)
        )
    state = getattr(error, "sqlstate", None)  # asyncpg's own, when raised past SQLAlchemy
    if isinstance(state, str) and state[:2] in _AWAY_CLASSES:
        return True
    return isinstance(error, OSError | ConnectionError | sa_exc.TimeoutError | TimeoutError)


def async_url(url: str) -> str:
    """Turn a user's `sqlite:///…` or `postgresql://…` into the async driver's URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:///… or postgresql://…")


def _sqlite_pragmas(engine: AsyncEngine, *, immediate: bool, busy_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver: it would otherwise BEGIN lazily
        # and in deferred mode, which is what makes SQLite writers deadlock.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@dataclass
class Store:
    """The database: a pool for reads and one for writes (the same one on PostgreSQL)."""

    url: str
    read_engine: AsyncEngine
    write_engine: AsyncEngine
    busy_ms: int = 30_000

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction: one consistent snapshot for several queries."""
        try:
            async with self.read_engine.connect() as conn, conn.begin():
                yield conn
        except Exception as exc:
            if is_unreachable(exc):
                raise Unavailable("database unavailable; retry", retry_after=2) from exc
            raise

    async def ping(self) -> None:
        """One round trip to the database (readiness); Unavailable when it is away."""
        async with self.read() as conn:
            await conn.execute(text("SELECT 1"))

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction outside the group-commit writer (start-up, CLI)."""
        async with self.write_engine.connect() as conn, conn.begin():
            yield conn

    def new_write_engine(self) -> AsyncEngine:
        """A write engine like this store's, for the writer's own thread and event loop.

        On SQLite it calls SQLite on that thread directly (store/inline_sqlite.py)."""
        return _engines(self.url, pool_size=2, busy_ms=self.busy_ms, inline=True)[1]

    async def dispose(self) -> None:
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()


def create_private_sqlite_file(database: str | None) -> None:
    """Create a SQLite database file readable by its owner only (0600), if it is missing.

    SQLite would create it 0644 less the umask: world-readable, with every candidate's
    name, answers and token hashes. An empty file is an empty database to SQLite, and
    SQLite gives its -wal and -shm files the database file's permissions.
    """
    if database in (None, "", ":memory:") or database.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def open_store(url: str, *, pool_size: int = 10, busy_ms: int = 30_000) -> Store:
    """Open engines for a user-facing database URL."""
    read, write = _engines(url, pool_size=pool_size, busy_ms=busy_ms)
    return Store(url=url, read_engine=read, write_engine=write, busy_ms=busy_ms)


def _engines(
    url: str, *, pool_size: int, busy_ms: int, inline: bool = False
) -> tuple[AsyncEngine, AsyncEngine]:
    aurl = async_url(url)
    if aurl.startswith("sqlite"):
        create_private_sqlite_file(make_url(aurl).database)
        extra: dict[str, Any] = {}
        if inline:
            extra["async_creator"] = inline_sqlite.creator(make_url(aurl).database or ":memory:")
        write = create_async_engine(aurl, pool_size=2, max_overflow=2, pool_timeout=30, **extra)
        read = create_async_engine(aurl, pool_size=pool_size, max_overflow=4, pool_timeout=5)
        _sqlite_pragmas(write, immediate=True, busy_ms=busy_ms)
        _sqlite_pragmas(read, immediate=False, busy_ms=busy_ms)
        return read, write
    engine = create_async_engine(
        aurl,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=5,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {"synchronous_commit": "on", "application_name": "examvault"},
            "timeout": 5,
            "command_timeout": 60,
        },
    )
    return engine, engine
