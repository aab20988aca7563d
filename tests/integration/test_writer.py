"""The group-commit writer: shared commits, push-back when full, failures kept to their op."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.errors import NotFound, Unavailable
from examvault.store.engine import open_store
from examvault.store.writer import Op, Writer


class Insert(Op):
    def __init__(self, value: int, fail: BaseException | None = None) -> None:
        super().__init__()
        self.value, self.fail = value, fail


async def apply(conn: AsyncConnection, ops: Sequence[Op], _slot: int = 0) -> None:
    for op in ops:
        if isinstance(op, Insert) and op.value < 0:
            await asyncio.sleep(0.3)  # a slow batch, to fill the queue behind it
        assert isinstance(op, Insert)
        if isinstance(op.fail, NotFound):
            op.error = op.fail
            continue
        if op.fail is not None:
            raise op.fail
        await conn.execute(text("INSERT INTO writer_t VALUES (:v)"), {"v": op.value})
        op.result = op.value


@pytest.fixture
async def store(database: str) -> Any:
    """The store of each kind (SQLite, PostgreSQL) with an empty table of its own."""
    s = open_store(database)
    async with s.write() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS writer_t"))
        await conn.execute(text("CREATE TABLE writer_t (v INTEGER)"))
    yield s
    async with s.write() as conn:
        await conn.execute(text("DROP TABLE writer_t"))
    await s.dispose()


async def rows(store: Any) -> list[int]:
    async with store.read() as conn:
        return sorted(r[0] for r in await conn.execute(text("SELECT v FROM writer_t")))


async def test_concurrent_ops_share_commits_and_each_is_answered(
    store: Any,
) -> None:
    writer = Writer(store, apply, queue_limit=1000, batch_limit=100, timeout=10)
    sizes: list[int] = []
    writer.on_batch = lambda n, _s: sizes.append(n)
    writer.start()
    results = await asyncio.gather(*(writer.run(Insert(i)) for i in range(200)))
    await writer.stop()
    assert results == list(range(200))
    assert await rows(store) == list(range(200))
    assert len(sizes) < 200, "commits were shared"


async def test_a_full_queue_answers_503_at_once(store: Any) -> None:
    writer = Writer(store, apply, queue_limit=3, batch_limit=100, timeout=10)
    writer.start()
    pending = [asyncio.ensure_future(writer.run(Insert(v))) for v in (-1, 1, 2)]
    await asyncio.sleep(0)
    with pytest.raises(Unavailable):
        await writer.run(Insert(99))
    assert await asyncio.gather(*pending) == [-1, 1, 2]
    assert (await writer.run(Insert(3))) == 3, "room again once answered"
    await writer.stop()


async def test_one_failing_op_does_not_fail_the_others(store: Any) -> None:
    writer = Writer(store, apply, queue_limit=100, batch_limit=100, timeout=10)
    ops = [Insert(1), Insert(2, fail=RuntimeError("bug")), Insert(3), Insert(4, fail=NotFound())]
    writer.start()
    futures = [asyncio.ensure_future(writer.run(op)) for op in ops]
    results = await asyncio.gather(*futures, return_exceptions=True)
    await writer.stop()
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], RuntimeError) and isinstance(results[3], NotFound)
    assert await rows(store) == [1, 3], "the failed op's writes were rolled back, no others"


async def test_stop_commits_what_is_queued(store: Any) -> None:
    writer = Writer(store, apply, queue_limit=100, batch_limit=10, timeout=10)
    writer.start()
    futures = [asyncio.ensure_future(writer.run(Insert(i))) for i in range(50)]
    await asyncio.sleep(0)
    await writer.stop()
    assert [f.result() for f in futures] == list(range(50))


async def test_a_write_held_past_the_timeout_answers_503_and_is_still_applied(
    store: Any,
) -> None:
    writer = Writer(store, apply, queue_limit=100, batch_limit=10, timeout=0.1)
    writer.start()
    slow = asyncio.ensure_future(writer.run(Insert(-1)))  # its batch takes 0.3 s
    behind = asyncio.ensure_future(writer.run(Insert(5)))
    with pytest.raises(Unavailable) as refused:
        await slow
    assert refused.value.retry_after == 2
    await asyncio.gather(behind, return_exceptions=True)  # answered or refused alike
    await writer.stop()
    assert await rows(store) == [-1, 5], "refusing the wait does not drop the write"


@pytest.mark.parametrize("tasks", [2, 5])
async def test_writer_tasks_take_turns_at_applying_and_overlap_only_at_the_commit(
    store: Any, tasks: int
) -> None:
    """On PostgreSQL two tasks (or more, as set) keep batches in flight: one gathers and
    applies while the others' COMMITs are answered. Applying never overlaps, so a batch
    is as large as what arrived while the last one was applied, not half of it; and
    each task has a connection of its own, however many there are."""
    if not store.is_postgresql:
        pytest.skip("SQLite has one writer a file")
    applying, most, slots = 0, 0, set()

    async def watched(conn: AsyncConnection, ops: Sequence[Op], slot: int) -> None:
        nonlocal applying, most
        applying += 1
        most = max(most, applying)
        slots.add(slot)
        try:
            await apply(conn, ops, slot)
        finally:
            applying -= 1

    writer = Writer(store, watched, queue_limit=1000, batch_limit=10, timeout=10, tasks=tasks)
    writer.start()
    results = await asyncio.gather(*(writer.run(Insert(i)) for i in range(300)))
    await writer.stop()
    assert results == list(range(300))
    assert await rows(store) == list(range(300))
    assert slots == set(range(tasks)), "every task took batches"
    assert most == 1, "one batch at a time is applied"
