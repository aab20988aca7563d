"""Every row of docs/api.md's status table, as problem+json, in the documented order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import ADMIN, Server, bearer, running, small_exam


def assert_problem(r: httpx.Response, status: int, type_: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    if type_ is not None:
        assert body["type"] == type_
    return body


@pytest.fixture
async def attempt(server: Server) -> tuple[Server, str, str]:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    view = await server.start("mock-1", token)
    return server, token, view["attempt_id"]


async def test_malformed_json_is_400(attempt: tuple[Server, str, str]) -> None:
    server, token, aid = attempt
    r = await server.client.put(
        f"/api/v1/attempts/{aid}/answers", content=b'{"answers": [',
        headers=bearer(token) | {"content-type": "application/json"},
    )  # fmt: skip
    assert_problem(r, 400)


@pytest.mark.parametrize(
    ("item", "where"),
    [
        ({"question_id": "nope", "response": "A", "seq": 1}, "question_id"),
        ({"question_id": "s0", "response": "Z", "seq": 1}, "response"),
        ({"question_id": "s0", "response": ["A"], "seq": 1}, "response"),
        ({"question_id": "n0", "response": "two", "seq": 1}, "response"),
        ({"question_id": "n0", "response": True, "seq": 1}, "response"),
        ({"question_id": "s0", "response": "A", "seq": 0}, "seq"),
        ({"question_id": "s0", "response": "A"}, "seq"),
    ],
)
async def test_wrong_shape_or_content_is_422_naming_the_item(
    attempt: tuple[Server, str, str], item: dict[str, Any], where: str
) -> None:
    server, token, aid = attempt
    r = await server.save(token, aid, {"question_id": "s1", "response": "B", "seq": 9}, item)
    body = assert_problem(r, 422)
    assert any(e["loc"][:3] == ["body", "answers", 1] and where in e["loc"] for e in body["errors"])
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["answers"] == {}, "nothing of a refused body is applied"


async def test_body_that_is_not_an_object_is_422(attempt: tuple[Server, str, str]) -> None:
    server, token, aid = attempt
    r = await server.as_(token, "PUT", f"/attempts/{aid}/answers", json={"answers": "all"})
    assert_problem(r, 422)
    r = await server.as_(token, "PUT", f"/attempts/{aid}/answers", json=[1, 2])
    assert_problem(r, 422)


async def test_missing_or_unknown_token_is_401(attempt: tuple[Server, str, str]) -> None:
    server, _, aid = attempt
    assert_problem(await server.client.get(f"/api/v1/attempts/{aid}"), 401)
    assert_problem(await server.as_("not-a-token", "GET", f"/attempts/{aid}"), 401)
    assert_problem(await server.client.get("/api/v1/exams"), 401)
    assert_problem(await server.as_("not-a-token", "GET", "/exams"), 401)


async def test_token_of_the_wrong_kind_is_403(attempt: tuple[Server, str, str]) -> None:
    server, token, aid = attempt
    assert_problem(await server.as_(token, "GET", "/exams/mock-1/results"), 403)
    assert_problem(await server.as_(token, "POST", "/exams", json=small_exam("x")), 403)
    assert_problem(await server.as_(token, "POST", "/exams/mock-1/close"), 403)
    assert_problem(await server.as_(ADMIN, "GET", f"/attempts/{aid}"), 403)


async def test_unknown_route_exam_or_attempt_is_404(attempt: tuple[Server, str, str]) -> None:
    server, token, _ = attempt
    assert_problem(await server.client.get("/api/v1/no-such-thing"), 404)
    assert_problem(await server.client.get("/nowhere"), 404)
    assert_problem(await server.admin("GET", "/exams/nope/results"), 404)
    assert_problem(await server.admin("POST", "/exams/nope/close"), 404)
    assert_problem(await server.as_(token, "GET", "/attempts/no-such-attempt"), 404)
    assert_problem(await server.as_(token, "POST", "/exams/other-exam/attempts"), 404)
    r = await server.save(
        token, "no-such-attempt", {"question_id": "s0", "response": "A", "seq": 1}
    )
    assert_problem(r, 404)


async def test_wrong_method_is_405(attempt: tuple[Server, str, str]) -> None:
    server, token, aid = attempt
    assert_problem(await server.as_(token, "DELETE", f"/attempts/{aid}"), 405)
    assert_problem(await server.as_(token, "GET", f"/attempts/{aid}/submit"), 405)


async def test_body_that_is_not_json_is_415(attempt: tuple[Server, str, str]) -> None:
    server, token, aid = attempt
    r = await server.client.put(
        f"/api/v1/attempts/{aid}/answers", content=b"question=s0&response=A",
        headers=bearer(token) | {"content-type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert_problem(r, 415)


async def test_body_over_the_limit_is_413(attempt: tuple[Server, str, str]) -> None:
    server, token, aid = attempt
    big = b'{"answers": [' + b" " * (1 << 20) + b"]}"
    r = await server.client.put(
        f"/api/v1/attempts/{aid}/answers", content=big,
        headers=bearer(token) | {"content-type": "application/json"},
    )  # fmt: skip
    assert_problem(r, 413)


async def test_checks_run_in_the_documented_order(attempt: tuple[Server, str, str]) -> None:
    server, token, aid = attempt
    big = b"x" * ((1 << 20) + 10)
    # token before size
    r = await server.client.put(f"/api/v1/attempts/{aid}/answers", content=big)
    assert_problem(r, 401)
    # size before content type
    r = await server.client.put(
        f"/api/v1/attempts/{aid}/answers", content=big,
        headers=bearer(token) | {"content-type": "text/plain"},
    )  # fmt: skip
    assert_problem(r, 413)
    # content type before body
    r = await server.client.put(
        f"/api/v1/attempts/{aid}/answers", content=b"{not json",
        headers=bearer(token) | {"content-type": "text/plain"},
    )  # fmt: skip
    assert_problem(r, 415)
    # body before the attempt
    r = await server.save(
        token, "no-such-attempt", {"question_id": "nope", "response": 1, "seq": 1}
    )
    assert_problem(r, 422)
    # the attempt before its state: another's submitted attempt is still 404
    other = (await server.register("mock-1", "R2"))["R2"]
    other_aid = (await server.start("mock-1", other))["attempt_id"]
    await server.as_(other, "POST", f"/attempts/{other_aid}/submit")
    r = await server.save(token, other_aid, {"question_id": "s0", "response": "A", "seq": 1})
    assert_problem(r, 404)


async def test_closed_exam_without_attempt_is_409_closed(server: Server) -> None:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    await server.admin("POST", "/exams/mock-1/close")
    r = await server.as_(token, "POST", "/exams/mock-1/attempts")
    assert_problem(r, 409, "urn:examvault:closed")


async def test_answers_to_a_submitted_attempt_are_409_submitted(
    attempt: tuple[Server, str, str],
) -> None:
    server, token, aid = attempt
    assert (await server.as_(token, "POST", f"/attempts/{aid}/submit")).status_code == 200
    r = await server.save(token, aid, {"question_id": "s0", "response": "A", "seq": 1})
    assert_problem(r, 409, "urn:examvault:submitted")


async def test_answers_after_deadline_and_grace_are_409_past_deadline(
    attempt: tuple[Server, str, str],
) -> None:
    server, token, aid = attempt
    server.clock.advance(3600 + 30 + 1)
    r = await server.save(token, aid, {"question_id": "s0", "response": "A", "seq": 1})
    assert_problem(r, 409, "urn:examvault:past-deadline")


async def test_exam_not_open_yet_is_409_not_open(server: Server) -> None:
    await server.create_exam(small_exam(opens_at="2999-01-01T00:00:00Z"))
    token = (await server.register("mock-1", "R1"))["R1"]
    r = await server.as_(token, "POST", "/exams/mock-1/attempts")
    assert_problem(r, 409, "urn:examvault:not-open")


async def test_result_not_released_is_409_not_released(server: Server) -> None:
    await server.create_exam(small_exam(show_result="after_close"))
    token = (await server.register("mock-1", "R1"))["R1"]
    aid = (await server.start("mock-1", token))["attempt_id"]
    assert_problem(await server.as_(token, "GET", f"/attempts/{aid}/result"), 409,
                   "urn:examvault:not-released")  # fmt: skip
    await server.as_(token, "POST", f"/attempts/{aid}/submit")
    assert_problem(await server.as_(token, "GET", f"/attempts/{aid}/result"), 409,
                   "urn:examvault:not-released")  # fmt: skip
    await server.admin("POST", "/exams/mock-1/close")
    assert (await server.as_(token, "GET", f"/attempts/{aid}/result")).status_code == 200


async def test_rate_limit_is_429_with_retry_after(database: str, tmp_path: Path) -> None:
    async with running(database, tmp_path, rate_burst=3, rate_per_second=0.5) as server:
        await server.create_exam(small_exam())
        token = (await server.register("mock-1", "R1"))["R1"]
        statuses = [(await server.as_(token, "GET", "/me")) for _ in range(5)]
        assert [r.status_code for r in statuses[:3]] == [200, 200, 200]
        assert_problem(statuses[3], 429)
        assert int(statuses[3].headers["retry-after"]) >= 1


async def test_database_unavailable_is_503_with_retry_after(tmp_path: Path) -> None:
    async with running("postgresql://postgres@127.0.0.1:1/nowhere", tmp_path) as server:
        r = await server.client.get("/readyz")
        assert_problem(r, 503)
        assert r.headers["retry-after"]
        r = await server.as_("some-token", "GET", "/me")
        assert_problem(r, 503)
        assert r.headers["retry-after"]
        assert (await server.client.get("/healthz")).status_code == 200


async def test_refused_starts_sharing_a_batch_do_not_touch_the_others(server: Server) -> None:
    """Starts run without a savepoint each: a refusal must leave the batch's other
    starts, and its own candidate, exactly as if it had run alone."""
    await server.create_exam(small_exam("open-1"))
    await server.create_exam(small_exam("shut-1"))
    await server.create_exam(small_exam("later-1", opens_at="2999-01-01T00:00:00Z"))
    opened = await server.register("open-1", *(f"O{i}" for i in range(20)))
    shut = await server.register("shut-1", *(f"C{i}" for i in range(20)))
    later = await server.register("later-1", *(f"L{i}" for i in range(20)))
    await server.admin("POST", "/exams/shut-1/close")
    calls = [("open-1", t) for t in opened.values()] + [("shut-1", t) for t in shut.values()]
    calls += [("later-1", t) for t in later.values()]
    responses = await asyncio.gather(
        *(server.as_(token, "POST", f"/exams/{exam}/attempts") for exam, token in calls)
    )
    by_exam: dict[str, set[int]] = {}
    for (exam, _), r in zip(calls, responses, strict=True):
        by_exam.setdefault(exam, set()).add(r.status_code)
    assert by_exam == {"open-1": {201}, "shut-1": {409}, "later-1": {409}}
    rows = (await server.admin("GET", "/exams/open-1/results")).json()
    assert sum(1 for row in rows["results"] if row.get("attempt_id")) == 20
    for exam in ("shut-1", "later-1"):
        rows = (await server.admin("GET", f"/exams/{exam}/results")).json()
        assert not any(row.get("attempt_id") for row in rows["results"]), exam
