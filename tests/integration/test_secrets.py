"""No answer key, correctness or score reaches a candidate before the result is released;
and a candidate sees only their own attempt."""

from __future__ import annotations

from typing import Any

from tests.helpers import Server, small_exam

FORBIDDEN = {"answer", "answers_key", "key", "score", "outcome", "rank", "percentile",
             "max_score", "is_correct", "correct_options"}  # fmt: skip


def leaks(doc: Any, path: str = "") -> list[str]:
    """Paths of fields that would tell a candidate a key, a correctness or a score."""
    found: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{key}"
            if key in FORBIDDEN:
                found.append(here)
            if key in ("correct", "wrong", "partial", "unanswered") and ".marks" not in here:
                found.append(here)
            if key == "result" and value is not None:
                found.append(here)
            found += leaks(value, here)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += leaks(value, f"{path}[{i}]")
    return found


async def test_no_candidate_response_carries_a_key_or_score_before_release(server: Server) -> None:
    await server.create_exam(small_exam(show_result="after_close"))
    token = (await server.register("mock-1", "R1"))["R1"]
    responses = [await server.as_(token, "GET", "/me")]
    start = await server.as_(token, "POST", "/exams/mock-1/attempts")
    responses.append(start)
    aid = start.json()["attempt_id"]
    questions = [q for s in start.json()["sections"] for q in s["questions"]]
    for seq, q in enumerate(questions, start=1):
        response = {"single": "B", "multiple": ["A"], "numeric": "2.5"}[q["type"]]
        responses.append(await server.save(token, aid, {"question_id": q["id"],
                                                        "response": response, "seq": seq}))  # fmt: skip
    responses.append(await server.as_(token, "GET", f"/attempts/{aid}"))
    responses.append(await server.as_(token, "GET", f"/attempts/{aid}/result"))
    responses.append(await server.as_(token, "POST", f"/attempts/{aid}/submit"))
    responses.append(await server.as_(token, "GET", f"/attempts/{aid}"))
    responses.append(await server.as_(token, "GET", f"/attempts/{aid}/result"))
    responses.append(await server.as_(token, "POST", "/exams/mock-1/attempts"))
    for r in responses:
        assert r.status_code < 500
        assert leaks(r.json()) == [], (r.request.url, leaks(r.json()))
    # once released, the result is there
    await server.admin("POST", "/exams/mock-1/close")
    released = await server.as_(token, "GET", f"/attempts/{aid}/result")
    assert released.status_code == 200 and "score" in released.json()


async def test_a_candidate_cannot_see_or_touch_another_candidates_attempt(server: Server) -> None:
    await server.create_exam(small_exam())
    tokens = await server.register("mock-1", "R1", "R2")
    mine = (await server.start("mock-1", tokens["R1"]))["attempt_id"]
    theirs = (await server.start("mock-1", tokens["R2"]))["attempt_id"]
    for method, path, body in [
        ("GET", f"/attempts/{theirs}", None),
        ("GET", f"/attempts/{theirs}/result", None),
        ("PUT", f"/attempts/{theirs}/answers",
         {"answers": [{"question_id": "s0", "response": "A", "seq": 1}]}),
        ("POST", f"/attempts/{theirs}/submit", None),
    ]:  # fmt: skip
        r = await server.as_(tokens["R1"], method, path, json=body)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["type"] == "urn:examvault:not-found"
    view = (await server.as_(tokens["R2"], "GET", f"/attempts/{theirs}")).json()
    assert view["status"] == "in_progress" and view["answers"] == {}
    assert (await server.as_(tokens["R1"], "GET", f"/attempts/{mine}")).status_code == 200


async def test_a_candidate_of_one_exam_cannot_start_another(server: Server) -> None:
    await server.create_exam(small_exam())
    await server.create_exam(small_exam("mock-2"))
    token = (await server.register("mock-1", "R1"))["R1"]
    r = await server.as_(token, "POST", "/exams/mock-2/attempts")
    assert r.status_code == 404
