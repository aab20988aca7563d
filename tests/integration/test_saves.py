"""Saving and submitting as docs/api.md defines it: highest seq wins, retries are harmless."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from examvault.store.tables import journal
from tests.helpers import Server, small_exam


@pytest.fixture
async def attempt(server: Server) -> tuple[Server, str, str]:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    return server, token, (await server.start("mock-1", token))["attempt_id"]


def item(qid: str, response: Any, seq: int, **kw: Any) -> dict[str, Any]:
    return {"question_id": qid, "response": response, "seq": seq, **kw}


async def stored(server: Server, token: str, aid: str) -> dict[str, Any]:
    r = await server.as_(token, "GET", f"/attempts/{aid}")
    assert r.status_code == 200
    answers: dict[str, Any] = r.json()["answers"]
    return answers


async def test_the_highest_seq_wins_whatever_the_arrival_order(attempt: Any) -> None:
    server, token, aid = attempt
    r = await server.save(token, aid, item("s0", "C", 5))
    assert r.json()["accepted"] == [5]
    r = await server.save(token, aid, item("s0", "A", 3))
    assert r.json() | {"server_time": None} == {
        "accepted": [], "stale": [3], "last_seq": 5, "server_time": None,
        "deadline": r.json()["deadline"], "status": "in_progress",
    }  # fmt: skip
    assert (await stored(server, token, aid))["s0"]["response"] == "C"


async def test_a_repeated_item_is_accepted_again_and_changes_nothing(attempt: Any) -> None:
    server, token, aid = attempt
    await server.save(token, aid, item("n0", "2.50", 4))
    r = await server.save(token, aid, item("n0", 2.5, 4))  # the same number, as a decimal
    assert r.json()["accepted"] == [4] and r.json()["stale"] == []
    r = await server.save(token, aid, item("n0", "2.6", 4))  # same seq, other content
    assert r.json()["stale"] == [4]
    assert (await stored(server, token, aid))["n0"] == {
        "response": "2.50", "seq": 4, "marked_for_review": False, "time_spent_ms": None,
    }  # fmt: skip


async def test_two_items_for_one_question_in_one_body_are_applied_by_seq(attempt: Any) -> None:
    server, token, aid = attempt
    r = await server.save(token, aid, item("s1", "D", 9), item("s1", "A", 8))
    assert sorted(r.json()["accepted"]) == [8, 9]
    assert (await stored(server, token, aid))["s1"]["response"] == "D"


async def test_a_cleared_question_stays_with_response_null(attempt: Any) -> None:
    server, token, aid = attempt
    await server.save(token, aid, item("m0", ["A", "C"], 1, marked_for_review=True))
    await server.save(token, aid, item("m0", [], 2))
    await server.save(token, aid, item("s0", "B", 3))
    await server.save(token, aid, item("s0", "", 4))
    answers = await stored(server, token, aid)
    assert answers["m0"]["response"] is None and answers["m0"]["seq"] == 2
    assert answers["s0"]["response"] is None
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["last_seq"] == 4


async def test_numbers_are_stored_with_every_digit_sent(attempt: Any) -> None:
    server, token, aid = attempt
    body = b'{"answers": [{"question_id": "n1", "response": 2.5000000000000000001, "seq": 1}]}'
    r = await server.client.put(
        f"/api/v1/attempts/{aid}/answers", content=body,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 200
    raw = (await server.client.get(f"/api/v1/attempts/{aid}",
                                   headers={"Authorization": f"Bearer {token}"})).content  # fmt: skip
    assert b'"response":2.5000000000000000001' in raw


async def test_after_deadline_and_grace_items_are_journaled_late_and_refused(attempt: Any) -> None:
    server, token, aid = attempt
    await server.save(token, aid, item("s0", "B", 1))
    server.clock.advance(3600 + 30)  # exactly deadline + grace: still in time
    assert (await server.save(token, aid, item("s1", "B", 2))).status_code == 200
    server.clock.advance(0.001)
    r = await server.save(token, aid, item("s2", "B", 3))
    assert r.status_code == 409
    assert r.json()["type"] == "urn:examvault:past-deadline" and r.json()["late"] == [3]
    # a retry of an acknowledged save is still 200
    assert (await server.save(token, aid, item("s1", "B", 2))).status_code == 200
    async with server.core.store.read() as conn:
        rows = (await conn.execute(select(journal).where(journal.c.attempt_id == aid))).all()
    by_seq = {r.seq: r for r in rows}
    assert by_seq[3].late and not by_seq[1].late and not by_seq[2].late
    answers = await stored(server, token, aid)
    assert set(answers) == {"s0", "s1"}, "a late item never counts"
    stats = (await server.admin("GET", "/exams/mock-1/stats")).json()
    assert stats["late_items"] == 1 and stats["answers_saved"] == 2


async def test_submit_is_idempotent(attempt: Any) -> None:
    server, token, aid = attempt
    first = await server.as_(token, "POST", f"/attempts/{aid}/submit",
                             json={"answers": [item("s0", "B", 1)]})  # fmt: skip
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "submitted" and body["submit_kind"] == "manual"
    assert body["late"] == [] and body["result"]["score"] > 0
    server.clock.advance(5)
    again = await server.as_(token, "POST", f"/attempts/{aid}/submit",
                             json={"answers": [item("s0", "B", 1), item("s1", "B", 2)]})  # fmt: skip
    assert again.status_code == 200
    assert again.json()["submitted_at"] == body["submitted_at"]
    assert again.json()["submit_kind"] == "manual"
    assert again.json()["late"] == [2], "a repeat is never late; a new item after the seal is"
    assert again.json()["result"] == body["result"]


async def test_submit_after_auto_submit_reports_auto_and_the_late_items(attempt: Any) -> None:
    server, token, aid = attempt
    await server.save(token, aid, item("s0", "B", 1))
    server.clock.advance(3600 + 31)
    r = await server.as_(token, "POST", f"/attempts/{aid}/submit",
                         json={"answers": [item("s0", "B", 1), item("s1", "B", 2)]})  # fmt: skip
    assert r.status_code == 200
    assert r.json()["submit_kind"] == "auto" and r.json()["late"] == [2]
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["status"] == "submitted"
    seal = datetime.fromisoformat(view["submitted_at"]) - datetime.fromisoformat(view["deadline"])
    assert seal == timedelta(seconds=30), "an auto seal happens at deadline + grace"


async def test_an_invalid_item_in_a_submit_leaves_the_attempt_open(attempt: Any) -> None:
    server, token, aid = attempt
    r = await server.as_(token, "POST", f"/attempts/{aid}/submit",
                         json={"answers": [item("s0", "nope", 1)]})  # fmt: skip
    assert r.status_code == 422
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["status"] == "in_progress" and view["answers"] == {}


async def test_start_again_resumes_the_same_attempt(server: Server) -> None:
    await server.create_exam(small_exam(shuffle={"questions": True, "options": True}))
    tokens = await server.register("mock-1", "R1", "R2")
    first = await server.as_(tokens["R1"], "POST", "/exams/mock-1/attempts")
    assert first.status_code == 201
    again = await server.as_(tokens["R1"], "POST", "/exams/mock-1/attempts")
    assert again.status_code == 200
    assert again.json()["attempt_id"] == first.json()["attempt_id"]
    assert again.json()["sections"] == first.json()["sections"], "the order is stable"
    other = (await server.start("mock-1", tokens["R2"]))["sections"]
    assert other != first.json()["sections"], "each candidate has an order of their own"
    ids = lambda sections: sorted(q["id"] for s in sections for q in s["questions"])  # noqa: E731
    assert ids(other) == ids(first.json()["sections"])
    await server.as_(tokens["R1"], "POST", f"/attempts/{first.json()['attempt_id']}/submit")
    resumed = await server.as_(tokens["R1"], "POST", "/exams/mock-1/attempts")
    assert resumed.status_code == 200 and resumed.json()["status"] == "submitted"


async def test_concurrent_starts_create_one_attempt(server: Server) -> None:
    import asyncio

    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    results = await asyncio.gather(
        *(server.as_(token, "POST", "/exams/mock-1/attempts") for _ in range(10))
    )
    assert sorted(r.status_code for r in results) == [200] * 9 + [201]
    assert len({r.json()["attempt_id"] for r in results}) == 1


async def test_replacing_an_exam_works_until_an_attempt_starts(server: Server) -> None:
    doc = small_exam()
    assert (await server.admin("POST", "/exams", json=doc)).status_code == 201
    same = await server.admin("POST", "/exams", json=doc | {"grace_seconds": 30})
    assert same.status_code == 200 and same.json()["version"] == 1
    changed = await server.admin("POST", "/exams", json=doc | {"title": "Renamed"})
    assert changed.json()["version"] == 2
    token = (await server.register("mock-1", "R1"))["R1"]
    await server.start("mock-1", token)
    refused = await server.admin("POST", "/exams", json=doc | {"title": "Again"})
    assert refused.status_code == 409
    assert (
        await server.admin("POST", "/exams", json=doc | {"title": "Renamed"})
    ).status_code == 200


async def test_registering_an_id_twice_registers_nobody(server: Server) -> None:
    await server.create_exam(small_exam())
    await server.register("mock-1", "R1")
    r = await server.admin("POST", "/exams/mock-1/candidates",
                           json={"candidates": [{"id": "R2"}, {"id": "R1"}]})  # fmt: skip
    assert r.status_code == 409 and r.json()["ids"] == ["R1"]
    table = (await server.admin("GET", "/exams/mock-1/candidates")).json()["candidates"]
    assert [c["candidate_id"] for c in table] == ["R1"]
