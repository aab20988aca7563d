"""Token lookups: at the start of an exam, one read for the whole exam, not one each."""

from __future__ import annotations

import asyncio

from examvault.services.tokens import TokenCache, hash_token


class Registry:
    """The store's candidates table, as far as the cache sees it; counts the reads."""

    def __init__(self, tokens: dict[str, tuple[str, str]]) -> None:
        self.rows = {hash_token(t): who for t, who in tokens.items()}
        self.single_reads = 0
        self.group_reads = 0
        self.group_released = asyncio.Event()
        self.group_released.set()

    async def load(self, digest: str) -> tuple[str, str] | None:
        self.single_reads += 1
        await asyncio.sleep(0)
        return self.rows.get(digest)

    async def load_group(self, one: tuple[str, str]) -> list[tuple[str, tuple[str, str]]]:
        self.group_reads += 1
        await self.group_released.wait()
        return [(d, who) for d, who in self.rows.items() if who[0] == one[0]]

    def cache(self) -> TokenCache[tuple[str, str]]:
        return TokenCache(self.load, 1000, group_of=lambda who: who[0], load_group=self.load_group)


async def test_the_first_token_of_an_exam_brings_the_others() -> None:
    registry = Registry({f"t{i}": ("exam-1", f"C{i}") for i in range(50)})
    cache = registry.cache()

    assert await cache.find("t0") == ("exam-1", "C0")
    found = [await cache.find(f"t{i}") for i in range(1, 50)]

    assert found == [("exam-1", f"C{i}") for i in range(1, 50)]
    assert (registry.single_reads, registry.group_reads) == (1, 1)


async def test_lookups_that_miss_while_the_exam_is_read_wait_for_it() -> None:
    registry = Registry({f"t{i}": ("exam-1", f"C{i}") for i in range(20)})
    registry.group_released.clear()
    cache = registry.cache()
    await cache.find("t0")  # starts the group read, which is held

    waiting = [asyncio.create_task(cache.find(f"t{i}")) for i in range(1, 20)]
    await asyncio.sleep(0)
    registry.group_released.set()

    assert [await w for w in waiting] == [("exam-1", f"C{i}") for i in range(1, 20)]
    assert registry.single_reads == 1


async def test_a_token_registered_after_the_exam_was_read_is_still_found() -> None:
    registry = Registry({"t0": ("exam-1", "C0")})
    cache = registry.cache()
    await cache.find("t0")
    await asyncio.sleep(0)

    registry.rows[hash_token("late")] = ("exam-1", "LATE")

    assert await cache.find("late") == ("exam-1", "LATE")
    assert registry.group_reads == 1  # read again only after `regroup_seconds`


async def test_unknown_tokens_are_not_remembered() -> None:
    registry = Registry({"t0": ("exam-1", "C0")})
    cache = registry.cache()

    assert await cache.find("nobody") is None
    registry.rows[hash_token("nobody")] = ("exam-2", "N")

    assert await cache.find("nobody") == ("exam-2", "N")


async def test_settle_waits_for_the_background_read_of_the_exam() -> None:
    """At stop the server waits for it: dropped with the event loop, it would keep its
    pooled connection forever."""
    registry = Registry({f"t{i}": ("exam-1", f"C{i}") for i in range(5)})
    registry.group_released.clear()
    cache = registry.cache()
    assert await cache.find("t0") == ("exam-1", "C0")  # starts the read of the exam
    settling = asyncio.ensure_future(cache.settle())
    await asyncio.sleep(0)
    assert not settling.done(), "the exam's read is still running"
    registry.group_released.set()
    await settling
    registry.single_reads = 0
    assert await cache.find("t4") == ("exam-1", "C4")
    assert registry.single_reads == 0, "the read had finished and filled the cache"


async def test_settle_with_no_read_begun_returns_at_once() -> None:
    await Registry({}).cache().settle()
