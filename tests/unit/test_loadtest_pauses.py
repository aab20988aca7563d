"""The load tool's watch on its own collector (loadtest/pauses.py): what it records,
and that the windows where it holds the collector always end with it back on."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator

import pytest

from examvault.loadtest import pauses


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.enable()
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_a_long_enough_collection_is_recorded_with_its_time_and_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pauses, "RECORDED_MS", 0.0)  # every collection counts
    t0 = time.monotonic()
    with pauses.GcPauses(t0) as watch:
        gc.collect()
    gc.collect()  # after the watch: not recorded
    assert len(watch.pauses) == 1
    at, took_ms, generation = watch.pauses[0]
    assert 0 <= at <= time.monotonic() - t0 and took_ms >= 0 and generation == 2
    summary = watch.summary()
    assert summary["count"] == 1 and summary["longest_ms"] == took_ms


def test_short_collections_are_not_recorded() -> None:
    with pauses.GcPauses(time.monotonic()) as watch:
        gc.collect(0)  # a young generation, microseconds
    assert watch.summary() == {"count": 0, "longest_ms": 0.0, "total_s": 0.0, "pauses": []}


def test_overlapping_holds_keep_the_collector_off_until_the_last_is_released() -> None:
    quiet = pauses.Quiet()
    quiet.hold()
    quiet.hold()
    quiet.release()
    assert not gc.isenabled(), "one window is still open"
    frozen = gc.get_freeze_count()
    quiet.release()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen, "what the window left behind is frozen"
    quiet.release()  # one release too many changes nothing
    assert gc.isenabled()


async def test_a_window_holds_the_collector_from_its_beginning_to_its_end() -> None:
    """Timers run in the order of their times, whatever the machine's load: a look
    scheduled inside the window sees the collector off, one after it sees it on."""
    quiet = pauses.Quiet()
    loop, now = asyncio.get_running_loop(), time.monotonic()
    quiet.between(now + 0.01, now + 0.03)
    inside, after = loop.create_future(), loop.create_future()
    loop.call_later(0.02, lambda: inside.set_result(gc.isenabled()))
    loop.call_later(0.04, lambda: after.set_result(gc.isenabled()))
    assert await inside is False
    assert await after is True


def test_close_turns_the_collector_back_on_whatever_windows_remain() -> None:
    quiet = pauses.Quiet()
    quiet.hold()
    quiet.hold()
    quiet.close()
    assert gc.isenabled()


async def test_a_window_not_yet_begun_at_close_never_turns_the_collector_off() -> None:
    quiet = pauses.Quiet()
    loop, now = asyncio.get_running_loop(), time.monotonic()
    quiet.between(now + 0.01, now + 3600)
    quiet.close()
    later = loop.create_future()
    loop.call_later(0.02, lambda: later.set_result(gc.isenabled()))  # after its beginning
    assert await later is True


def test_calming_freezes_what_exists_and_close_puts_the_collector_back() -> None:
    before = gc.get_threshold()
    quiet = pauses.Quiet()
    quiet.calm()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (10_000, 20, 20)
    quiet.hold()
    quiet.close()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
