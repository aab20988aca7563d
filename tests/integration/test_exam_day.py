"""The exam day (docs/api.md, Exam day): rooms, extra time, and the deadline rule."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from examvault.clock import format_time
from tests.helpers import Server, running, small_exam


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


async def setup_rooms(server: Server, **exam: Any) -> dict[str, str]:
    """mock-1 with A1, A2 in R1, B1 in R2, C1 without a room; invigilator I1 for R1."""
    await server.create_exam(small_exam(**exam))
    tokens = await register(
        server,
        "mock-1",
        {"id": "A1", "room": "R1"},
        {"id": "A2", "room": "R1"},
        {"id": "B1", "room": "R2"},
        {"id": "C1"},
    )
    r = await server.admin(
        "POST",
        "/exams/mock-1/invigilators",
        json={"invigilators": [{"id": "I1", "name": "Ines", "rooms": ["R1"]}, {"id": "I2"}]},
    )
    assert r.status_code == 201, r.text
    tokens |= {i["id"]: i["token"] for i in r.json()["invigilators"]}
    return tokens


async def act(server: Server, token: str | None = None, **body: Any) -> Any:
    path = "/exams/mock-1/actions"
    if token is None:
        return await server.admin("POST", path, json=body)
    return await server.as_(token, "POST", path, json=body)


async def test_invigilator_tokens_reach_their_exam_and_rooms_only(server: Server) -> None:
    t = await setup_rooms(server)
    r = await server.admin(
        "POST", "/exams/mock-1/invigilators", json={"invigilators": [{"id": "I1"}, {"id": "I9"}]}
    )
    assert r.status_code == 409
    await server.create_exam(small_exam("other"))
    inv = t["I1"]
    rows = (await server.as_(inv, "GET", "/exams/mock-1/candidates")).json()["candidates"]
    assert [r["candidate_id"] for r in rows] == ["A1", "A2"]
    assert all("score" not in r for r in rows)
    assert (await server.as_(inv, "GET", "/exams/mock-1/candidates?room=R2")).json() == {
        "candidates": []
    }
    everyone = (await server.as_(t["I2"], "GET", "/exams/mock-1/candidates")).json()
    assert len(everyone["candidates"]) == 4
    exam = (await server.as_(inv, "GET", "/exams/mock-1")).json()
    assert "key_version" not in exam
    assert all("answer" not in q for s in exam["sections"] for q in s["questions"])
    assert (await server.as_(inv, "GET", "/exams/mock-1/stats")).status_code == 200
    for method, path in [
        ("GET", "/exams/other/candidates"),
        ("GET", "/exams/other"),
        ("GET", "/exams"),
        ("GET", "/exams/mock-1/results"),
        ("POST", "/exams/mock-1/close"),
        ("GET", "/audit"),
        ("POST", "/exams/other/actions"),
        ("GET", "/me"),
        ("POST", "/exams/mock-1/attempts"),
    ]:
        r = await server.as_(inv, method, path)
        assert r.status_code == 403, (method, path, r.text)
    assert (await server.as_(t["A1"], "GET", "/exams/mock-1/candidates")).status_code == 403
    assert (await server.as_("nobody", "GET", "/exams/mock-1/candidates")).status_code == 401
    r = await act(server, inv, action="pause", reason="x", room="R2")
    assert r.status_code == 403
    r = await act(server, inv, action="pause", reason="x", candidates=["A1", "B1"])
    assert r.status_code == 403
    r = await act(server, inv, action="pause", reason="x", candidates=["A1", "ZZ"])
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "candidates", 1]


async def test_staff_me_tells_a_page_which_exam_and_rooms_a_token_reaches(
    server: Server,
) -> None:
    t = await setup_rooms(server)
    r = await server.as_(t["I1"], "GET", "/staff/me")
    assert r.status_code == 200, r.text
    assert r.json() == {"role": "invigilator", "id": "I1", "exam_id": "mock-1", "rooms": ["R1"]}
    r = await server.as_(t["I2"], "GET", "/staff/me")
    assert r.json() == {"role": "invigilator", "id": "I2", "exam_id": "mock-1", "rooms": None}
    r = await server.admin("GET", "/staff/me")
    assert r.json() == {"role": "admin", "id": None, "exam_id": None, "rooms": None}
    assert (await server.as_(t["A1"], "GET", "/staff/me")).status_code == 403
    assert (await server.as_("nobody", "GET", "/staff/me")).status_code == 401


async def test_action_bodies_are_checked(server: Server) -> None:
    await setup_rooms(server)
    for body, loc in [
        ({"action": "extend", "reason": "r", "all": True}, ["body", "seconds"]),
        ({"action": "reopen", "seconds": 59, "reason": "r", "all": True}, ["body", "seconds"]),
        ({"action": "pause", "seconds": 60, "reason": "r", "all": True}, ["body", "seconds"]),
        ({"action": "pause", "reason": "", "all": True}, ["body", "reason"]),
        ({"action": "pause", "reason": "r", "all": True, "room": "R1"}, ["body"]),
        ({"action": "pause", "reason": "r"}, ["body"]),
        ({"action": "nap", "reason": "r", "all": True}, ["body", "action"]),
        ({"action": "pause", "reason": "r", "candidates": []}, ["body", "candidates"]),
    ]:
        r = await act(server, **body)
        assert r.status_code == 422, body
        assert loc in [e["loc"] for e in r.json()["errors"]], (body, r.json())


async def test_extend_pause_resume_submit_reopen(server: Server) -> None:
    t = await setup_rooms(server, duration_seconds=600, grace_seconds=0)
    a1 = (await server.start("mock-1", t["A1"]))["attempt_id"]
    v2 = await server.start("mock-1", t["A2"])
    await server.start("mock-1", t["B1"])
    start = v2["started_at"]
    inv = t["I1"]
    # Extend the room before and after the start: C1 gets it at its start.
    r = await act(server, inv, action="extend", seconds=60, reason="late bus", all=True)
    assert r.status_code == 200, r.text
    assert [row["candidate_id"] for row in r.json()["applied"]] == ["A1", "A2"]
    assert seconds_between(start, r.json()["applied"][0]["deadline"]) == 660
    r = await act(server, action="extend", seconds=30, reason="noise", candidates=["C1"])
    assert r.json()["applied"] == [
        {"candidate_id": "C1", "attempt_id": None, "status": "absent", "deadline": None,
         "submit_kind": None}
    ]  # fmt: skip
    # Pause R1 at 100 s: the time stands still; saves still count, even past the old end.
    server.clock.advance(100)
    r = await act(server, inv, action="pause", reason="fire alarm", room="R1")
    assert [row["status"] for row in r.json()["applied"]] == ["paused", "paused"]
    r = await act(server, inv, action="pause", reason="again", room="R1")
    assert [s["why"] for s in r.json()["skipped"]] == ["already_paused", "already_paused"]
    live = (await server.as_(t["A1"], "GET", f"/attempts/{a1}/live")).json()
    assert live["paused"] is True and live["status"] == "paused"
    assert live["remaining_seconds"] == 560
    server.clock.advance(1000)  # past every end A1 had
    live = (await server.as_(t["A1"], "GET", f"/attempts/{a1}/live")).json()
    assert live["remaining_seconds"] == 560
    r = await server.save(t["A1"], a1, {"question_id": "s0", "response": "B", "seq": 1})
    assert r.status_code == 200, r.text
    view = (await server.as_(t["A1"], "GET", f"/attempts/{a1}")).json()
    assert view["status"] == "paused" and view["remaining_seconds"] == 560
    await asyncio.sleep(0.2)  # sweeps: B1 (not paused) is sealed, A1 and A2 are not
    rows = await table(server)
    assert rows["B1"]["status"] == "submitted"
    assert (rows["A1"]["status"], rows["A2"]["status"]) == ("paused", "paused")
    # Resume: the deadline moves by the pause's exact length.
    r = await act(server, inv, action="resume", reason="all clear", candidates=["A1"])
    assert seconds_between(start, r.json()["applied"][0]["deadline"]) == 1660
    r = await act(server, action="resume", reason="all clear", all=True)
    assert [s["candidate_id"] for s in r.json()["skipped"]] == ["A1", "B1", "C1"]
    assert {s["why"] for s in r.json()["skipped"]} == {"not_paused"}
    # Submit A1 as the invigilator; the candidate's submit then answers with that kind.
    r = await act(server, inv, action="submit", reason="left the room", candidates=["A1"])
    assert r.json()["applied"][0]["submit_kind"] == "invigilator"
    r = await server.as_(t["A1"], "POST", f"/attempts/{a1}/submit", json={})
    assert r.status_code == 200 and r.json()["submit_kind"] == "invigilator"
    r = await act(server, action="submit", reason="x", candidates=["A1", "C1", "B1"])
    assert r.json()["skipped"] == [
        {"candidate_id": "A1", "why": "submitted"},
        {"candidate_id": "B1", "why": "ended"},
        {"candidate_id": "C1", "why": "not_started"},
    ]
    # Reopen A1 for 120 s; its answers are as they were.
    r = await act(server, action="reopen", seconds=120, reason="by mistake", candidates=["A1"])
    row = r.json()["applied"][0]
    assert row["status"] == "in_progress" and row["submit_kind"] is None
    live = (await server.as_(t["A1"], "GET", f"/attempts/{a1}/live")).json()
    assert live["remaining_seconds"] == 120
    view = (await server.as_(t["A1"], "GET", f"/attempts/{a1}")).json()
    assert view["answers"]["s0"]["seq"] == 1
    r = await act(server, action="reopen", seconds=60, reason="x", candidates=["A2", "C1"])
    assert [s["why"] for s in r.json()["skipped"]] == ["not_submitted", "not_submitted"]
    # An extra_seconds change no longer moves a reopened attempt.
    r = await server.admin("PATCH", "/exams/mock-1/candidates/A1", json={"extra_seconds": 600})
    assert r.json()["deadline"] == row["deadline"]
    server.clock.advance(121)

    async def a1_sealed() -> bool:
        return bool((await table(server))["A1"]["status"] == "submitted")

    await wait_for(a1_sealed)
    assert (await table(server))["A1"]["score"] == 4
    audit = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    kinds = [(e["action"], e["actor"]) for e in audit]
    assert ("pause", "invigilator:I1") in kinds and (
        "invigilator_submit",
        "invigilator:I1",
    ) in kinds
    pause = next(e for e in audit if e["action"] == "pause")
    assert pause["detail"]["reason"] == "fire alarm" and pause["detail"]["applied"] == ["A1", "A2"]
    mine = (await server.as_(inv, "GET", "/audit?exam_id=mock-1")).json()["entries"]
    assert {e["action"] for e in mine} >= {"pause", "resume", "extend", "invigilator_submit"}
    assert all(e["actor"] == "invigilator:I1" or "B1" not in str(e["detail"]) for e in mine)


async def test_a_paused_attempt_keeps_a_closing_exam_open_and_close_seals_it(
    server: Server,
) -> None:
    closes = server.clock.now() + 100 * 1_000_000
    t = await setup_rooms(server, closes_at=format_time(closes), grace_seconds=0)
    a1 = (await server.start("mock-1", t["A1"]))["attempt_id"]
    server.clock.advance(50)
    await act(server, action="pause", reason="power cut", candidates=["A1"])
    server.clock.advance(100)
    await asyncio.sleep(0.2)
    assert (await server.admin("GET", "/exams")).json()["exams"][0]["closed"] is False
    r = await server.admin("POST", "/exams/mock-1/close")
    assert r.json()["sealed"] == 1
    view = (await server.as_(t["A1"], "GET", f"/attempts/{a1}")).json()
    assert view["status"] == "submitted" and view["paused"] is False
    assert view["submitted_at"] == format_time(server.clock.now())
    r = await act(server, action="reopen", seconds=60, reason="x", candidates=["A1"])
    assert r.json()["skipped"] == [{"candidate_id": "A1", "why": "exam_closed"}]


async def test_announcements_reach_the_whole_exam_or_one_room(server: Server) -> None:
    t = await setup_rooms(server)
    a1 = (await server.start("mock-1", t["A1"]))["attempt_id"]
    b1 = (await server.start("mock-1", t["B1"]))["attempt_id"]
    c1 = (await server.start("mock-1", t["C1"]))["attempt_id"]  # in no room
    hello_at = server.clock.now()
    r = await server.admin("POST", "/exams/mock-1/announcements", json={"text": "Hello all"})
    assert r.status_code == 201 and r.json()["room"] is None
    every_id = r.json()["id"]
    server.clock.advance(1)
    r = await server.as_(t["I1"], "POST", "/exams/mock-1/announcements", json={"text": "R1 only"})
    assert r.status_code == 201 and r.json()["room"] == "R1"
    r = await server.as_(
        t["I1"], "POST", "/exams/mock-1/announcements", json={"text": "x", "room": "R2"}
    )
    assert r.status_code == 403
    r = await server.admin("POST", "/exams/mock-1/announcements", json={"text": ""})
    assert r.status_code == 422
    server.clock.advance(3)  # past the 2 s cache
    a_live = (await server.as_(t["A1"], "GET", f"/attempts/{a1}/live")).json()
    b_live = (await server.as_(t["B1"], "GET", f"/attempts/{b1}/live")).json()
    assert [n["text"] for n in a_live["announcements"]] == ["Hello all", "R1 only"]
    assert [n["text"] for n in b_live["announcements"]] == ["Hello all"]
    c_live = (await server.as_(t["C1"], "GET", f"/attempts/{c1}/live")).json()
    assert [n["text"] for n in c_live["announcements"]] == ["Hello all"]
    assert a_live["announcements"][0] == {
        "id": every_id,
        "text": "Hello all",
        "at": format_time(hello_at),
    }
    view = (await server.as_(t["A1"], "GET", f"/attempts/{a1}")).json()
    assert [n["text"] for n in view["announcements"]] == ["Hello all", "R1 only"]
    mine = (await server.as_(t["I1"], "GET", "/exams/mock-1/announcements")).json()
    assert [n["text"] for n in mine["announcements"]] == ["Hello all", "R1 only"]
    every = (await server.admin("GET", "/exams/mock-1/announcements")).json()
    assert len(every["announcements"]) == 2
    r = await server.as_(t["B1"], "GET", f"/attempts/{a1}/live")
    assert r.status_code == 404


async def test_extra_time_does_not_bring_back_an_attempt_past_its_end(
    database: str, tmp_path: Path
) -> None:
    async with running(database, tmp_path, sweep_interval_seconds=3600) as server:
        await server.create_exam(small_exam(duration_seconds=60, grace_seconds=0))
        token = (await register(server, "mock-1", {"id": "A1"}))["A1"]
        aid = (await server.start("mock-1", token))["attempt_id"]
        server.clock.advance(61)  # past its end; no sweeper has sealed it yet
        r = await server.admin("PATCH", "/exams/mock-1/candidates/A1", json={"extra_seconds": 600})
        assert r.status_code == 409 and r.json()["type"] == "urn:examvault:attempt-submitted"
        view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
        assert view["status"] == "submitted" and view["submit_kind"] == "auto"


async def test_an_action_on_everyone_reaches_more_candidates_than_one_statement_takes(
    server: Server,
) -> None:
    await server.create_exam(small_exam(duration_seconds=600))
    people = [{"id": f"P{i:04}", "room": f"R{i % 3}"} for i in range(1_100)]
    tokens = await register(server, "mock-1", *people)
    started = ["P0000", "P0501", "P1099"]
    for cid in started:
        await server.start("mock-1", tokens[cid])
    r = await act(server, action="extend", seconds=60, reason="late start", all=True)
    assert r.status_code == 200, r.text
    applied = r.json()["applied"]
    assert [row["candidate_id"] for row in applied] == sorted(p["id"] for p in people)
    rows = await table(server)
    assert all(row["extended_seconds"] == 60 for row in rows.values())
    for cid in started:
        assert seconds_between(rows[cid]["last_seen"], rows[cid]["deadline"]) == 660
    r = await act(server, action="pause", reason="power cut", room="R0")
    assert [row["candidate_id"] for row in r.json()["applied"]] == ["P0000", "P0501"]
    assert len(r.json()["skipped"]) == 365  # not started


async def test_the_view_a_start_returns_is_the_view_a_read_returns(server: Server) -> None:
    """A new attempt's first view is built from its own write (no read after it, for the
    start storm): it must be the very view a GET returns, room announcements and extra
    time included."""
    await server.create_exam(small_exam())
    t = await register(server, "mock-1", {"id": "A1", "room": "R1", "extra_seconds": 600})
    for body in ({"text": "Hello all"}, {"text": "R1 only", "room": "R1"},
                 {"text": "not for A1", "room": "R2"}):  # fmt: skip
        assert (await server.admin("POST", "/exams/mock-1/announcements", json=body)).is_success
    started = await server.as_(t["A1"], "POST", "/exams/mock-1/attempts")
    assert started.status_code == 201
    read = await server.as_(t["A1"], "GET", f"/attempts/{started.json()['attempt_id']}")
    assert read.status_code == 200
    assert started.json() == read.json()  # the manual clock has not moved in between
    assert [a["text"] for a in started.json()["announcements"]] == ["Hello all", "R1 only"]


async def test_a_poll_waiting_for_its_read_when_the_server_stops_is_answered(
    database: str, tmp_path: Path
) -> None:
    """The stop waits for the read of the waiting polls, so none is dropped with the
    event loop while it holds a connection."""
    async with running(database, tmp_path) as server:
        await server.create_exam(small_exam("stop"))
        token = (await server.register("stop", "S1"))["S1"]
        attempt_id = (await server.start("stop", token))["attempt_id"]
        candidate = await server.core.directory.find(token)
        assert candidate is not None
        poll = asyncio.ensure_future(server.core.examday.live(candidate, attempt_id))
        await asyncio.sleep(0)  # its first step: it joins the next read of polls and waits
        polling = server.core.examday._polling
        assert polling is not None and not polling.done()
    assert polling.done()
    assert orjson.loads(await poll)["status"] == "in_progress"
