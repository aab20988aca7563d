"""Engines for SQLite (WAL) and PostgreSQL, with the settings durability needs.

SQLite: WAL with `synchronous=FULL`, so a commit is on disk before it returns and an
acknowledged answer survives power loss, not only a process crash (NORMAL would lose
the last transactions on power loss). Writes take the lock up front with
`BEGIN IMMEDIATE`, so two writers never deadlock on a lock upgrade; reads run in
deferred transactions on a separate pool and never block the writer.

PostgreSQL: `synchronous_commit=on` is forced per connection, whatever the server's
default, so a commit has been flushed to the WAL on disk before it returns (and, with a
synchronous standby, to the standby's WAL too). The URL may name several hosts, libpq's
way (`postgresql://u@h1:5432,h2:5432/db?target_session_attrs=read-write`) or
SQLAlchemy's (`postgresql://u@/db?host=h1:5432&host=h2:5432&target_session_attrs=…`):
each new connection goes to the first host that accepts writes, so after a fail-over
the pool finds the promoted standby by itself (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from examvault.errors import Unavailable
from examvault.store import inline_sqlite

# SQLSTATE classes of a database that is away, not of a wrong statement: connection
# exceptions (08), insufficient resources (53: too many connections), operator
# intervention (57: shutting down, restarting, "the database system is starting up").
_AWAY_CLASSES = ("08", "53", "57")
# A connection to a server that is not (or no longer) the primary: 25006
# read_only_sql_transaction, from a standby or a demoted server. Retrying on the same
# connection can never work; a new one finds the primary (target_session_attrs).
_NOT_PRIMARY = ("25006",)
# States after which the connection itself is no use: it is discarded from the pool
# (connection exceptions, the server shutting down or crashed, not the primary).
_DISCARD = ("08", "57P", *_NOT_PRIMARY)
# The longest a quick read on the event loop waits for SQLite's lock (`Store.quick_sqlite`).
QUICK_BUSY_MS = 250
# SQLite's errors of a database that cannot be read right now (locked past the wait, the
# disk failing, the file gone), not of a wrong statement: a quick read answers 503.
_SQLITE_AWAY = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_CANTOPEN")


def _sqlstate(error: BaseException | None) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) else None


def _away_state(state: str | None) -> bool:
    return state is not None and (state[:2] in _AWAY_CLASSES or state in _NOT_PRIMARY)


def _unusable(error: BaseException | None) -> bool:
    """asyncpg's client-side errors (InternalClientError and its subclasses): its refusal
    when no host of a multi-host URL is the primary (mid fail-over: the primary gone, the
    standby not promoted yet), and a connection whose protocol was left mid-operation
    when its server died ("cannot switch to state …; another operation is in progress",
    seen by the fail-over drill). Either way the connection cannot be used; a new one
    can. Matched by name, so that this module does not import the driver."""
    return any(c.__name__ == "InternalClientError" for c in type(error).__mro__)


def is_unreachable(error: BaseException) -> bool:
    """Errors that mean the database cannot be used right now, not that the op is wrong."""
    if isinstance(error, sa_exc.DBAPIError):
        orig = error.orig
        return (
            bool(error.connection_invalidated)
            or isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
            or _away_state(_sqlstate(orig))
            or _unusable(orig)
        )
    # asyncpg's own, when raised past SQLAlchemy (the writer's driver-level statements)
    if _away_state(_sqlstate(error)) or _unusable(error):
        return True
    return isinstance(error, OSError | ConnectionError | sa_exc.TimeoutError | TimeoutError)


# libpq's multi-host form: `scheme://[user[:password]@]host[:port],host[:port]…[/db][?…]`
_MULTI_HOST = re.compile(
    r"^(?P<head>postgres(?:ql)?(?:\+\w+)?://(?:[^@/?]*@)?)(?P<hosts>[^/?]*,[^/?]*)(?P<tail>.*)$"
)


def parse_url(url: str) -> URL:
    """Parse a database URL, accepting libpq's multi-host PostgreSQL form.

    `postgresql://u@h1:5432,h2:5433/db?…` (which SQLAlchemy cannot parse) becomes
    SQLAlchemy's `postgresql://u@/db?host=h1:5432&host=h2:5433&…`; a host without a port
    gets 5432. Any other URL is parsed as it is."""
    m = _MULTI_HOST.match(url)
    if m is None:
        return make_url(url)
    hosts = []
    for entry in m["hosts"].split(","):
        host, colon, port = entry.rpartition(":")
        if not colon or "]" in port or not port.isdigit():
            host, port = entry, "5432"
        if not host:
            raise ValueError(f"empty host in the database URL's host list {m['hosts']!r}")
        hosts.append(f"host={host}:{port}")
    tail = m["tail"] or "/"
    path, question, query = tail.partition("?")
    query = "&".join([*hosts, *([query] if question and query else [])])
    return make_url(f"{m['head']}{path}?{query}")


def async_url(url: str) -> str:
    """Turn a user's `sqlite:///…` or `postgresql://…` into the async driver's URL."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return str(parsed.set(drivername="sqlite+aiosqlite"))
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:///… or postgresql://…")


