"""The exam day (docs/api.md, Exam day): rooms, extra time, and the deadline rule."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from examvault.clock import format_time
from tests.helpers import Server, small_exam


async def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


async def register(server: Server, exam_id: str, *people: dict[str, Any]) -> dict[str, str]:
    r = await server.admin("POST", f"/exams/{exam_id}/candidates", json={"candidates": people})
    assert r.status_code == 201, r.text
    return {c["id"]: c["token"] for c in r.json()["candidates"]}


async def table(server: Server, exam_id: str = "mock-1", q: str = "") -> dict[str, Any]:
    r = await server.admin("GET", f"/exams/{exam_id}/candidates{q}")
    assert r.status_code == 200, r.text
    return {row["candidate_id"]: row for row in r.json()["candidates"]}


def seconds_between(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


async def test_rooms_and_extra_time_at_registration_are_checked_all_or_nothing(
    server: Server,
) -> None:
    await server.create_exam(small_exam())
    bad = [
        {"id": "A1", "room": "R1", "extra_seconds": 600},
        {"id": "A2", "room": "bad room"},
        {"id": "A3", "extra_seconds": 86_401},
        {"id": "A4", "extra_seconds": True},
    ]
    r = await server.admin("POST", "/exams/mock-1/candidates", json={"candidates": bad})
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["errors"]]
    assert ["body", "candidates", 1, "room"] in locs
    assert ["body", "candidates", 2, "extra_seconds"] in locs
    assert ["body", "candidates", 3, "extra_seconds"] in locs
    assert await table(server) == {}
    await register(
        server,
        "mock-1",
        {"id": "A1", "room": "R1", "extra_seconds": 600},
        {"id": "A2", "room": "R2"},
        {"id": "A3"},
    )
    rows = await table(server)
    assert rows["A1"] | {"last_seen": None} == {
        "candidate_id": "A1",
        "name": "",
        "status": "absent",
        "attempt_id": None,
        "room": "R1",
        "extra_seconds": 600,
        "extended_seconds": 0,
        "paused": False,
        "deadline": None,
        "last_seen": None,
        "answers": 0,
        "score": None,
    }
    assert rows["A3"]["room"] is None and rows["A3"]["extra_seconds"] == 0
    assert list(await table(server, q="?room=R2")) == ["A2"]


async def test_extra_time_moves_the_deadline_and_the_sweeper_seals_at_the_new_end(
    server: Server,
) -> None:
    await server.create_exam(small_exam(duration_seconds=60, grace_seconds=0))
    tokens = await register(
        server, "mock-1", {"id": "A1", "extra_seconds": 30}, {"id": "A2", "room": "R1"}
    )
    view = await server.start("mock-1", tokens["A1"])
    assert seconds_between(view["started_at"], view["deadline"]) == 90
    assert view["remaining_seconds"] == 90 and view["paused"] is False
    a2 = (await server.start("mock-1", tokens["A2"]))["attempt_id"]
    # A PATCH moves an attempt in progress at once, by the difference.
    r = await server.admin("PATCH", "/exams/mock-1/candidates/A2", json={"extra_seconds": 120})
    assert r.status_code == 200, r.text
    assert r.json()["extra_seconds"] == 120 and r.json()["room"] == "R1"
    assert seconds_between(view["started_at"], r.json()["deadline"]) == 180
    r = await server.admin("PATCH", "/exams/mock-1/candidates/A2", json={"room": None})
    assert r.json()["room"] is None and r.json()["extra_seconds"] == 120
    server.clock.advance(91)

    async def a1_sealed() -> bool:
        return bool((await table(server))["A1"]["status"] == "submitted")

    await wait_for(a1_sealed)
    assert (await table(server))["A2"]["status"] == "in_progress"
    r = await server.save(tokens["A2"], a2, {"question_id": "s0", "response": "B", "seq": 1})
    assert r.status_code == 200, r.text
    # A submitted attempt's accommodation no longer changes; an unknown candidate is 404.
    r = await server.admin("PATCH", "/exams/mock-1/candidates/A1", json={"extra_seconds": 999})
    assert r.status_code == 409 and r.json()["type"] == "urn:examvault:attempt-submitted"
    assert (await table(server))["A1"]["extra_seconds"] == 30
    r = await server.admin("PATCH", "/exams/mock-1/candidates/NOPE", json={"room": "R1"})
    assert r.status_code == 404
    r = await server.admin("PATCH", "/exams/mock-1/candidates/A2", json={"extra_seconds": -1})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "extra_seconds"]
    audit = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    assert [e["detail"] for e in audit if e["action"] == "candidate_changed"] == [
        {"candidate_id": "A2", "extra_seconds": 120},
        {"candidate_id": "A2", "room": None},
    ]


async def test_an_exam_with_closes_at_stays_open_while_extra_time_runs(server: Server) -> None:
    closes = server.clock.now() + 100 * 1_000_000
    await server.create_exam(small_exam(closes_at=format_time(closes), grace_seconds=0))
    tokens = await register(server, "mock-1", {"id": "A1", "extra_seconds": 60}, {"id": "A2"})
    v1 = await server.start("mock-1", tokens["A1"])
    v2 = await server.start("mock-1", tokens["A2"])
    assert seconds_between(v2["deadline"], v1["deadline"]) == 60
    server.clock.advance(101)

    async def a2_sealed() -> bool:
        return bool((await table(server))["A2"]["status"] == "submitted")

    await wait_for(a2_sealed)
    await asyncio.sleep(0.2)  # several sweeps: the exam stays open for A1
    r = await server.as_(tokens["A1"], "PUT", f"/attempts/{v1['attempt_id']}/answers",
                         json={"answers": [{"question_id": "s0", "response": "B", "seq": 1}]})  # fmt: skip
    assert r.status_code == 200, r.text
    server.clock.advance(60)

    async def closed() -> bool:
        rows = (await server.admin("GET", "/exams")).json()["exams"]
        return bool(rows[0]["closed"])

    await wait_for(closed)
    assert (await table(server))["A1"]["score"] == 4
