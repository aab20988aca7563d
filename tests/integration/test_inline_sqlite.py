"""The inline SQLite connection runs on the calling thread (its COMMIT on its own), with
aiosqlite's behaviour."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import exc, text

from examvault.errors import Unavailable
from examvault.store.engine import QUICK_BUSY_MS, open_store

_COMMITTER = "examvault-commit"


def _aiosqlite_workers() -> int:
    return sum("_connection_worker_thread" in t.name for t in threading.enumerate())


@pytest.fixture
def path(sqlite_template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "inline.db"
    shutil.copy(sqlite_template, copy)
    return copy


async def test_the_writers_sqlite_calls_run_on_the_calling_thread(path: Path) -> None:
    store = open_store(f"sqlite:///{path}")
    engine = store.new_write_engine()
    seen: list[int] = []
    workers_before = _aiosqlite_workers()
    before = {t.ident for t in threading.enumerate()}
    try:
        async with engine.connect() as conn:
            workers_during = _aiosqlite_workers()
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.create_function("whose_thread", 0, threading.get_ident)
            await conn.begin()  # BEGIN IMMEDIATE, from the engine's event
            seen.append((await conn.execute(text("SELECT whose_thread()"))).scalar_one())
            await conn.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            with pytest.raises(exc.IntegrityError):  # errors reach the caller as aiosqlite's do
                await conn.execute(text("INSERT INTO t VALUES (1)"))
            await conn.commit()
            committers = [
                t for t in threading.enumerate()
                if t.name.startswith(_COMMITTER) and t.ident not in before
            ]  # fmt: skip
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1
    finally:
        await engine.dispose()
        await store.dispose()
    assert seen == [threading.get_ident()]
    assert workers_during == workers_before  # no aiosqlite worker thread was started
    assert len(committers) == 1, "the COMMIT (the fsync) ran on the connection's own thread"


async def test_the_quick_reads_run_on_the_calling_thread_and_cannot_write(path: Path) -> None:
    store = open_store(f"sqlite:///{path}")
    before = {t.ident for t in threading.enumerate()}
    try:
        quick = store.quick_sqlite()
        assert quick is not None and store.quick_sqlite() is quick  # one, kept
        quick.create_function("whose_thread", 0, threading.get_ident)
        who = quick.execute("SELECT whose_thread()").fetchone()[0]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            quick.execute("CREATE TABLE t (x)")
        started = {t.ident for t in threading.enumerate()} - before
    finally:
        await store.dispose()
    assert who == threading.get_ident() and not started


async def test_a_quick_read_kept_out_by_a_lock_is_refused_as_unavailable(path: Path) -> None:
    """A quick read holds the event loop: it waits for SQLite's lock a quarter of a second
    at most, then the poll is answered 503 instead of the loop stopping for 30 s."""
    store = open_store(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        quick = store.quick_sqlite()
        assert quick is not None
        assert quick.execute("PRAGMA busy_timeout").fetchone()[0] == QUICK_BUSY_MS
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("DELETE FROM announcements")  # takes the lock readers need
        with pytest.raises(Unavailable) as refused:
            store.quick_rows("SELECT count(*) FROM attempts", ())
        assert isinstance(refused.value.__cause__, sqlite3.OperationalError)
        assert refused.value.__cause__.sqlite_errorname == "SQLITE_BUSY"
        holder.execute("ROLLBACK")
        holder.close()  # gives the lock back (an exclusive locking mode keeps it until then)
        assert store.quick_rows("SELECT count(*) FROM attempts", ()) == [(0,)]
        with pytest.raises(sqlite3.OperationalError, match="no such table"):  # not a 503
            store.quick_rows("SELECT 1 FROM no_such_table", ())
    finally:
        holder.close()
        await store.dispose()


async def test_the_writers_commit_is_durable_for_a_second_connection(path: Path) -> None:
    store = open_store(f"sqlite:///{path}")
    engine = store.new_write_engine()
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            sync = (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
            assert (mode, sync) == ("wal", 2)  # WAL, FULL: on disk before commit returns
            await conn.rollback()
            await conn.begin()
            await conn.execute(text("CREATE TABLE u (v INTEGER)"))
            await conn.execute(text("INSERT INTO u VALUES (7)"))
            await conn.commit()
        await asyncio.sleep(0)
        async with store.read() as other:
            assert (await other.execute(text("SELECT v FROM u"))).scalar_one() == 7
    finally:
        await engine.dispose()
        await store.dispose()
