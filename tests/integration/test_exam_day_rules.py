"""The exam day, rule by rule (docs/api.md, Exam day): each skip reason and its order,
reopen (late items, later extends, a second submit, ranks), `submit_kind: "invigilator"`
in every place it shows, the invigilator's reach on every route, the audit of each
action kind, the candidate table and the announcements. Every test runs on both stores.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

from examvault.clock import format_time
from tests.helpers import Server, running, small_exam
from tests.integration.test_exam_day import (
    act,
    register,
    seconds_between,
    setup_rooms,
    table,
    wait_for,
)


def whys(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {s["candidate_id"]: s["why"] for s in response.json()["skipped"]}


def applied(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["candidate_id"] for row in response.json()["applied"]]


async def test_each_skip_reason_and_the_first_that_applies(database: str, tmp_path: Path) -> None:
    # No sweeper between our steps: an attempt past its end stays unsealed until we sweep.
    async with running(database, tmp_path, sweep_interval_seconds=3600) as server:
        await server.create_exam(small_exam(duration_seconds=600, grace_seconds=0))
        t = await register(
            server,
            "mock-1",
            {"id": "E"},  # ends at 600 s, never sealed by hand
            {"id": "N"},  # never starts
            {"id": "P", "extra_seconds": 5_000},  # in progress
            {"id": "Q", "extra_seconds": 5_000},  # paused at 10 s
            {"id": "S", "extra_seconds": 5_000},  # submitted at 10 s, before its end
            {"id": "S2"},  # submitted at 10 s; its end (600 s) has passed since
            {"id": "F"},  # like E, then reopened before any sweeper seals it
        )
        ids = {c: (await server.start("mock-1", t[c]))["attempt_id"] for c in "EPQS"}
        ids |= {c: (await server.start("mock-1", t[c]))["attempt_id"] for c in ("S2", "F")}
        server.clock.advance(10)
        for c in ("S", "S2"):
            r = await server.as_(t[c], "POST", f"/attempts/{ids[c]}/submit", json={})
            assert r.status_code == 200 and r.json()["submit_kind"] == "manual"
        assert applied(await act(server, action="pause", reason="r", candidates=["Q"])) == ["Q"]
        server.clock.advance(700)  # E and S2 are past their end; E is not sealed yet
        everyone = ["E", "N", "Q", "S", "S2"]
        assert whys(await act(server, action="pause", reason="r", candidates=everyone)) == {
            "E": "ended", "N": "not_started", "Q": "already_paused", "S": "submitted",
            "S2": "ended",
        }  # fmt: skip
        r = await act(server, action="extend", seconds=60, reason="r", candidates=everyone)
        assert whys(r) == {"E": "ended", "S": "submitted", "S2": "ended"}
        assert applied(r) == ["N", "Q"]  # N gets it at its start; Q, paused, at once
        r = await act(server, action="resume", reason="r", candidates=["E", "N", "P", "S"])
        assert whys(r) == {"E": "not_paused", "N": "not_paused", "P": "not_paused",
                           "S": "not_paused"}  # fmt: skip
        r = await act(server, action="reopen", seconds=60, reason="r", candidates=["N", "P", "Q"])
        assert whys(r) == {"N": "not_submitted", "P": "not_submitted", "Q": "not_submitted"}
        r = await act(server, action="submit", reason="r", candidates=everyone)
        assert whys(r) == {"E": "ended", "N": "not_started", "S": "submitted", "S2": "ended"}
        assert applied(r) == ["Q"]
        # Past its end but not sealed yet is as good as sealed: a reopen applies.
        r = await act(server, action="reopen", seconds=60, reason="r", candidates=["F"])
        assert applied(r) == ["F"] and r.json()["applied"][0]["status"] == "in_progress"
        assert (
            seconds_between(format_time(server.clock.now()), r.json()["applied"][0]["deadline"])
            == 60
        )
        # E was skipped as ended: it is sealed at its own end, as it would have been.
        await server.core.sweeper.sweep()
        view = (await server.as_(t["E"], "GET", f"/attempts/{ids['E']}")).json()
        assert view["status"] == "submitted" and view["submit_kind"] == "auto"
        assert (await table(server))["F"]["status"] == "in_progress"
        assert seconds_between(view["started_at"], view["submitted_at"]) == 600
        assert whys(await act(server, action="pause", reason="r", candidates=["E"])) == {
            "E": "ended"
        }
        # Closed: reopen's own reason, whatever else applies.
        assert (await server.admin("POST", "/exams/mock-1/close")).status_code == 200
        r = await act(server, action="reopen", seconds=60, reason="r", candidates=["E", "P"])
        assert whys(r) == {"E": "exam_closed", "P": "exam_closed"}


async def test_reopen_keeps_late_items_late_and_later_extends_and_pauses_move_it(
    server: Server,
) -> None:
    await server.create_exam(small_exam(duration_seconds=60, grace_seconds=0))
    t = await register(server, "mock-1", {"id": "A1"})
    aid = (await server.start("mock-1", t["A1"]))["attempt_id"]
    r = await server.save(t["A1"], aid, {"question_id": "s0", "response": "B", "seq": 1})
    assert r.status_code == 200
    server.clock.advance(61)
    late = {"question_id": "s1", "response": "B", "seq": 2}
    r = await server.save(t["A1"], aid, late)
    assert r.status_code == 409 and r.json()["late"] == [2]
    await wait_for(lambda: _status(server, "A1", "submitted"))
    r = await act(server, action="reopen", seconds=120, reason="sealed by mistake", all=True)
    deadline = r.json()["applied"][0]["deadline"]
    assert seconds_between(format_time(server.clock.now()), deadline) == 120
    # The late item sent again is journaled late already: it stays late (not applied,
    # answered as stale); the same answer sent as a new change counts.
    r = await server.save(t["A1"], aid, late)
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["stale"]) == ([], [2])
    view = (await server.as_(t["A1"], "GET", f"/attempts/{aid}")).json()
    assert "s1" not in view["answers"] and view["answers"]["s0"]["seq"] == 1
    stats = (await server.admin("GET", "/exams/mock-1/stats")).json()
    assert stats["late_items"] == 1
    # Later extends and pauses move the reopened deadline as usual.
    r = await act(server, action="extend", seconds=30, reason="r", all=True)
    assert seconds_between(deadline, r.json()["applied"][0]["deadline"]) == 30
    await act(server, action="pause", reason="r", all=True)
    server.clock.advance(500)
    r = await act(server, action="resume", reason="r", all=True)
    assert seconds_between(deadline, r.json()["applied"][0]["deadline"]) == 530
    r = await server.save(t["A1"], aid, {"question_id": "s1", "response": "B", "seq": 3})
    assert r.status_code == 200 and r.json()["accepted"] == [3]
    r = await server.as_(t["A1"], "POST", f"/attempts/{aid}/submit", json={})
    assert r.json()["submit_kind"] == "manual"
    assert r.json()["submitted_at"] == format_time(server.clock.now())
    row = (await server.admin("GET", "/exams/mock-1/results")).json()["results"][0]
    assert row["score"] == 8 and row["submit_kind"] == "manual"


async def _status(server: Server, cid: str, status: str) -> bool:
    return bool((await table(server))[cid]["status"] == status)


async def test_invigilator_submits_show_in_results_csv_and_the_candidates_answer(
    server: Server,
) -> None:
    t = await setup_rooms(server)
    ids = {c: (await server.start("mock-1", t[c]))["attempt_id"] for c in ("A1", "A2", "B1")}
    server.clock.advance(5)
    r = await act(server, t["I1"], action="submit", reason="left early", candidates=["A1"])
    assert r.json()["applied"][0]["submit_kind"] == "invigilator"
    r = await server.as_(t["A1"], "POST", f"/attempts/{ids['A1']}/submit",
                         json={"answers": [{"question_id": "s0", "response": "B", "seq": 1}]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["submit_kind"], r.json()["late"]) == ("invigilator", [1])
    assert r.json()["submitted_at"] == format_time(server.clock.now())
    view = (await server.as_(t["A1"], "GET", f"/attempts/{ids['A1']}")).json()
    assert view["submit_kind"] == "invigilator"
    live = (await server.as_(t["A1"], "GET", f"/attempts/{ids['A1']}/live")).json()
    assert live["status"] == "submitted" and live["remaining_seconds"] == 0
    rows = {r["candidate_id"]: r for r in
            (await server.admin("GET", "/exams/mock-1/results")).json()["results"]}  # fmt: skip
    assert rows["A1"]["submit_kind"] == "invigilator" and rows["A1"]["status"] == "submitted"
    text = (await server.admin("GET", "/exams/mock-1/results?format=csv")).text
    by_id = {r["candidate_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert by_id["A1"]["submit_kind"] == "invigilator"
    assert by_id["A2"]["submit_kind"] == ""


async def test_a_reopened_attempt_submitted_again_keeps_its_last_seal_and_ranks_once(
    server: Server,
) -> None:
    await server.create_exam(small_exam(duration_seconds=600))
    t = await register(server, "mock-1", {"id": "A1"}, {"id": "A2"})
    a1 = (await server.start("mock-1", t["A1"]))["attempt_id"]
    a2 = (await server.start("mock-1", t["A2"]))["attempt_id"]
    await server.save(t["A2"], a2, {"question_id": "s0", "response": "B", "seq": 1})
    await server.as_(t["A1"], "POST", f"/attempts/{a1}/submit", json={})
    server.clock.advance(10)
    r = await act(server, action="reopen", seconds=300, reason="wrong button", candidates=["A1"])
    assert r.json()["applied"][0]["status"] == "in_progress"
    rows = (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
    assert (rows[0]["status"], rows[0]["submitted_at"], rows[0]["submit_kind"]) == (
        "in_progress", None, None,
    )  # fmt: skip
    r = await server.save(t["A1"], a1, *(
        {"question_id": q, "response": "B", "seq": i} for i, q in enumerate(("s0", "s1"), 1)
    ))  # fmt: skip
    assert r.status_code == 200
    server.clock.advance(20)
    r = await act(server, action="submit", reason="time", candidates=["A1"])
    sealed_at = format_time(server.clock.now())
    server.clock.advance(5)
    r = await server.as_(t["A1"], "POST", f"/attempts/{a1}/submit", json={})
    assert (r.json()["submit_kind"], r.json()["submitted_at"]) == ("invigilator", sealed_at)
    assert (await server.admin("POST", "/exams/mock-1/close")).status_code == 200

    async def ranked() -> bool:
        rows = (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
        return all(r["rank"] is not None for r in rows)

    await wait_for(ranked)
    rows = (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
    assert [(r["candidate_id"], r["score"], r["rank"]) for r in rows] == [
        ("A1", 8, 1),
        ("A2", 4, 2),
    ]
    assert (rows[0]["submitted_at"], rows[0]["submit_kind"]) == (sealed_at, "invigilator")
    assert rows[1]["percentile"] < rows[0]["percentile"]


_INVIGILATOR_ROUTES = {
    ("GET", "/api/v1/exams/{exam_id}"),
    ("GET", "/api/v1/exams/{exam_id}/stats"),
    ("GET", "/api/v1/exams/{exam_id}/candidates"),
    ("GET", "/api/v1/audit"),
    ("POST", "/api/v1/exams/{exam_id}/actions"),
    ("POST", "/api/v1/exams/{exam_id}/announcements"),
    ("GET", "/api/v1/exams/{exam_id}/announcements"),
    ("GET", "/api/v1/exams/{exam_id}/media/{name}"),  # the paper's pictures
    ("GET", "/api/v1/staff/me"),  # who the token is: its exam and rooms, for the page
}


async def test_an_invigilator_token_is_refused_everywhere_else(server: Server) -> None:
    """Every API route the app serves, taken from its OpenAPI document: an invigilator token gets 403
    on all but the listed ones, and 403 on the listed ones for another exam."""
    t = await setup_rooms(server)
    await server.create_exam(small_exam("other"))
    aid = (await server.start("mock-1", t["A1"]))["attempt_id"]
    values = {"exam_id": "mock-1", "attempt_id": aid, "candidate_id": "A1", "name": "fig.png"}
    # The FastAPI app under the in-process client: its OpenAPI document lists every route.
    app = server.client._transport.app  # type: ignore[attr-defined]
    seen = set()
    for template, item in app.openapi()["paths"].items():
        if not template.startswith("/api/v1/"):
            continue  # /healthz, /readyz, /metrics: no token at all
        for method in sorted(m.upper() for m in item):
            seen.add((method, template))
            path = template.format(**values).removeprefix("/api/v1")
            if path == "/audit":
                path += "?exam_id=mock-1"  # an invigilator reads its own exam's only
            r = await server.as_(t["I1"], method, path, json={})
            if (method, template) in _INVIGILATOR_ROUTES:
                assert r.status_code != 403, (method, path, r.text)
                if "{exam_id}" in template:
                    other = template.format(**values | {"exam_id": "other"})
                    r = await server.as_(t["I1"], method, other.removeprefix("/api/v1"), json={})
                    assert r.status_code == 403, (method, other, r.text)
                    r = await server.as_(t["I1"], method, other.replace("other", "nope")
                                         .removeprefix("/api/v1"), json={})  # fmt: skip
                    assert r.status_code == 403, (method, "nope", r.text)
            else:
                assert r.status_code == 403, (method, path, r.text)
                assert r.json()["type"] == "urn:examvault:forbidden"
    assert seen >= _INVIGILATOR_ROUTES
    assert len(seen) > 20  # the whole API, not a handful
    for query in ("?exam_id=other", "?exam_id=nope", ""):
        r = await server.as_(t["I1"], "GET", f"/audit{query}")
        assert r.status_code == 403, query
    # The admin may do all of it, for every room.
    r = await act(server, action="extend", seconds=60, reason="r", room="R2")
    assert r.status_code == 200 and applied(r) == ["B1"]


async def test_every_action_kind_is_audited_with_its_actor_and_detail(server: Server) -> None:
    t = await setup_rooms(server, duration_seconds=600)
    for c in ("A1", "A2"):
        await server.start("mock-1", t[c])
    inv = t["I1"]
    await act(server, inv, action="extend", seconds=60, reason="late bus", room="R1")
    await act(server, inv, action="pause", reason="alarm", candidates=["A1"])
    await act(server, inv, action="resume", reason="clear", candidates=["A1", "A2"])
    await act(server, inv, action="submit", reason="ill", candidates=["A2"])
    await act(server, inv, action="reopen", seconds=60, reason="better", candidates=["A2"])
    await server.admin("PATCH", "/exams/mock-1/candidates/A1", json={"extra_seconds": 10})
    await server.as_(inv, "POST", "/exams/mock-1/announcements", json={"text": "Quiet"})
    entries = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    by_action = {e["action"]: e for e in entries}
    assert by_action["invigilators_registered"]["actor"] == "admin"
    assert by_action["invigilators_registered"]["detail"] == {
        "invigilators": [{"id": "I1", "rooms": ["R1"]}, {"id": "I2", "rooms": None}]
    }
    cases: list[tuple[str, str, dict[str, Any], list[str], list[dict[str, str]]]] = [
        ("extend", "late bus", {"room": "R1"}, ["A1", "A2"], []),
        ("pause", "alarm", {"candidates": ["A1"]}, ["A1"], []),
        ("resume", "clear", {"candidates": ["A1", "A2"]}, ["A1"],
         [{"candidate_id": "A2", "why": "not_paused"}]),
        ("invigilator_submit", "ill", {"candidates": ["A2"]}, ["A2"], []),
        ("reopen", "better", {"candidates": ["A2"]}, ["A2"], []),
    ]  # fmt: skip
    for kind, reason, target, done, skipped in cases:
        e = by_action[kind]
        assert e["actor"] == "invigilator:I1" and e["exam_id"] == "mock-1", e
        d = e["detail"]
        assert (d["reason"], d["applied"], d["skipped"], d["rooms"]) == (
            reason, done, skipped, ["R1"],
        ), e  # fmt: skip
        assert all(d[k] == v for k, v in target.items()), e
        assert len(d["action_id"]) > 0
    assert by_action["extend"]["detail"]["seconds"] == 60
    assert by_action["reopen"]["detail"]["seconds"] == 60
    assert by_action["candidate_changed"]["actor"] == "admin"
    assert by_action["candidate_changed"]["detail"] == {"candidate_id": "A1", "extra_seconds": 10}
    note = by_action["announcement"]
    assert note["actor"] == "invigilator:I1"
    assert (note["detail"]["rooms"], note["detail"]["text"]) == (["R1"], "Quiet")
    # The invigilator reads its own entries, and not those about other rooms.
    await act(server, action="pause", reason="R2 only", room="R2")
    mine = (await server.as_(inv, "GET", "/audit?exam_id=mock-1")).json()["entries"]
    assert [e["action"] for e in mine] == [
        "extend", "pause", "resume", "invigilator_submit", "reopen", "candidate_changed",
        "announcement",
    ]  # fmt: skip
    # A refused action writes nothing.
    assert (await act(server, inv, action="pause", reason="x", room="R2")).status_code == 403
    after = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    assert len(after) == len(entries) + 1


async def test_the_candidate_table_shows_rooms_time_and_pauses(server: Server) -> None:
    t = await setup_rooms(server, duration_seconds=600, grace_seconds=0)
    await server.admin("PATCH", "/exams/mock-1/candidates/A2", json={"extra_seconds": 120})
    v1 = await server.start("mock-1", t["A1"])
    await server.start("mock-1", t["A2"])
    await act(server, action="extend", seconds=30, reason="r", candidates=["A1", "A2", "B1"])
    await act(server, action="pause", reason="r", candidates=["A1"])
    rows = await table(server)
    assert {k: rows["A1"][k] for k in ("status", "paused", "extra_seconds", "extended_seconds",
                                       "room")} == {
        "status": "paused", "paused": True, "extra_seconds": 0, "extended_seconds": 30,
        "room": "R1",
    }  # fmt: skip
    assert seconds_between(v1["started_at"], rows["A1"]["deadline"]) == 630
    assert seconds_between(v1["started_at"], rows["A2"]["deadline"]) == 750
    assert (rows["A2"]["status"], rows["A2"]["paused"]) == ("in_progress", False)
    assert (rows["B1"]["deadline"], rows["B1"]["extended_seconds"]) == (None, 30)
    assert list(await table(server, q="?room=R1")) == ["A1", "A2"]
    assert list(await table(server, q="?room=R9")) == []
    # B1 starts with the extension it got before.
    v = await server.start("mock-1", t["B1"])
    assert seconds_between(v["started_at"], v["deadline"]) == 630
    r = await server.as_(t["I1"], "GET", "/exams/mock-1/candidates?room=R1")
    assert [row["candidate_id"] for row in r.json()["candidates"]] == ["A1", "A2"]
    assert r.json()["candidates"][0]["status"] == "paused"


async def test_announcements_oldest_first_and_one_per_room_of_an_invigilator(
    server: Server,
) -> None:
    t = await setup_rooms(server)
    r = await server.admin(
        "POST", "/exams/mock-1/invigilators",
        json={"invigilators": [{"id": "I3", "rooms": ["R2", "R1"]}]},
    )  # fmt: skip
    two_rooms = r.json()["invigilators"][0]["token"]
    a1 = (await server.start("mock-1", t["A1"]))["attempt_id"]
    b1 = (await server.start("mock-1", t["B1"]))["attempt_id"]
    c1 = (await server.start("mock-1", t["C1"]))["attempt_id"]
    await server.admin("POST", "/exams/mock-1/announcements", json={"text": "first", "room": "R2"})
    server.clock.advance(1)
    r = await server.as_(two_rooms, "POST", "/exams/mock-1/announcements",
                         json={"text": "second", "room": None})  # fmt: skip
    assert r.status_code == 201 and r.json()["room"] == "R1"  # the first of its rooms
    server.clock.advance(1)
    await server.admin("POST", "/exams/mock-1/announcements", json={"text": "third"})
    every = (await server.admin("GET", "/exams/mock-1/announcements")).json()["announcements"]
    assert [(n["text"], n["room"]) for n in every] == [
        ("first", "R2"), ("second", "R1"), ("second", "R2"), ("third", None),
    ]  # fmt: skip
    assert every[0]["at"] < every[1]["at"] == every[2]["at"] < every[3]["at"]
    mine = (await server.as_(t["I1"], "GET", "/exams/mock-1/announcements")).json()
    assert [n["text"] for n in mine["announcements"]] == ["second", "third"]
    server.clock.advance(3)  # past the 2 s cache of `live`
    for token, aid, texts in [(t["A1"], a1, ["second", "third"]),
                              (t["B1"], b1, ["first", "second", "third"]),
                              (t["C1"], c1, ["third"])]:  # fmt: skip
        live = (await server.as_(token, "GET", f"/attempts/{aid}/live")).json()
        assert [n["text"] for n in live["announcements"]] == texts
        assert set(live["announcements"][0]) == {"id", "text", "at"}
    r = await server.as_(t["A1"], "GET", "/exams/mock-1/announcements")
    assert r.status_code == 403
    entries = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    notes = [e["detail"] for e in entries if e["action"] == "announcement"]
    assert [n["rooms"] for n in notes] == [["R2"], ["R1", "R2"], [None]]


async def test_live_writes_nothing_and_is_not_rate_limited(database: str, tmp_path: Path) -> None:
    async with running(database, tmp_path, rate_burst=3, rate_per_second=0.001) as server:
        await server.create_exam(small_exam())
        t = await register(server, "mock-1", {"id": "A1"})
        aid = (await server.start("mock-1", t["A1"]))["attempt_id"]
        before = await table(server)
        server.clock.advance(30)
        for _ in range(20):
            r = await server.as_(t["A1"], "GET", f"/attempts/{aid}/live")
            assert r.status_code == 200, r.text
        assert await table(server) == before  # not even last_seen moved
        assert r.json()["server_time"] == format_time(server.clock.now())
        codes = [
            (
                await server.save(t["A1"], aid, {"question_id": "s0", "response": "B", "seq": i})
            ).status_code
            for i in range(1, 6)
        ]
        assert 429 in codes  # saves are limited; the 20 polls above did not use the budget
        assert codes[:2] == [200, 200]


async def test_exam_day_bodies_and_unknown_exams_are_refused_whole(server: Server) -> None:
    t = await setup_rooms(server)
    for method, path, body, loc in [
        ("POST", "/exams/mock-1/invigilators", {"invigilators": [{"id": "bad id"}]},
         ["body", "invigilators", 0, "id"]),
        ("POST", "/exams/mock-1/invigilators", {"invigilators": [{"id": "I7", "rooms": []}]},
         ["body", "invigilators", 0, "rooms"]),
        ("POST", "/exams/mock-1/announcements", {"text": "x" * 2_001}, ["body", "text"]),
        ("POST", "/exams/mock-1/announcements", {"text": "x", "room": "R 1"}, ["body", "room"]),
        ("POST", "/exams/mock-1/announcements", {"text": "x", "to": "R1"}, ["body", "to"]),
        ("PATCH", "/exams/mock-1/candidates/A1", {"seat": 3}, ["body", "seat"]),
        ("PATCH", "/exams/mock-1/candidates/A1", {"room": "R/1"}, ["body", "room"]),
        ("POST", "/exams/mock-1/actions",
         {"action": "pause", "reason": "r", "candidates": ["A1"] * 10_001},
         ["body", "candidates"]),
        ("POST", "/exams/mock-1/actions",
         {"action": "extend", "seconds": 86_401, "reason": "r", "all": True}, ["body", "seconds"]),
        ("POST", "/exams/mock-1/actions",
         {"action": "pause", "reason": "r" * 501, "all": True}, ["body", "reason"]),
        ("POST", "/exams/mock-1/actions", {"action": "pause", "reason": "r", "all": False},
         ["body", "all"]),
    ]:  # fmt: skip
        r = await server.admin(method, path, json=body)
        assert r.status_code == 422, (path, body, r.text)
        assert r.json()["type"] == "urn:examvault:invalid"
        assert loc in [e["loc"] for e in r.json()["errors"]], (body, r.json())
    r = await server.admin("POST", "/exams/mock-1/invigilators", json={"invigilators": [
        {"id": "I8"}, {"id": "I1"}]})  # fmt: skip
    assert r.status_code == 409 and r.json()["type"] == "urn:examvault:already-registered"
    assert (await server.as_(t["I1"], "GET", "/exams/mock-1/candidates")).status_code == 200
    rows = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    assert [e["action"] for e in rows].count("invigilators_registered") == 1
    assert (await table(server))["A1"]["room"] == "R1"
    for method, path, body in [
        ("POST", "/exams/nope/actions", {"action": "pause", "reason": "r", "all": True}),
        ("POST", "/exams/nope/announcements", {"text": "x"}),
        ("GET", "/exams/nope/announcements", None),
        ("POST", "/exams/nope/invigilators", {"invigilators": [{"id": "I1"}]}),
        ("PATCH", "/exams/nope/candidates/A1", {"room": "R1"}),
        ("GET", "/exams/nope/candidates", None),
    ]:
        r = await server.admin(method, path, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["type"] == "urn:examvault:not-found"


async def test_polls_read_together_each_get_their_own_attempt(server: Server) -> None:
    """`live` polls arriving together are read in one snapshot (services/examday.py):
    each still answers for its own attempt, and another candidate's is still 404."""
    await server.create_exam(small_exam(duration_seconds=600))
    people = [{"id": f"P{i:02}", "extra_seconds": 10 * i} for i in range(12)]
    t = await register(server, "mock-1", *people)
    views = {c: await server.start("mock-1", t[c]) for c in t}
    await act(server, action="pause", reason="r", candidates=["P03", "P07"])

    async def poll(owner: str, cid: str) -> tuple[str, str, Any]:
        r = await server.as_(t[owner], "GET", f"/attempts/{views[cid]['attempt_id']}/live")
        return owner, cid, r

    polls = [poll(c, c) for c in t for _ in range(3)] + [poll("P00", "P01"), poll("P05", "P11")]
    for owner, cid, r in await asyncio.gather(*polls):
        if owner != cid:
            assert r.status_code == 404, r.text
            continue
        assert r.status_code == 200, r.text
        assert r.json()["deadline"] == views[cid]["deadline"]
        assert r.json()["paused"] is (cid in ("P03", "P07"))


