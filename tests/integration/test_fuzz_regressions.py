"""Regressions for what the API fuzz (tests/fuzz) and the abuse tests found, on each store.

Each test names the fault it pins down; docs/security.md lists them with their fixes.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from examvault.logs import JSONFormatter
from examvault.web import front
from tests.helpers import ADMIN, Server, bearer, small_exam, to_json

PROBLEM = "application/problem+json"


def invalid(problem: Any) -> list[list[Any]]:
    assert problem["type"] == "urn:examvault:invalid" and problem["status"] == 422
    return [e["loc"] for e in problem["errors"]]


def with_question(**changes: Any) -> dict[str, Any]:
    doc = small_exam(n=1)
    doc["sections"][0]["questions"][0] |= changes
    return doc


@pytest.mark.parametrize(
    ("doc", "loc"),
    [
        (with_question(marking=""), ["sections", 0, "questions", 0, "marking"]),
        (with_question(answer=None), ["sections", 0, "questions", 0]),
        (small_exam(n=1, surprise=1), ["surprise"]),
        ({"id": "x"}, ["title"]),
    ],
    ids=["empty-preset", "no-answer", "unknown-field", "missing-fields"],
)
async def test_an_invalid_exam_definition_is_422_not_500(
    server: Server, doc: dict[str, Any], loc: list[Any]
) -> None:
    """Found by the fuzz: `exams.DefinitionError` was a bare ValueError, so POST /exams
    answered every invalid definition with a 500."""
    r = await server.admin("POST", "/exams", json=to_json(doc))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert any(found[: len(loc)] == loc for found in invalid(r.json()))
    assert (await server.admin("GET", "/exams")).json()["exams"] == []


@pytest.fixture
async def attempt(server: Server) -> tuple[Server, str, str]:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    return server, token, (await server.start("mock-1", token))["attempt_id"]


@pytest.mark.parametrize("route", ["answers", "submit"])
async def test_a_json_null_body_is_422_and_seals_nothing(attempt: Any, route: str) -> None:
    """Found by the fuzz: a submit whose body was `null` passed for "no body" and sealed
    the attempt."""
    server, token, aid = attempt
    r = await server.client.request(
        "PUT" if route == "answers" else "POST", f"/api/v1/attempts/{aid}/{route}",
        content=b"null", headers=bearer(token) | {"content-type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 422 and invalid(r.json()) == [["body"]]
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["status"] == "in_progress"
    # A submit with no body at all is still a submit.
    assert (await server.as_(token, "POST", f"/attempts/{aid}/submit")).status_code == 200


async def test_an_unknown_results_format_is_422(server: Server) -> None:
    """Found by the fuzz once the document listed the formats: `?format=xml` answered JSON."""
    await server.create_exam(small_exam())
    r = await server.admin("GET", "/exams/mock-1/results", params={"format": "xml"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert invalid(r.json()) == [["query", "format"]]
    assert (
        await server.admin("GET", "/exams/mock-1/results", params={"format": "csv"})
    ).status_code == 200


async def test_a_long_numeric_response_is_refused_at_once(attempt: Any) -> None:
    """Found by the abuse tests: the number grammar's regex is quadratic in the length, so a
    1 MiB string of digits held the event loop (every request of every candidate) for hours."""
    server, token, aid = attempt
    started = time.perf_counter()
    r = await server.save(
        token, aid, {"question_id": "n0", "response": "1" * 500_000 + "x", "seq": 1}
    )
    assert time.perf_counter() - started < 5
    assert r.status_code == 422
    assert r.json()["errors"][0]["msg"] == "a numeric response has at most 100 characters"
    ok = "-" + "9" * 60 + "." + "9" * 36 + "e5"
    assert len(ok) == 100
    assert (
        await server.save(token, aid, {"question_id": "n0", "response": ok, "seq": 2})
    ).status_code == 200


async def test_a_long_mark_or_preset_is_refused_at_once_and_not_echoed(server: Server) -> None:
    """Found by the abuse tests: the same regex read marks written as text, and an unknown
    preset name was echoed back whole."""
    started = time.perf_counter()
    for marking in ({"correct": "1" * 500_000 + "x"}, "p" * 500_000):
        r = await server.admin("POST", "/exams", json=to_json(with_question(marking=marking)))
        assert r.status_code == 422 and len(r.content) < 2000
    assert time.perf_counter() - started < 5


async def test_an_unknown_question_or_option_is_named_without_echoing_it(attempt: Any) -> None:
    """Found by the abuse tests: a 900 KB question id came back twice in the problem."""
    server, token, aid = attempt
    r = await server.save(token, aid, {"question_id": "q" * 900_000, "response": "A", "seq": 1})
    assert r.status_code == 422 and len(r.content) < 1000
    assert r.json()["errors"][0]["msg"] == f"unknown question {'q' * 64!r}… (900000 characters)"
    r = await server.save(token, aid, {"question_id": "zz", "response": "A", "seq": 1})
    assert r.json()["errors"][0]["msg"] == "unknown question 'zz'"


async def test_the_document_declares_tokens_bodies_and_problems(server: Server) -> None:
    """Found by the fuzz: every 200 was documented as a string, errors as FastAPI's
    `HTTPValidationError` (never sent), no route as needing a token, no import body, and
    nested body schemas pointed at `#/$defs`, outside the document."""
    doc = (await server.client.get("/api/v1/openapi.json")).json()
    assert set(doc["components"]["securitySchemes"]) >= {"admin", "candidate"}
    save = doc["paths"]["/api/v1/attempts/{attempt_id}/answers"]["put"]
    assert save["security"] == [{"candidate": []}]
    assert set(save["responses"]["200"]["content"]["application/json"]["schema"]["required"]) >= {
        "accepted", "stale", "last_seq", "server_time", "deadline",
    }  # fmt: skip
    for status in ("401", "403", "404", "409", "413", "422", "429", "503"):
        assert "application/problem+json" in save["responses"][status]["content"]
    assert "Retry-After" in save["responses"]["429"]["headers"]
    imported = doc["paths"]["/api/v1/exams/import"]["post"]
    assert (
        "file" in imported["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    )
    assert doc["paths"]["/api/v1/exams"]["get"]["security"] == [{"admin": []}]
    ours = {
        p: doc["paths"][p] for p in doc["paths"]
        if p.startswith("/api/v1/") and not p.endswith(("/key", "/analytics"))  # examiner.py
    }  # fmt: skip
    assert "#/$defs" not in str(ours) and "HTTPValidationError" not in str(ours)


# --- Strings that are not text -----------------------------------------------------------

LONE_SURROGATE = b'"\\ud800"'  # JSON's escape for half of a UTF-16 pair: valid JSON, not text


@pytest.mark.parametrize("route", ["answers", "submit"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"answers": [], ' + LONE_SURROGATE + b": 1}",
        b'{"answers": [{"question_id": ' + LONE_SURROGATE + b', "response": "A", "seq": 1}]}',
        b'{"answers": [{"question_id": "s0", "response": ' + LONE_SURROGATE + b', "seq": 1}]}',
        b'{"answers": [], "x": "\xed\xa0\x80"}',  # the same, as (invalid) UTF-8 bytes
    ],
    ids=["field-name", "question-id", "response", "utf8-bytes"],
)
async def test_a_lone_surrogate_is_400_not_500(attempt: Any, route: str, body: bytes) -> None:
    """Found by the hostile probe: a lone surrogate in a field name was copied into the
    problem, which neither orjson nor the JSON log formatter could encode: a 500 and 8 KB
    of logging errors per request."""
    server, token, aid = attempt
    before = server_errors(server)
    r = await server.client.request(
        "PUT" if route == "answers" else "POST", f"/api/v1/attempts/{aid}/{route}",
        content=body, headers=bearer(token) | {"content-type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "urn:examvault:malformed"
    assert server_errors(server) == before
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["status"] == "in_progress" and view["answers"] == {}


async def test_a_candidate_name_with_a_lone_surrogate_is_400(server: Server) -> None:
    """Found by the hostile probe: registration stored the name, then failed to answer."""
    await server.create_exam(small_exam())
    r = await server.client.post(
        "/api/v1/exams/mock-1/candidates",
        content=b'{"candidates": [{"id": "X1", "name": ' + LONE_SURROGATE + b"}]}",
        headers=bearer(ADMIN) | {"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM, r.text
    table = (await server.admin("GET", "/exams/mock-1/candidates")).json()
    assert table["candidates"] == []


async def test_an_imported_file_with_a_lone_surrogate_is_422(server: Server) -> None:
    """The definition's schema refuses what is not text, whatever the format carried."""
    doc = json.dumps(to_json(small_exam("odd", title="\ud800")))  # json writes "\ud800"
    r = await server.as_(ADMIN, "POST", "/exams/import", files={"file": ("odd.json", doc.encode())})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, r.text
    assert r.json()["errors"][0]["loc"] == ["title"]
    assert (await server.admin("GET", "/exams")).json()["exams"] == []


