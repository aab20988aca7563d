"""Written answers end to end on each store: matched text scored at save, manual text
pending until marked, release held back while marks are pending, review after release."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import Server

MANUAL = {"correct": 10, "manual": True, "step": "1/4"}


def written_exam(exam_id: str = "essay-1", **overrides: Any) -> dict[str, Any]:
    """Two sections: a single choice and a matched text; two manual text questions."""
    doc: dict[str, Any] = {
        "id": exam_id,
        "title": "Written",
        "duration_seconds": 3600,
        "show_result": "on_submit",
        "sections": [
            {
                "id": "a",
                "questions": [
                    {"id": "q1", "type": "single", "options": [{"id": "A"}, {"id": "B"}],
                     "answer": "A", "marking": {"correct": 1, "wrong": 0}},
                    {"id": "s1", "type": "text", "text": "Capital of France?",
                     "answer": ["Paris", "paris  city"], "marking": {"correct": 2}},
                ],
            },
            {
                "id": "b",
                "questions": [
                    {"id": "e1", "type": "text", "text": "Explain.", "max_chars": 40,
                     "marking": MANUAL},
                    {"id": "e2", "type": "text", "text": "Discuss.",
                     "marking": {"correct": 4, "manual": True, "unanswered": "1/2"}},
                ],
            },
        ],
    }  # fmt: skip
    doc.update(overrides)
    return doc


async def wait_for(predicate: Any, seconds: float = 10.0) -> None:
    """Poll until the condition holds, with a generous deadline."""
    for _ in range(int(seconds / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


async def sit(
    server: Server, answers: dict[str, dict[str, Any]], exam: dict[str, Any] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Create the exam, register, answer and submit; (tokens, attempt ids) by candidate."""
    exam = exam or written_exam()
    await server.create_exam(exam)
    tokens = await server.register(exam["id"], *answers)
    attempt_ids = {}
    for cid, given in answers.items():
        aid = (await server.start(exam["id"], tokens[cid]))["attempt_id"]
        attempt_ids[cid] = aid
        items = [{"question_id": q, "response": r, "seq": 1} for q, r in given.items()]
        if items:
            r = await server.save(tokens[cid], aid, *items)
            assert r.status_code == 200, r.text
        r = await server.as_(tokens[cid], "POST", f"/attempts/{aid}/submit")
        assert r.status_code == 200, r.text
    return tokens, attempt_ids


async def test_a_matched_text_is_scored_at_save_ignoring_case_and_spacing(server: Server) -> None:
    tokens, ids = await sit(
        server,
        {
            "C1": {"s1": "  PARIS\u00a0 city\n", "q1": "A"},
            "C2": {"s1": "Lyon", "e1": "It is so.", "e2": "   "},
            "C3": {"s1": "\t "},
        },
        written_exam(release="immediately"),
    )
    got = {}
    for cid in tokens:
        r = await server.as_(tokens[cid], "GET", f"/attempts/{ids[cid]}/result")
        assert r.status_code == 200, r.text
        got[cid] = r.json()
    # C1: q1 + s1 correct (1 + 2); e1 unmarked, e2 unanswered (1/2).
    assert got["C1"]["score"] == 3.5 and got["C1"]["pending_marks"] == 0
    assert (got["C1"]["correct"], got["C1"]["unanswered"]) == (2, 2)
    # C2: s1 wrong, e1 pending (in no count), e2 blank after trimming: unanswered.
    assert got["C2"]["pending_marks"] == 1
    assert (got["C2"]["wrong"], got["C2"]["unanswered"], got["C2"]["correct"]) == (1, 2, 0)
    assert got["C2"]["score"] == 0.5
    # A blank text is unanswered, like null.
    assert got["C3"]["unanswered"] == 4