async def test_refused_actions_apply_nothing_and_a_repeated_body_is_two_actions(
    server: Server,
) -> None:
    t = await setup_rooms(server, duration_seconds=600, grace_seconds=0)
    a1 = (await server.start("mock-1", t["A1"]))["attempt_id"]
    await server.start("mock-1", t["B1"])
    before = await table(server)
    refused: list[dict[str, Any]] = [
        {"action": "pause", "reason": "x", "candidates": ["A1", "B1"]},  # B1: not its room
        {"action": "extend", "seconds": 60, "reason": "x", "candidates": ["A1", "NOPE"]},
    ]
    for body in refused:
        r = await act(server, t["I1"], **body)
        assert r.status_code in (403, 422), r.text
    assert await table(server) == before
    twice: dict[str, Any] = {"action": "extend", "seconds": 60, "reason": "r", "candidates": ["A1"]}
    first, second = await act(server, **twice), await act(server, **twice)
    assert first.json()["action_id"] != second.json()["action_id"]
    assert (await table(server))["A1"]["extended_seconds"] == 120
    # A candidate may submit while paused, even past the end it had before the pause.
    await act(server, action="pause", reason="r", candidates=["A1"])
    server.clock.advance(2_000)
    r = await server.as_(t["A1"], "POST", f"/attempts/{a1}/submit",
                         json={"answers": [{"question_id": "s0", "response": "B", "seq": 1}]})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["submit_kind"], r.json()["late"]) == ("manual", [])
    assert r.json()["submitted_at"] == format_time(server.clock.now())
    assert (await table(server))["A1"]["score"] == 4


async def test_a_patch_that_changes_nothing_writes_no_audit_entry(server: Server) -> None:
    await setup_rooms(server)
    for body in ({}, {"room": "R1"}, {"extra_seconds": 0}, {"room": "R1", "extra_seconds": 0}):
        r = await server.admin("PATCH", "/exams/mock-1/candidates/A1", json=body)
        assert r.status_code == 200 and r.json()["room"] == "R1", (body, r.text)
    r = await server.admin("PATCH", "/exams/mock-1/candidates/A1", json={"room": "R2",
                                                                          "extra_seconds": 0})  # fmt: skip
    assert r.json()["room"] == "R2"
    entries = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    assert [e["detail"] for e in entries if e["action"] == "candidate_changed"] == [
        {"candidate_id": "A1", "room": "R2"}
    ]
