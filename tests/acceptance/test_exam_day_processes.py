"""The exam day's race between real processes (docs/api.md, Exam day): two `examvault
serve` processes on one PostgreSQL, process A taking the invigilator's actions, process
B sweeping every 20 ms; attempts whose ends are a few hundred ms away.

Each round starts an exam's attempts through A, sends an `extend` or a `pause` for each
one through A at a chosen instant around its old end (from 300 ms before to 30 ms
after), and waits for the event that proves B has swept past every old end: B seals a
witness attempt that ends after all of them. The verdict depends on no timing:

- an action whose answer reached the client before the attempt's old end (by the
  server's own clock: the same host) was committed before it, so it must have applied;
- an applied action means B never sealed the attempt at its old end: an extended attempt
  is in progress with the later deadline, a paused one is paused, and a save sent
  through B after the old end is accepted (the action is seen at once by the other
  process);
- a skipped one was skipped as `ended` and is sealed (`auto`) at exactly its old end.

An action whose answer arrived after the old end may fall either way; it is checked for
consistency, never counted as "before".
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from examvault.loadtest.server import ServerProcess
from tests.conftest import _truncate
from tests.helpers import ADMIN, bearer, small_exam, to_json

pytestmark = pytest.mark.slow

ROUNDS = 20
# Where each candidate's action is sent, relative to its old end (seconds).
OFFSETS = (-0.3, -0.2, -0.12, -0.06, -0.03, -0.01, 0.0, 0.03)
EXTEND_SECONDS = 600
WAIT = 30.0  # a generous deadline for an event, never a verdict


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(text: str) -> int:
    """An API time as microseconds since the epoch, exactly (no float on the way)."""
    return (datetime.fromisoformat(text) - EPOCH) // timedelta(microseconds=1)


def wait_until(what: str, predicate: Any) -> Any:
    """Poll `predicate` until it returns something true; fail after WAIT seconds."""
    give_up = time.monotonic() + WAIT
    while time.monotonic() < give_up:
        found = predicate()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"not within {WAIT} s: {what}")


def test_actions_through_one_process_win_against_the_sweeper_of_another(
    pg_url: str, tmp_path: Path
) -> None:
    asyncio.run(_truncate(pg_url))
    a = ServerProcess("examvault", pg_url, tmp_path, admin_token=ADMIN,
                      env={"EXAMVAULT_SWEEP_INTERVAL_SECONDS": "3600"})  # fmt: skip
    b = ServerProcess("examvault", pg_url, tmp_path, admin_token=ADMIN,
                      env={"EXAMVAULT_SWEEP_INTERVAL_SECONDS": "0.02"})  # fmt: skip
    for s in (a, b):
        s.start()
    try:
        before = sum(one_round(a, b, f"race-{n}") for n in range(ROUNDS))
        print(f"{before} of {ROUNDS * len(OFFSETS)} actions answered before the old end")
        # Not a verdict on any single action: with answers sent up to 300 ms before their
        # end, some of 160 arrive in time on any machine that runs the test at all.
        assert before > 0
    finally:
        for s in (a, b):
            s.stop()


def one_round(a: ServerProcess, b: ServerProcess, exam_id: str) -> int:
    """One exam's race; the number of actions answered before their attempt's old end."""
    admin_a = httpx.Client(base_url=f"{a.url}/api/v1", headers=bearer(ADMIN), timeout=WAIT)
    admin_b = httpx.Client(base_url=f"{b.url}/api/v1", headers=bearer(ADMIN), timeout=WAIT)
    doc = small_exam(exam_id, n=1, duration_seconds=2, grace_seconds=0)
    assert admin_a.post("/exams", json=to_json(doc)).status_code == 201
    ids = [f"C{i}" for i in range(len(OFFSETS))]
    r = admin_a.post(f"/exams/{exam_id}/candidates",
                     json={"candidates": [{"id": c} for c in [*ids, "W"]]})  # fmt: skip
    tokens = {c["id"]: c["token"] for c in r.json()["candidates"]}
    attempts: dict[str, str] = {}
    ends: dict[str, int] = {}  # grace 0: the end is the deadline
    for cid in [*ids, "W"]:  # the witness last: it ends after every other
        r = httpx.post(f"{a.url}/api/v1/exams/{exam_id}/attempts", headers=bearer(tokens[cid]))
        assert r.status_code == 201, r.text
        attempts[cid], ends[cid] = r.json()["attempt_id"], micros(r.json()["deadline"])

    def act(i: int) -> tuple[str, dict[str, Any], int]:
        cid = ids[i]
        kind = "extend" if i % 2 == 0 else "pause"
        target = ends[cid] / 1e6 + OFFSETS[i]
        time.sleep(max(0.0, target - time.time()))  # only when to send, not a verdict
        body: dict[str, Any] = {"action": kind, "reason": "race", "candidates": [cid]}
        if kind == "extend":
            body["seconds"] = EXTEND_SECONDS
        with httpx.Client(base_url=f"{a.url}/api/v1", headers=bearer(ADMIN), timeout=WAIT) as c:
            r = c.post(f"/exams/{exam_id}/actions", json=body)
            answered_at = time.time_ns() // 1000
        assert r.status_code == 200, r.text
        return kind, r.json(), answered_at

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        outcomes = dict(zip(ids, pool.map(act, range(len(ids))), strict=True))

    def rows() -> dict[str, Any]:
        table = admin_b.get(f"/exams/{exam_id}/candidates").json()["candidates"]
        return {row["candidate_id"]: row for row in table}

    # The event: B sealed the witness, so B has swept at an instant past every old end.
    wait_until("B seals the witness", lambda: rows()["W"]["status"] == "submitted")
    table = rows()
    results = {
        row["candidate_id"]: row
        for row in admin_b.get(f"/exams/{exam_id}/results").json()["results"]
    }
    assert results["W"]["submit_kind"] == "auto"
    assert micros(results["W"]["submitted_at"]) == ends["W"]
    before = 0
    for cid in ids:
        kind, answer, answered_at = outcomes[cid]
        old_end, row = ends[cid], table[cid]
        if answered_at <= old_end:
            before += 1
            assert answer["applied"], (cid, kind, answer)
        if not answer["applied"]:
            assert answer["skipped"] == [{"candidate_id": cid, "why": "ended"}], answer
            sealed = results[cid]
            assert (sealed["status"], sealed["submit_kind"]) == ("submitted", "auto"), sealed
            assert micros(sealed["submitted_at"]) == old_end, (cid, sealed)
            continue
        # Applied: never sealed at the old end, and B sees the action at once.
        if kind == "extend":
            assert row["status"] == "in_progress", (cid, row)
            assert micros(row["deadline"]) == old_end + EXTEND_SECONDS * 1_000_000
        else:
            assert (row["status"], row["paused"]) == ("paused", True), (cid, row)
        item = {"question_id": "s0", "response": "B", "seq": 1}
        saved = httpx.put(f"{b.url}/api/v1/attempts/{attempts[cid]}/answers",
                          json={"answers": [item]}, headers=bearer(tokens[cid]))  # fmt: skip
        assert saved.status_code == 200 and saved.json()["accepted"] == [1], (cid, saved.text)
        live = httpx.get(f"{b.url}/api/v1/attempts/{attempts[cid]}/live",
                         headers=bearer(tokens[cid])).json()  # fmt: skip
        assert live["status"] == ("in_progress" if kind == "extend" else "paused"), live
    # Closing seals the rest now: none of the applied ones at its old end.
    assert admin_a.post(f"/exams/{exam_id}/close").status_code == 200
    results = {
        row["candidate_id"]: row
        for row in admin_b.get(f"/exams/{exam_id}/results").json()["results"]
    }
    for cid in ids:
        if outcomes[cid][1]["applied"]:
            assert micros(results[cid]["submitted_at"]) > ends[cid], results[cid]
            assert results[cid]["score"] == 4  # the save through B counted
    admin_a.close()
    admin_b.close()
    return before