async def test_a_too_long_text_is_refused_naming_the_question(server: Server) -> None:
    await server.create_exam(written_exam())
    tokens = await server.register("essay-1", "C1")
    aid = (await server.start("essay-1", tokens["C1"]))["attempt_id"]
    # 40 characters after NFC: "e" + combining acute counts as one.
    fits = "e\u0301" * 40
    r = await server.save(tokens["C1"], aid, {"question_id": "e1", "response": fits, "seq": 1})
    assert r.status_code == 200, r.text
    r = await server.save(
        tokens["C1"],
        aid,
        {"question_id": "s1", "response": "Paris", "seq": 2},
        {"question_id": "e1", "response": "x" * 41, "seq": 3},
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["errors"][0]["loc"] == ["body", "answers", 1, "response"]
    assert "40" in problem["errors"][0]["msg"]
    # Nothing applied: s1 was not saved either.
    view = (await server.as_(tokens["C1"], "GET", f"/attempts/{aid}")).json()
    assert "s1" not in view["answers"]
    r = await server.save(tokens["C1"], aid, {"question_id": "s1", "response": 5, "seq": 4})
    assert r.status_code == 422


async def test_definitions_of_text_questions_are_checked(server: Server) -> None:
    def with_question(q: dict[str, Any]) -> dict[str, Any]:
        return written_exam(sections=[{"id": "a", "questions": [q]}])

    bad = [
        {"id": "t", "type": "text", "marking": {"correct": 2}},  # neither answer nor manual
        {"id": "t", "type": "text", "answer": ["a"], "marking": {"correct": 2, "manual": True}},
        {"id": "t", "type": "text", "marking": MANUAL, "max_chars": 100_001},
        {"id": "t", "type": "text", "marking": {"correct": 1, "manual": True, "step": "2/3"}},
        {"id": "t", "type": "text", "answer": [" "], "marking": {"correct": 2}},
        {"id": "t", "type": "single", "options": [{"id": "A"}], "answer": "A",
         "marking": {"correct": 1, "manual": True}},
    ]  # fmt: skip
    for q in bad:
        r = await server.admin("POST", "/exams", json=with_question(q))
        assert r.status_code == 422, (q, r.text)
    ok = {"id": "t", "type": "text", "marking": MANUAL, "max_chars": 100_000}
    r = await server.admin("POST", "/exams", json=with_question(ok))
    assert r.status_code == 201, r.text
    view = (await server.admin("GET", "/exams/essay-1")).json()
    assert "max_chars" in str(view)


async def test_the_result_waits_for_marks_under_when_marked(server: Server) -> None:
    tokens, ids = await sit(server, {"C1": {"s1": "paris", "e1": "An essay."}})
    r = await server.as_(tokens["C1"], "GET", f"/attempts/{ids['C1']}/result")
    assert r.status_code == 409, r.text
    assert r.json()["pending_marks"] == 1
    rows = (await server.admin("GET", "/exams/essay-1/results")).json()["results"]
    assert rows[0]["pending_marks"] == 1 and rows[0]["score"] == 2.5  # e2: 1/2 blank
    csv = (await server.admin("GET", "/exams/essay-1/results?format=csv")).text
    assert "pending_marks" in csv.splitlines()[0]
    scripts = (await server.admin("GET", "/exams/essay-1/scripts")).json()["scripts"]
    assert [s["response"] for s in scripts] == ["An essay."]
    r = await server.admin(
        "PUT",
        "/exams/essay-1/marks",
        json={"marks": [{"script_id": scripts[0]["script_id"], "mark": 7.25, "comment": "ok"}]},
    )
    assert r.status_code == 200, r.text
    r = await server.as_(tokens["C1"], "GET", f"/attempts/{ids['C1']}/result")
    assert r.status_code == 200, r.text
    assert r.json()["score"] == 9.75 and r.json()["partial"] == 1
    assert r.json()["pending_marks"] == 0


async def test_the_submit_response_has_no_result_while_marks_are_pending(server: Server) -> None:
    await server.create_exam(written_exam())
    tokens = await server.register("essay-1", "C1", "C2")
    for cid, response in (("C1", "words"), ("C2", None)):
        aid = (await server.start("essay-1", tokens[cid]))["attempt_id"]
        r = await server.as_(
            tokens[cid],
            "POST",
            f"/attempts/{aid}/submit",
            json={"answers": [{"question_id": "e1", "response": response, "seq": 1}]},
        )
        assert r.status_code == 200, r.text
        if cid == "C1":
            assert r.json()["result"] is None
        else:  # nothing to mark: released at once
            assert r.json()["result"]["pending_marks"] == 0


async def test_ranks_wait_for_the_last_mark_of_a_closed_exam(server: Server) -> None:
    await sit(server, {"C1": {"e1": "one"}, "C2": {"e1": "two"}, "C3": {"s1": "Paris"}})
    assert (await server.admin("POST", "/exams/essay-1/close")).status_code == 200

    async def rows() -> list[dict[str, Any]]:
        r = await server.admin("GET", "/exams/essay-1/results")
        return list(r.json()["results"])

    scripts = (await server.admin("GET", "/exams/essay-1/scripts")).json()["scripts"]
    r = await server.admin(
        "PUT", "/exams/essay-1/marks", json={"marks": [{"script_id": scripts[0]["script_id"],
                                                         "mark": 10}]}
    )  # fmt: skip
    assert r.status_code == 200
    # The ranks job has run after the close and after this mark: still null (one pending).
    await wait_for(lambda: _no_jobs_pending(server))
    assert all(row["rank"] is None for row in await rows())
    r = await server.admin(
        "PUT", "/exams/essay-1/marks", json={"marks": [{"script_id": scripts[1]["script_id"],
                                                         "mark": 0}]}
    )  # fmt: skip
    assert r.status_code == 200

    async def ranked() -> bool:
        return all(row["rank"] is not None for row in await rows())

    await wait_for(ranked, seconds=5)
    assert sorted(row["rank"] for row in await rows()) == [1, 2, 3]


async def _no_jobs_pending(server: Server) -> bool:
    from sqlalchemy import func, select

    from examvault.store.tables import jobs

    async with server.core.store.read() as conn:
        n = (
            await conn.execute(
                select(func.count()).select_from(jobs).where(jobs.c.status != "done")
            )
        ).scalar_one()
    return n == 0


async def test_review_follows_the_exam_setting(server: Server) -> None:
    exam = written_exam(review="full", release="immediately")
    tokens, ids = await sit(server, {"C1": {"q1": "B", "s1": "paris", "e1": "Essay"}}, exam)
    r = await server.as_(tokens["C1"], "GET", f"/attempts/{ids['C1']}/review")
    assert r.status_code == 200, r.text
    questions = {q["id"]: q for s in r.json()["sections"] for q in s["questions"]}
    assert questions["q1"]["key"] == "A" and questions["q1"]["outcome"] == "wrong"
    assert questions["s1"]["key"] == ["Paris", "paris  city"]
    assert questions["s1"]["response"] == "paris" and questions["s1"]["score"] == 2
    assert "key" not in questions["e1"] and questions["e1"]["outcome"] == "pending"
    assert questions["e2"]["outcome"] == "unanswered" and questions["e2"]["response"] is None


async def test_a_full_review_gives_keys_in_the_definitions_own_shape(server: Server) -> None:
    exam = written_exam(review="full", release="immediately")
    exam["sections"][0]["questions"] += [
        {"id": "n1", "type": "numeric", "answer": {"value": 2.50, "tolerance": "0.05"},
         "marking": {"correct": 1}},
        {"id": "m1", "type": "multiple", "options": [{"id": "A"}, {"id": "B"}],
         "answer": ["A", "B"], "marking": {"correct": 1}},
    ]  # fmt: skip
    tokens, ids = await sit(server, {"C1": {"n1": "2.55"}}, exam)
    r = await server.admin(
        "PUT", "/exams/essay-1/key",
        json={"changes": [{"question_id": "s1", "answer": ["Lyon"]}]},
    )  # fmt: skip
    assert r.status_code == 202, r.text

    async def regraded() -> bool:
        history = (await server.admin("GET", "/exams/essay-1/key")).json()["history"]
        return bool(history[-1]["status"] == "done")

    await wait_for(regraded)
    r = await server.as_(tokens["C1"], "GET", f"/attempts/{ids['C1']}/review")
    assert r.status_code == 200, r.text
    questions = {q["id"]: q for s in r.json()["sections"] for q in s["questions"]}
    assert questions["n1"]["key"] == {"value": 2.5, "tolerance": "0.05"}
    assert questions["n1"]["outcome"] == "correct" and questions["n1"]["response"] == "2.55"
    assert questions["m1"]["key"] == ["A", "B"]
    assert questions["s1"]["key"] == ["Lyon"]


async def test_review_is_refused_before_release_and_when_the_exam_offers_none(
    server: Server,
) -> None:
    tokens, ids = await sit(server, {"C1": {"e1": "Essay"}}, written_exam(review="responses"))
    r = await server.as_(tokens["C1"], "GET", f"/attempts/{ids['C1']}/review")
    assert r.status_code == 409  # a mark is pending under when_marked
    scripts = (await server.admin("GET", "/exams/essay-1/scripts")).json()["scripts"]
    body = {"marks": [{"script_id": scripts[0]["script_id"], "mark": 5, "comment": "Thin."}]}
    assert (await server.admin("PUT", "/exams/essay-1/marks", json=body)).status_code == 200
    r = await server.as_(tokens["C1"], "GET", f"/attempts/{ids['C1']}/review")
    assert r.status_code == 200, r.text
    questions = {q["id"]: q for s in r.json()["sections"] for q in s["questions"]}
    assert questions["e1"]["comment"] == "Thin." and questions["e1"]["score"] == 5
    assert all("key" not in q for q in questions.values())


async def test_no_review_by_default(server: Server) -> None:
    tokens, ids = await sit(server, {"C1": {"q1": "A"}}, written_exam(release="immediately"))
    r = await server.as_(tokens["C1"], "GET", f"/attempts/{ids['C1']}/review")
    assert r.status_code == 409


async def test_analytics_of_an_exam_with_written_answers(server: Server) -> None:
    await sit(
        server,
        {"C1": {"s1": "Paris", "e1": "One"}, "C2": {"s1": "Rome", "e1": "Two"}, "C3": {}},
    )
    assert (await server.admin("POST", "/exams/essay-1/close")).status_code == 200
    r = await server.admin("GET", "/exams/essay-1/analytics")
    assert r.status_code == 200, r.text
    items = {i["id"]: i for i in r.json()["questions"]}
    assert items["s1"]["options"] == {} and items["s1"]["facility"] == 0.3333
    # Two answers to e1 are pending: in none of the four outcome shares.
    assert sum(items["e1"]["outcomes"].values()) < 1