def _sqlite_pragmas(
    engine: AsyncEngine, *, immediate: bool, busy_ms: int, autocheckpoint: bool = True
) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver: it would otherwise BEGIN lazily
        # and in deferred mode, which is what makes SQLite writers deadlock.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        if not autocheckpoint:  # its checkpoints are made beside it (store/checkpoints.py)
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _discard_dead_connections(engine: AsyncEngine) -> None:
    """Treat the states of a server that is gone or not the primary as a disconnect, so
    that SQLAlchemy drops the connection (and the pool's older ones) instead of handing
    it out again: after a fail-over every pooled connection points at the lost primary
    or a standby, and `pool_pre_ping` alone would keep a standby connection that pings."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(ctx: Any) -> None:
        state = _sqlstate(ctx.original_exception)
        if (state is not None and state.startswith(_DISCARD)) or _unusable(ctx.original_exception):
            ctx.is_disconnect = True


@dataclass
class Store:
    """The database: a pool for reads and one for writes (the same one on PostgreSQL)."""

    url: str
    read_engine: AsyncEngine
    write_engine: AsyncEngine
    busy_ms: int = 30_000
    _quick: sqlite3.Connection | None = field(default=None, repr=False)  # `quick_sqlite`

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

    def quick_sqlite(self) -> sqlite3.Connection | None:
        """On SQLite, a connection for short reads by key made many times a second under
        load (the pages' `live` polls), called on the event loop's own thread; None on
        PostgreSQL, and for a database in memory (which another connection would not see).

        Through aiosqlite's thread each statement's answer waited for the GIL behind the
        busy request loop: at 2,000 polls/s beside saturated saves only 776 were answered,
        p50 320 ms. Through SQLAlchemy on the loop, a batch of polls still spent ~11 µs a
        poll on the engine, its rows and its transaction, against ~2 µs for SQLite itself
        (docs/performance.md). It is in autocommit: each statement reads its own snapshot.
        It holds the event loop while it runs: never for a read of more than a few rows,
        and never waits for a lock longer than `QUICK_BUSY_MS` (a reader in WAL mode
        waits only while the log is recovered); past it the read is refused (503).
        """
        if self._quick is None and not self.is_postgresql:
            path = self.sqlite_path
            if path in (None, "", ":memory:") or path.startswith("file:"):
                return None
            quick = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            quick.execute(f"PRAGMA busy_timeout={min(self.busy_ms, QUICK_BUSY_MS)}")
            quick.execute("PRAGMA query_only=ON")
            self._quick = quick
        return self._quick

    def quick_rows(self, sql: str, params: Sequence[Any]) -> list[Any] | None:
        """The rows of a short SQLite read by key on `quick_sqlite`, or None where there is
        no such connection (the caller then reads through `read()`)."""
        quick = self.quick_sqlite()
        if quick is None:
            return None
        try:
            return quick.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if (exc.sqlite_errorname or "").startswith(_SQLITE_AWAY):
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

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite database file, or None on PostgreSQL."""
        if self.is_postgresql:
            return None
        return make_url(async_url(self.url)).database or ":memory:"

    def new_write_engine(self, connections: int = 2) -> AsyncEngine:
        """A write engine like this store's, for the group-commit writer, whose tasks
        each keep one of its `connections` (PostgreSQL).

        On SQLite it calls SQLite on the calling thread (store/inline_sqlite.py) and never
        checkpoints: the writer runs a `store.checkpoints.Checkpointer` beside it."""
        if self.is_postgresql:
            return _engines(self.url, pool_size=connections, busy_ms=self.busy_ms)[1]
        return _inline_sqlite_writer(async_url(self.url), self.busy_ms)

    async def dispose(self) -> None:
        await self.read_engine.dispose()
        if self._quick is not None:
            self._quick.close()
            self._quick = None
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


def _inline_sqlite_writer(aurl: str, busy_ms: int) -> AsyncEngine:
    """The group-commit writer's engine, whose SQLite calls run on the calling thread
    (store/inline_sqlite.py): BEGIN IMMEDIATE, its COMMIT on a thread of its own, no
    checkpoints of its own."""
    creator = inline_sqlite.creator(make_url(aurl).database or ":memory:", commit_on_thread=True)
    engine = create_async_engine(aurl, pool_size=2, max_overflow=2, pool_timeout=30,
                                 async_creator=creator)  # fmt: skip
    _sqlite_pragmas(engine, immediate=True, busy_ms=busy_ms, autocheckpoint=False)
    return engine


def _engines(url: str, *, pool_size: int, busy_ms: int) -> tuple[AsyncEngine, AsyncEngine]:
    aurl = async_url(url)
    if aurl.startswith("sqlite"):
        create_private_sqlite_file(make_url(aurl).database)
        write = create_async_engine(aurl, pool_size=2, max_overflow=2, pool_timeout=30)
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
    _discard_dead_connections(engine)
    return engine, engine
