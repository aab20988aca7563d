"""The exam day's race (docs/api.md, Exam day): an `extend` or a `pause` committed before
an attempt's old end wins against the sweeper of another process on the same PostgreSQL.

Two `Core`s share one database and one manual clock: the first acts (extend, pause), the
second sweeps without pause, while the clock moves across ends a few hundred ms apart.
Whatever the interleaving, an attempt is sealed at its old end only if the action found
it ended; an action that committed before the old end always applied, and an attempt it
applied to is never sealed at the end the action moved away from.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from examvault.clock import MICROS, ManualClock
from examvault.core import Core
from examvault.domain.exams import parse_definition
from examvault.services.candidates import Candidate
from examvault.services.invigilators import ADMIN
from examvault.store.tables import attempts
from tests import helpers

ROUNDS = 3
PER_ROUND = 24
# Where, relative to its old end, each candidate's action is sent (seconds).
OFFSETS = (-0.3, -0.2, -0.1, -0.05, -0.02, 0.0, 0.02, 0.1)


async def test_an_action_committed_before_the_old_end_wins_against_another_sweeper(
    database: str, tmp_path: Path
) -> None:
    if not database.startswith("postgresql"):
        pytest.skip("SQLite has one writer: actions and sweeps are serialised by it")
    clock = ManualClock()
    settings = helpers.test_settings(database, tmp_path)
    acting, sweeping = Core.create(settings, clock), Core.create(settings, clock)
    for core in (acting, sweeping):
        await core.start(background=False)
    try:
        before_end = 0
        for round_ in range(ROUNDS):
            before_end += await one_round(acting, sweeping, clock, f"race-{round_}")
        assert before_end > 0, "some actions were committed before their old end"
    finally:
        for core in (acting, sweeping):
            await core.stop()


async def one_round(acting: Core, sweeping: Core, clock: ManualClock, exam_id: str) -> int:
    """One exam of PER_ROUND attempts whose ends are 200 ms apart; the number of actions
    that committed before their attempt's old end."""
    exam = helpers.small_exam(exam_id, n=1, duration_seconds=60, grace_seconds=0)
    await acting.exams.put(parse_definition(exam), "admin")
    ids = [f"C{i:03}" for i in range(PER_ROUND)]
    await acting.directory.register(exam_id, [(c, c) for c in ids], "admin")
    ends: dict[str, int] = {}
    for cid in ids:
        await acting.attempts.start(Candidate(exam_id, cid, cid), exam_id)
        ends[cid] = clock.now() + 60 * MICROS
        clock.advance(0.2)
    clock.advance(60 - 0.2 * PER_ROUND - 1)  # a second before the first end
    done = asyncio.Event()
    moved = asyncio.Condition()  # notified at each tick of the clock
    outcomes: dict[str, tuple[str, dict[str, Any], int]] = {}

    async def tick() -> None:
        last = max(ends.values()) + 2 * MICROS
        while clock.now() < last:
            clock.advance(0.01)
            async with moved:
                moved.notify_all()
            await asyncio.sleep(0.002)  # the real time the other tasks get per tick
        done.set()

    async def sweep() -> None:
        while not done.is_set():
            await sweeping.sweeper.sweep()
            await asyncio.sleep(0)

    async def act(i: int, cid: str) -> None:
        target = ends[cid] + int(OFFSETS[i % len(OFFSETS)] * MICROS)
        async with moved:
            await moved.wait_for(lambda: clock.now() >= target)
        kind = "extend" if i % 2 == 0 else "pause"
        body: dict[str, Any] = {"action": kind, "reason": "race", "candidates": [cid]}
        if kind == "extend":
            body["seconds"] = 600
        result = await acting.examday.act(exam_id, body, ADMIN)
        outcomes[cid] = (kind, result, clock.now())

    await asyncio.gather(tick(), sweep(), *(act(i, c) for i, c in enumerate(ids)))
    await sweeping.sweeper.sweep()  # one more pass, after every action and tick
    async with acting.store.read() as conn:
        rows = {
            r.candidate_id: r
            for r in await conn.execute(select(attempts).where(attempts.c.exam_id == exam_id))
        }
    committed_before = 0
    for cid in ids:
        kind, result, after = outcomes[cid]
        row, old_end = rows[cid], ends[cid]
        applied = bool(result["applied"])
        if after <= old_end:
            committed_before += 1
            assert applied, (cid, kind, result)
        if applied:
            # Never sealed at the end the action moved away from.
            assert row.status == "in_progress", (cid, kind, row)
            if kind == "extend":
                assert row.end_at == old_end + 600 * MICROS
            else:
                assert row.paused_at is not None and row.paused_at <= old_end
        else:
            assert result["skipped"] == [{"candidate_id": cid, "why": "ended"}], result
            assert (row.status, row.submit_kind, row.submitted_at) == ("submitted", "auto", old_end)
    skipped = sum(1 for _, r, _ in outcomes.values() if not r["applied"])
    print(f"{exam_id}: {committed_before} before the old end, {skipped} found it ended")
    return committed_before
