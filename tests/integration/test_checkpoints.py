"""SQLite's checkpoints are made beside the writer, never inside one of its commits."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.checkpoints import Checkpointer
from examvault.store.engine import open_store
from examvault.store.writer import Op, Writer


class Insert(Op):
    def __init__(self, value: int) -> None:
        super().__init__()
        self.value = value


async def apply(conn: AsyncConnection, ops: Sequence[Op], _slot: int = 0) -> None:
    for op in ops:
        assert isinstance(op, Insert)
        await conn.execute(
            text("INSERT INTO t VALUES (:v, :pad)"), {"v": op.value, "pad": "x" * 2000}
        )


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    s = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    async with s.write() as conn:
        await conn.execute(text("CREATE TABLE t (v INTEGER, pad TEXT)"))
    yield s
    await s.dispose()


async def test_the_writers_connection_never_checkpoints_by_itself(store: Any) -> None:
    engine = store.new_write_engine()
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
    finally:
        await engine.dispose()
    async with store.read() as conn:  # every other connection keeps SQLite's default
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 1000


async def test_a_checkpoint_copies_the_whole_log_when_no_reader_needs_it(store: Any) -> None:
    async with store.write() as conn:
        for i in range(50):
            await conn.execute(text("INSERT INTO t VALUES (:v, :pad)"), {"v": i, "pad": "x" * 2000})
    busy, log, copied = Checkpointer(store.sqlite_path).checkpoint()
    assert busy == 0 and log > 0 and copied == log


async def test_a_checkpoint_neither_waits_for_nor_disturbs_a_reader(store: Any) -> None:
    reader = sqlite3.connect(store.sqlite_path, isolation_level=None)
    reader.execute("BEGIN")
    before = reader.execute("SELECT count(*) FROM t").fetchone()[0]  # holds its snapshot
    async with store.write() as conn:
        for i in range(50):
            await conn.execute(text("INSERT INTO t VALUES (:v, :pad)"), {"v": i, "pad": "x" * 2000})
    busy, log, copied = Checkpointer(store.sqlite_path, busy_ms=0).checkpoint()
    assert busy == 0 and copied < log, "the reader's frames stay in the log"
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == before
    reader.execute("COMMIT")
    reader.close()
    busy, log, copied = Checkpointer(store.sqlite_path).checkpoint()
    assert copied == log, "the next checkpoint catches up"


async def test_the_writer_runs_its_checkpoints_and_makes_a_last_one_when_it_stops(
    store: Any,
) -> None:
    writer = Writer(store, apply, queue_limit=1000, batch_limit=100, timeout=10)
    writer.start()
    checkpointer = writer._checkpointer
    assert checkpointer is not None and checkpointer.path == store.sqlite_path
    for i in range(20):
        await writer.run(Insert(i))
    await writer.stop()
    assert checkpointer.runs >= 1 and writer._checkpointer is None
