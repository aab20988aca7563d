"""Answer-key changes end to end: recorded, regraded from the journal, repeated harmlessly."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from examvault.domain.answers import decode_response
from examvault.domain.exams import Exam
from examvault.domain.marking import score
from examvault.domain.totals import Totals
from examvault.store.tables import answers, attempts, journal
from tests.helpers import Server, small_exam

ANSWERS = {
    "R1": {"s0": "B", "s1": "A", "m0": ["A", "C"], "n0": "2.5"},
    "R2": {"s0": "A", "s1": "A", "m0": ["A"], "n0": "3"},
    "R3": {"s0": "C", "s1": "B", "n1": "2.55"},
    "R4": {"s0": "B", "s1": "B", "m0": ["A", "B"]},
}


async def wait_for(predicate: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


async def sit_exam(server: Server, close: bool = True) -> dict[str, str]:
    """Four candidates answer and submit; R5 is absent; the exam is closed."""
    await server.create_exam(small_exam(n=2))
    tokens = await server.register("mock-1", *ANSWERS, "R5")
    for cid, given in ANSWERS.items():
        aid = (await server.start("mock-1", tokens[cid]))["attempt_id"]
        items = [
            {"question_id": q, "response": r, "seq": i + 1, "time_spent_ms": 1000 * (i + 1)}
            for i, (q, r) in enumerate(given.items())
        ]
        # A first, different response to s0 that the second one replaces.
        await server.save(tokens[cid], aid, {"question_id": "s0", "response": "D", "seq": 0})
        assert (await server.save(tokens[cid], aid, *items)).status_code == 200
        r = await server.as_(tokens[cid], "POST", f"/attempts/{aid}/submit")
        assert r.status_code == 200, r.text
    if close:
        assert (await server.admin("POST", "/exams/mock-1/close")).status_code == 200

        async def ranked() -> bool:
            return all(
                r["rank"] is not None
                for r in (await results(server)).values()
                if r["status"] == "submitted"
            )

        await wait_for(ranked)
    return tokens


async def key_done(server: Server, version: int) -> None:
    async def done() -> bool:
        doc = (await server.admin("GET", "/exams/mock-1/key")).json()
        return bool(
            doc["history"][-1]["key_version"] == version and doc["history"][-1]["status"] == "done"
        )

    await wait_for(done)


async def results(server: Server) -> dict[str, Any]:
    rows = (await server.admin("GET", "/exams/mock-1/results")).json()["results"]
    return {r["candidate_id"]: r for r in rows}


async def from_journal(server: Server) -> dict[str, Totals]:
    """Totals recomputed from scratch: the latest non-late journal entry of each question."""
    core = server.core
    async with core.store.read() as conn:
        exam: Exam | None = await core.catalog.current(conn, "mock-1")
        assert exam is not None
        rows = (
            await conn.execute(
                select(
                    attempts.c.candidate_id,
                    journal.c.question_id,
                    journal.c.seq,
                    journal.c.response,
                )
                .join(attempts, attempts.c.id == journal.c.attempt_id)
                .where(journal.c.late.is_(False))
                .order_by(journal.c.seq)
            )
        ).all()
    latest: dict[str, dict[str, Any]] = {}
    for cid, qid, _, text in rows:
        latest.setdefault(cid, {})[qid] = text
    return {
        cid: Totals.of(
            exam,
            {
                q: score(exam.by_id[q].rule, decode_response(exam.by_id[q], t))
                for q, t in given.items()
            },
        )
        for cid, given in latest.items()
    }


async def test_a_key_change_regrades_every_attempt_from_the_journal(server: Server) -> None:
    tokens = await sit_exam(server)
    before = await results(server)
    assert (before["R1"]["score"], before["R2"]["score"]) == (4 - 1 + 4 + 2, -1 - 1 + 1 * 1 + 0)
    body = {
        "reason": "challenge on s0 upheld",
        "changes": [
            {"question_id": "s0", "answer": ["A", "B"]},
            {"question_id": "s1", "drop": True, "bonus": "answered"},
            {"question_id": "n0", "answer": {"value": 3}},
        ],
    }
    r = await server.admin("PUT", "/exams/mock-1/key", json=body)
    assert r.status_code == 202, r.text
    assert r.json() == {"key_version": 2, "status": "regrading"}
    await key_done(server, 2)
    after = await results(server)
    expected = await from_journal(server)
    for cid, totals in expected.items():
        assert after[cid]["score"] == float(totals.whole.score) or after[cid]["score"] == int(
            totals.whole.score
        )
    # R2: s0 A now right (+4), s1 answered → bonus 4, m0 partial 1, n0 3 now right (+2).
    assert after["R2"]["score"] == 4 + 4 + 1 + 2
    # R1: s0 B still right, s1 bonus, m0 right, n0 2.5 now wrong (0).
    assert after["R1"]["score"] == 4 + 4 + 4 + 0
    assert after["R5"]["status"] == "absent"
    history = (await server.admin("GET", "/exams/mock-1/key")).json()
    assert history["key_version"] == 2
    assert [h["key_version"] for h in history["history"]] == [1, 2]
    entry = history["history"][1]
    assert entry["actor"] == "admin" and entry["reason"] == "challenge on s0 upheld"
    assert entry["changes"][1] == {"question_id": "s1", "drop": True, "bonus": "answered"}
    gains = {cid: after[cid]["score"] - before[cid]["score"] for cid in ANSWERS}
    assert entry["impact"] == {
        "attempts_rescored": 4,
        "score_changed": sum(g != 0 for g in gains.values()),
        "max_gain": max(0, *gains.values()),
        "max_loss": max(0, *(-g for g in gains.values())),
        "rank_changed": sum(after[c]["rank"] != before[c]["rank"] for c in ANSWERS),
    }

    # A student's result shows the current key's score.
    aid = after["R2"]["attempt_id"]
    mine = (await server.as_(tokens["R2"], "GET", f"/attempts/{aid}/result")).json()
    assert mine["score"] == after["R2"]["score"] and mine["rank"] == after["R2"]["rank"]
    # Every stored answer's score is what the rules give under the new key.
    core = server.core
    async with core.store.read() as conn:
        exam = await core.catalog.current(conn, "mock-1")
        assert exam is not None
        for a_id, qid, text, outcome, marks in await conn.execute(
            select(
                answers.c.attempt_id,
                answers.c.question_id,
                answers.c.response,
                answers.c.outcome,
                answers.c.score,
            )
        ):
            q = exam.by_id[qid]
            assert (outcome, marks) == tuple(map(str, score(q.rule, decode_response(q, text)))), (
                a_id
            )
        versions = set((await conn.execute(select(attempts.c.key_version))).scalars())
    assert versions == {2}


async def test_the_same_change_twice_changes_nothing_more(server: Server) -> None:
    await sit_exam(server)
    body = {"changes": [{"question_id": "s0", "answer": "A"}]}
    assert (await server.admin("PUT", "/exams/mock-1/key", json=body)).status_code == 202
    await key_done(server, 2)
    first = await results(server)
    audit = (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"]
    r = await server.admin("PUT", "/exams/mock-1/key", json=body)
    assert r.status_code == 200 and r.json() == {"key_version": 2, "status": "done"}
    # Same key written differently (a one-element list for a single question) is the same.
    r = await server.admin(
        "PUT", "/exams/mock-1/key", json={"changes": [{"question_id": "s0", "answer": ["A"]}]}
    )
    assert r.status_code == 200
    assert (await results(server)) == first
    assert (await server.admin("GET", "/audit?exam_id=mock-1")).json()["entries"] == audit
    history = (await server.admin("GET", "/exams/mock-1/key")).json()["history"]
    assert len(history) == 2


async def test_a_key_change_is_checked_against_the_exam(server: Server) -> None:
    await sit_exam(server, close=False)
    bad = [
        {"changes": [{"question_id": "nope", "answer": "A"}]},
        {"changes": [{"question_id": "s0", "answer": "Z"}]},
        {"changes": [{"question_id": "m0", "answer": "A"}]},
        {"changes": [{"question_id": "n0", "answer": {"value": 1, "min": 0}}]},
        {"changes": [{"question_id": "s0", "drop": True, "answer": "A"}]},
        {"changes": [{"question_id": "s0", "answer": "A", "extra": 1}]},
        {"changes": []},
    ]
    for body in bad:
        r = await server.admin("PUT", "/exams/mock-1/key", json=body)
        assert r.status_code == 422, (body, r.text)
    assert (
        await server.admin(
            "PUT", "/exams/nope/key", json={"changes": [{"question_id": "s0", "answer": "A"}]}
        )
    ).status_code == 404
    assert (await server.client.put("/api/v1/exams/mock-1/key", json={})).status_code == 401


async def test_analytics_are_served_and_follow_the_key(server: Server) -> None:
    await sit_exam(server, close=False)
    doc = (await server.admin("GET", "/exams/mock-1/analytics")).json()
    assert doc["provisional"] is True and doc["submitted"] == 4 and doc["absent"] == 1
    s0 = next(q for q in doc["questions"] if q["id"] == "s0")
    assert s0["facility"] == 0.5 and s0["options"] == {"A": 1, "B": 2, "C": 1, "D": 0}
    assert (await server.admin("POST", "/exams/mock-1/close")).status_code == 200
    doc = (await server.admin("GET", "/exams/mock-1/analytics")).json()
    assert doc["provisional"] is False
    r = await server.admin(
        "PUT", "/exams/mock-1/key", json={"changes": [{"question_id": "s0", "drop": True}]}
    )
    assert r.status_code == 202
    await key_done(server, 2)
    doc = (await server.admin("GET", "/exams/mock-1/analytics")).json()
    s0 = next(q for q in doc["questions"] if q["id"] == "s0")
    assert s0["dropped"] is True and s0["facility"] == 1 and "too_easy" in s0["flags"]
