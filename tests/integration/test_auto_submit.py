"""The server owns the clock: attempts past deadline + grace are sealed by the server."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.helpers import Server, running, small_exam


async def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


async def test_the_sweeper_seals_expired_attempts_within_five_seconds(server: Server) -> None:
    await server.create_exam(small_exam())
    tokens = await server.register("mock-1", "R1", "R2")
    a1 = (await server.start("mock-1", tokens["R1"]))["attempt_id"]
    await server.save(tokens["R1"], a1, {"question_id": "s0", "response": "B", "seq": 1})
    server.clock.advance(3600 + 30 + 1)

    async def sealed() -> bool:
        rows = (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
        return any(r["candidate_id"] == "R1" and r["status"] == "submitted" for r in rows)

    await wait_for(sealed)
    rows = {
        r["candidate_id"]: r
        for r in (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
    }
    assert rows["R1"]["submit_kind"] == "auto" and rows["R1"]["score"] == 4
    assert rows["R2"]["status"] == "absent"
    view = (await server.as_(tokens["R1"], "GET", f"/attempts/{a1}")).json()
    end = datetime.fromisoformat(view["deadline"]) + timedelta(seconds=30)
    assert datetime.fromisoformat(view["submitted_at"]) == end


async def test_an_attempt_touched_after_its_deadline_is_sealed_then(
    database: str, tmp_path: Path
) -> None:
    async with running(database, tmp_path, sweep_interval_seconds=3600) as server:
        await server.create_exam(small_exam(duration_seconds=60, grace_seconds=0))
        token = (await server.register("mock-1", "R1"))["R1"]
        aid = (await server.start("mock-1", token))["attempt_id"]
        server.clock.advance(61)
        view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
        assert view["status"] == "submitted" and view["submit_kind"] == "auto"


async def test_closing_an_exam_seals_everything_and_ranks_follow(server: Server) -> None:
    await server.create_exam(small_exam())
    tokens = await server.register("mock-1", "R1", "R2", "R3")
    for i, cid in enumerate(("R1", "R2")):
        aid = (await server.start("mock-1", tokens[cid]))["attempt_id"]
        await server.save(tokens[cid], aid, {"question_id": "s0", "response": "AB"[i], "seq": 1})
    server.clock.advance(10)
    r = await server.admin("POST", "/exams/mock-1/close")
    assert r.status_code == 200 and r.json()["sealed"] == 2
    assert (await server.admin("POST", "/exams/mock-1/close")).json()["sealed"] == 0

    async def ranked() -> bool:
        rows = (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
        return all(r["rank"] is not None for r in rows if r["status"] == "submitted")

    await wait_for(ranked)
    rows = {
        r["candidate_id"]: r
        for r in (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
    }
    assert (rows["R1"]["rank"], rows["R2"]["rank"]) == (2, 1)
    assert (rows["R1"]["percentile"], rows["R2"]["percentile"]) == (50, 100)
    assert rows["R1"]["submit_kind"] == "auto" and rows["R3"]["status"] == "absent"
    audit = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    assert [e["action"] for e in audit] == ["exam_created", "candidates_registered", "exam_closed"]


async def test_an_exam_with_closes_at_closes_by_itself(server: Server) -> None:
    from examvault.clock import format_time

    closes = format_time(server.clock.now() + 120_000_000)
    await server.create_exam(small_exam(closes_at=closes, grace_seconds=10))
    token = (await server.register("mock-1", "R1"))["R1"]
    view = await server.start("mock-1", token)
    assert view["deadline"] == closes, "the deadline is min(start + duration, closes_at)"
    server.clock.advance(131)

    async def closed() -> bool:
        exams = (await server.admin("GET", "/exams")).json()["exams"]
        return bool(exams[0]["closed"])

    await wait_for(closed)
    r = await server.as_(token, "GET", f"/attempts/{view['attempt_id']}/result")
    assert r.status_code == 200


async def test_many_attempts_sealed_at_once_while_students_still_save(server: Server) -> None:
    await server.create_exam(small_exam(n=5, duration_seconds=60, grace_seconds=5))
    ids = [f"C{i:03d}" for i in range(40)]
    tokens = await server.register("mock-1", *ids)
    attempts = {cid: (await server.start("mock-1", tokens[cid]))["attempt_id"] for cid in ids}
    questions = [f"{t}{i}" for t in "s" for i in range(5)]
    acknowledged: dict[str, dict[str, int]] = {cid: {} for cid in ids}
    refused: dict[str, list[int]] = {cid: [] for cid in ids}

    async def student(cid: str) -> None:
        rng = random.Random(cid)
        for seq in range(1, 25):
            qid = rng.choice(questions)
            r = await server.save(tokens[cid], attempts[cid],
                                  {"question_id": qid, "response": rng.choice("ABCD"), "seq": seq})  # fmt: skip
            if r.status_code == 200:
                acknowledged[cid][qid] = seq
            else:
                assert r.status_code == 409, r.text
                refused[cid].append(seq)
            await asyncio.sleep(0)

    async def clock() -> None:
        for _ in range(20):
            await asyncio.sleep(0.01)
            server.clock.advance(4)

    await asyncio.gather(clock(), *(student(c) for c in ids))
    server.clock.advance(100)

    async def all_sealed() -> bool:
        rows = (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
        return all(r["status"] == "submitted" for r in rows)

    await wait_for(all_sealed)
    for cid in ids:
        view = (await server.as_(tokens[cid], "GET", f"/attempts/{attempts[cid]}")).json()
        stored = {q: a["seq"] for q, a in view["answers"].items()}
        assert stored == acknowledged[cid], "every acknowledged answer, and only those, counts"
    submissions = server.core.metrics.submissions.labels("auto")._value.get()
    assert submissions == len(ids), "each attempt sealed exactly once"


async def test_a_submit_received_in_time_stays_manual_when_committed_late(server: Server) -> None:
    from examvault.services.journal import AttemptOp

    await server.create_exam(small_exam(duration_seconds=60, grace_seconds=0))
    token = (await server.register("mock-1", "R1"))["R1"]
    view = await server.start("mock-1", token)
    received = server.clock.now() + 59_000_000  # one second before the end
    server.clock.advance(65)  # …but the writer gets to it after the end
    result = await server.core.writes.attempt(
        AttemptOp(
            kind="submit",
            attempt_id=view["attempt_id"],
            exam_id="mock-1",
            candidate_id="R1",
            items=(),
            received_at=received,
        )
    )
    assert result["submit_kind"] == "manual"
    assert result["submitted_at"] == view["deadline"], "sealed no later than the end"