def test_the_log_formatter_escapes_what_is_not_text() -> None:
    record = logging.LogRecord(
        "examvault.web", logging.WARNING, __file__, 1, "field %s", ("\ud800",), None
    )
    record.path = "/api/v1/attempts/\udfff/answers"
    line = JSONFormatter().format(record)
    assert json.loads(line)["msg"] == "field \ud800"
    assert json.loads(line)["path"] == "/api/v1/attempts/\udfff/answers"
    line.encode("utf-8")  # the line itself is text


def server_errors(server: Server) -> float:
    return sum(
        sample.value
        for metric in server.core.metrics.server_errors.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


# --- A final newline ---------------------------------------------------------------------


async def test_an_id_with_a_final_newline_is_422_and_the_csv_keeps_one_line_a_row(
    server: Server,
) -> None:
    """Found by the hostile probe: identifiers were checked with a pattern ending in `$`,
    which matches before a final newline, so `X1` and `X1\\n` were both registered and the
    results CSV had a row spanning two lines."""
    await server.create_exam(small_exam())
    r = await server.admin(
        "POST", "/exams/mock-1/candidates", json={"candidates": [{"id": "X1\n", "name": "N"}]}
    )
    assert r.status_code == 422 and invalid(r.json()) == [["body", "candidates", 0, "id"]]
    await server.register("mock-1", "X1", "X2")
    csv = (await server.admin("GET", "/exams/mock-1/results", params={"format": "csv"})).text
    assert len(csv.splitlines()) == 3  # the header and one line for each candidate


@pytest.mark.parametrize(
    ("method", "route"),
    [("PUT", "answers"), ("POST", "submit"), ("GET", "")],
)
async def test_a_path_with_a_final_newline_is_404(attempt: Any, method: str, route: str) -> None:
    """Found by the hostile probe: `PUT /api/v1/attempts/x/answers%0A` was taken as a save
    by the fast path's pattern (and starlette's own route patterns also end in `$`)."""
    server, token, aid = attempt
    path = f"/api/v1/attempts/{aid}/{route}".rstrip("/") + "%0A"
    body = {"answers": [{"question_id": "s0", "response": "B", "seq": 1}]}
    r = await server.client.request(
        method, path, json=None if method == "GET" else body, headers=bearer(token)
    )
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM, r.text
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["status"] == "in_progress" and view["answers"] == {}
    assert front._HOT_PATH.match(f"/api/v1/attempts/{aid}/answers\n") is None
