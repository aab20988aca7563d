"""Question pools end to end, on each store: the view, saves, counts, analytics, regrades."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import orjson

from examvault.domain import item_analysis as ia
from examvault.domain.exams import Exam, left_out
from tests.helpers import Server
from tests.integration.test_key_changes import wait_for

POOL = [f"p{i}" for i in range(6)]
BLANK = {"correct": 4, "wrong": -1, "unanswered": "-1/4"}


def pool_exam(**overrides: Any) -> dict[str, Any]:
    """A fixed section (f1, f2) and a pool of six drawing two, blank = −1/4."""

    def single(qid: str, marking: Any) -> dict[str, Any]:
        return {"id": qid, "type": "single", "text": f"question {qid}",
                "options": [{"id": o, "text": o} for o in "ABCD"], "answer": "B",
                "marking": marking}  # fmt: skip

    doc: dict[str, Any] = {
        "id": "pools",
        "title": "Pools",
        "duration_seconds": 3600,
        "show_result": "on_submit",
        "shuffle": {"questions": True},
        "sections": [
            {"id": "fixed", "questions": [single("f1", "plus4_minus1"), single("f2", BLANK)]},
            {"id": "pool", "draw": 2, "questions": [single(q, BLANK) for q in POOL]},
        ],
    }
    doc.update(overrides)
    return doc


async def current(server: Server) -> Exam:
    async with server.core.store.read() as conn:
        exam = await server.core.catalog.current(conn, "pools")
    assert exam is not None
    return exam


def pool_ids(view: dict[str, Any]) -> list[str]:
    section = next(s for s in view["sections"] if s["id"] == "pool")
    return [q["id"] for q in section["questions"]]


async def test_each_candidate_sees_saves_and_is_counted_on_the_drawn_questions_only(
    server: Server,
) -> None:
    await server.create_exam(pool_exam())
    exam = await current(server)
    ids = [f"C{i}" for i in range(8)]
    tokens = await server.register("pools", *ids)
    drawn: dict[str, list[str]] = {}
    for cid in ids:
        view = await server.start("pools", tokens[cid])
        drawn[cid] = pool_ids(view)
        assert len(drawn[cid]) == 2
        assert set(drawn[cid]) == set(POOL) - left_out(exam, cid)
        again = await server.start("pools", tokens[cid])  # a resume: the same questions
        assert pool_ids(again) == drawn[cid]
        me = (await server.as_(tokens[cid], "GET", "/me")).json()
        assert [s["questions"] for s in me["exam"]["sections"]] == [2, 2]
    assert len({frozenset(d) for d in drawn.values()}) > 1, "candidates differ"

    cid = "C0"
    aid = (await server.start("pools", tokens[cid]))["attempt_id"]
    other = next(q for q in POOL if q not in drawn[cid])
    mine = drawn[cid][0]
    # One good item and one for a question not drawn: 422 naming it, nothing applied.
    r = await server.save(
        tokens[cid],
        aid,
        {"question_id": mine, "response": "B", "seq": 1},
        {"question_id": other, "response": "B", "seq": 2},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        {"loc": ["body", "answers", 1, "question_id"], "msg": f"unknown question '{other}'"}
    ]
    view = (await server.as_(tokens[cid], "GET", f"/attempts/{aid}")).json()
    assert view["answers"] == {} and view["last_seq"] == 0
    r = await server.as_(
        tokens[cid],
        "POST",
        f"/attempts/{aid}/submit",
        json={"answers": [{"question_id": other, "response": "A", "seq": 3}]},
    )
    assert r.status_code == 422, "a submit with an undrawn question is refused too"

    r = await server.save(tokens[cid], aid, {"question_id": mine, "response": "B", "seq": 1})
    assert r.status_code == 200, r.text
    r = await server.as_(tokens[cid], "POST", f"/attempts/{aid}/submit")
    result = r.json()["result"]
    # f1, f2 and one pool question unanswered; blanks: 0 + (−1/4) + (−1/4); one right: +4.
    assert (result["correct"], result["unanswered"]) == (1, 3)
    assert result["score"] == 3.5 and result["max_score"] == 4 + 4 + 8
    assert [s["unanswered"] for s in result["sections"]] == [2, 1]
    rows = (await server.admin("GET", "/exams/pools/results")).json()["results"]
    row = next(r for r in rows if r["candidate_id"] == cid)
    assert (row["score"], row["unanswered"]) == (3.5, 3)
    text = (await server.admin("GET", "/exams/pools/results?format=csv")).text
    line = next(r for r in csv.DictReader(io.StringIO(text)) if r["candidate_id"] == cid)
    assert (line["score"], line["unanswered"]) == ("3.5", "3")


async def sit(server: Server, seed: int) -> dict[str, dict[str, tuple[Any, int | None]]]:
    """Twenty candidates answer some of their drawn questions at random and submit."""
    rng = random.Random(seed)
    await server.create_exam(pool_exam())
    ids = [f"C{i:02d}" for i in range(20)]
    tokens = await server.register("pools", *ids)
    given: dict[str, dict[str, tuple[Any, int | None]]] = {}
    for cid in ids:
        view = await server.start("pools", tokens[cid])
        aid = view["attempt_id"]
        final: dict[str, tuple[Any, int | None]] = {}
        items = []
        shown = [q["id"] for s in view["sections"] for q in s["questions"]]
        for seq, qid in enumerate(shown, start=1):
            if rng.random() < 0.2:
                continue
            response = rng.choice("ABCD")
            ms = rng.randint(1_000, 90_000)
            items.append({"question_id": qid, "response": response, "seq": seq,
                          "time_spent_ms": ms})  # fmt: skip
            final[qid] = (response, ms)
        if items:
            assert (await server.save(tokens[cid], aid, *items)).status_code == 200
        assert (await server.as_(tokens[cid], "POST", f"/attempts/{aid}/submit")).status_code == 200
        given[cid] = final
    return given


def from_scratch(exam: Exam, given: dict[str, dict[str, tuple[Any, int | None]]]) -> Any:
    sheet = ia.sheet_of(exam, list(given.items()))
    return orjson.loads(orjson.dumps(ia.figures(exam, sheet)))


async def test_analytics_count_each_pool_question_over_the_attempts_given_it(
    server: Server,
) -> None:
    given = await sit(server, seed=5)
    assert (await server.admin("POST", "/exams/pools/close")).status_code == 200
    exam = await current(server)
    doc = (await server.admin("GET", "/exams/pools/analytics")).json()
    expected = from_scratch(exam, given)
    for key in ("score", "cronbach_alpha", "sections", "questions"):
        assert doc[key] == expected[key], key
    by_id = {q["id"]: q for q in doc["questions"]}
    assert by_id["f1"]["n"] == by_id["f2"]["n"] == 20
    for qid in POOL:
        had = [c for c in given if qid not in left_out(exam, c)]
        assert by_id[qid]["n"] == len(had)
        if had:
            answered = sum(1 for c in had if qid in given[c])
            assert sum(by_id[qid]["options"].values()) == answered
    assert sum(by_id[q]["n"] for q in POOL) == 2 * 20


async def test_a_regrade_touches_only_the_attempts_given_the_question(server: Server) -> None:
    given = await sit(server, seed=9)
    assert (await server.admin("POST", "/exams/pools/close")).status_code == 200

    async def ranked() -> bool:
        rows = (await server.admin("GET", "/exams/pools/results")).json()["results"]
        return all(r["rank"] is not None for r in rows)

    await wait_for(ranked)
    exam = await current(server)
    before = {
        r["candidate_id"]: r
        for r in (await server.admin("GET", "/exams/pools/results")).json()["results"]
    }
    target = "p3"
    had = {c for c in given if target not in left_out(exam, c)}
    assert had and had != set(given)
    # Dropped with a bonus for all: full marks, but only for those who were given it.
    body = {"changes": [{"question_id": target, "drop": True, "bonus": "all"}]}
    assert (await server.admin("PUT", "/exams/pools/key", json=body)).status_code == 202

    async def done() -> bool:
        doc = (await server.admin("GET", "/exams/pools/key")).json()
        return bool(doc["history"][-1]["status"] == "done")

    await wait_for(done)
    impact = (await server.admin("GET", "/exams/pools/key")).json()["history"][-1]["impact"]
    after = {
        r["candidate_id"]: r
        for r in (await server.admin("GET", "/exams/pools/results")).json()["results"]
    }
    exam = await current(server)
    expected = from_scratch(exam, given)
    gained = 0
    for cid in given:
        old, new = before[cid], after[cid]
        if cid not in had:
            assert new["score"] == old["score"] and new["correct"] == old["correct"], cid
            assert new["unanswered"] == old["unanswered"], cid
            continue
        response = given[cid].get(target, (None, None))[0]
        gain = 0 if response == "B" else 4 - (-1 if response else -0.25)
        assert new["score"] == old["score"] + gain, cid
        gained += gain != 0
        assert new["correct"] == old["correct"] + (response != "B"), cid
    assert impact["attempts_rescored"] == len(had)
    assert impact["score_changed"] == gained
    doc = (await server.admin("GET", "/exams/pools/analytics")).json()
    for key in ("score", "cronbach_alpha", "sections", "questions"):
        assert doc[key] == expected[key], key
    p3 = next(q for q in doc["questions"] if q["id"] == target)
    assert p3["dropped"] is True and p3["n"] == len(had) and p3["facility"] == 1


async def test_a_bad_pool_is_refused_with_422_naming_the_section_and_nothing_stored(
    server: Server,
) -> None:
    too_many = pool_exam()
    too_many["sections"][1]["draw"] = 7
    mixed = pool_exam()
    mixed["sections"][1]["questions"][0]["marking"] = "plus4_minus1"
    for doc in (too_many, mixed):
        r = await server.admin("POST", "/exams", json=doc)
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert errors[0]["loc"][-3:] == ["sections", 1, "draw"], errors
        assert "'pool'" in errors[0]["msg"]
        assert (await server.admin("GET", "/exams/pools")).status_code == 404
