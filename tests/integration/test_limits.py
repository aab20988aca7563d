"""Abuse limits (issue 6, Hostile input and abuse), on each store.

Rate limits per candidate token and per client address, body size, JSON depth, items per
save, string lengths: each a clear problem+json, never a 500. Tokens never reach a log;
a candidate token on an admin route is 403; every admin action is in the audit trail.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from examvault.clock import ManualClock
from examvault.logs import JSONFormatter
from examvault.ratelimit import Limiter
from examvault.store.tables import metadata
from examvault.web.app import create_app
from tests import helpers
from tests.helpers import ADMIN, Server, bearer, small_exam

PROBLEM = "application/problem+json"
JSON_ADMIN = bearer(ADMIN) | {"content-type": "application/json"}


class Ticks:
    """A stand-in for `time.monotonic` in one limiter, so that refills are exact."""

    def __init__(self) -> None:
        self.now = 1024.0  # binary fractions below: refills come out exact

    def hold(self, limiter: Limiter, monkeypatch: pytest.MonkeyPatch) -> None:
        check: Callable[..., int] = limiter.check
        monkeypatch.setattr(limiter, "check", lambda key, now=None: check(key, self.now))


@asynccontextmanager
async def serving(
    database: str, data_dir: Path, **overrides: Any
) -> AsyncIterator[tuple[Server, FastAPI]]:
    """Like helpers.running, with the app at hand (to hold its limiters' clocks)."""
    app = create_app(helpers.test_settings(database, data_dir, **overrides), clock=ManualClock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://examvault.test") as c:
            yield Server(client=c, clock=app.state.core.clock, core=app.state.core), app


def assert_problem(r: httpx.Response, status: int, type_: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail"} <= set(body) and body["status"] == status
    if type_ is not None:
        assert body["type"] == type_
    return body


async def started(server: Server, *ids: str) -> tuple[dict[str, str], dict[str, str]]:
    """An exam, candidates `ids`, each with an attempt: (tokens, attempt ids)."""
    await server.create_exam(small_exam())
    tokens = await server.register("mock-1", *ids)
    attempts = {cid: (await server.start("mock-1", tokens[cid]))["attempt_id"] for cid in ids}
    return tokens, attempts


# --- Rate limits -------------------------------------------------------------------------


@pytest.fixture
async def limited(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Server, FastAPI, Ticks]]:
    """The app with the default rate limits of docs/api.md (a burst of 100, then 20 per second)."""
    async with serving(database, tmp_path, rate_burst=100, rate_per_second=20.0) as (server, app):
        ticks = Ticks()
        ticks.hold(app.state.candidate_limiter, monkeypatch)
        yield server, app, ticks


async def test_a_candidate_token_gets_a_burst_of_100_then_20_per_second(limited: Any) -> None:
    server, app, ticks = limited
    assert (app.state.candidate_limiter.burst, app.state.candidate_limiter.rate) == (100, 20.0)
    tokens, _ = await started(server, "R1", "R2")  # the start is the first request of each
    statuses = [(await server.as_(tokens["R1"], "GET", "/me")).status_code for _ in range(99)]
    assert statuses == [200] * 99
    r = await server.as_(tokens["R1"], "GET", "/me")
    assert_problem(r, 429, "urn:examvault:rate-limited")
    assert r.headers["retry-after"] == "1"
    # Another candidate is not held back by this one.
    assert (await server.as_(tokens["R2"], "GET", "/me")).status_code == 200
    # 20 per second: one request every 50 ms (62.5 ms gives 1.25 requests).
    ticks.now += 0.0625
    assert (await server.as_(tokens["R1"], "GET", "/me")).status_code == 200
    assert (await server.as_(tokens["R1"], "GET", "/me")).status_code == 429
    ticks.now += 1
    after = [(await server.as_(tokens["R1"], "GET", "/me")).status_code for _ in range(21)]
    assert after == [200] * 20 + [429]


async def test_an_outbox_flush_of_50_saves_after_a_network_drop_passes(limited: Any) -> None:
    server, _, ticks = limited
    tokens, attempts = await started(server, "R1")
    token, aid = tokens["R1"], attempts["R1"]
    # A page at work: 40 saves over 20 seconds, well under the steady rate.
    for seq in range(1, 41):
        r = await server.save(
            token, aid, {"question_id": "s0", "response": "ABCD"[seq % 4], "seq": seq}
        )
        assert r.status_code == 200
        ticks.now += 0.5
    # The network drops; the page queues 50 changes and flushes them all at once.
    answer = {"s": "C", "m": ["A", "C"], "n": "2.5"}
    changes = [(f"{t}{i % 4}", answer[t]) for i in range(17) for t in "smn"][:50]
    results = await asyncio.gather(
        *(
            server.save(token, aid, {"question_id": q, "response": response, "seq": seq})
            for seq, (q, response) in enumerate(changes, start=41)
        )
    )
    assert [r.status_code for r in results] == [200] * 50
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["last_seq"] == 90


async def test_the_per_address_limit_is_off_by_default(limited: Any) -> None:
    _, app, _ = limited
    assert app.state.address_limiter is None


async def test_a_per_address_limit_when_enabled_counts_every_token(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "address_rate_limit": True,
        "address_rate_burst": 30,
        "address_rate_per_second": 10.0,
    }
    async with serving(database, tmp_path, **settings) as (server, app):
        ticks = Ticks()
        ticks.hold(app.state.address_limiter, monkeypatch)
        tokens, _ = await started(server, "R1", "R2")  # 4 requests from this address
        sent = []
        for _ in range(9):
            sent.append(await server.as_(tokens["R1"], "GET", "/me"))
            sent.append(await server.as_(tokens["R2"], "GET", "/me"))
            sent.append(await server.admin("GET", "/exams"))
        assert [r.status_code for r in sent[:26]] == [200] * 26
        assert [r.status_code for r in sent[26:]] == [429]
        for r in [
            sent[26],
            await server.admin("GET", "/exams"),
            await server.client.get("/api/v1/me"),
        ]:
            assert_problem(r, 429, "urn:examvault:rate-limited")
            assert int(r.headers["retry-after"]) >= 1
        ticks.now += 1  # 10 per second
        assert (await server.as_(tokens["R1"], "GET", "/me")).status_code == 200


# --- Sizes, depth, counts, lengths -------------------------------------------------------


@pytest.fixture
async def attempt(server: Server) -> tuple[Server, str, str]:
    tokens, attempts = await started(server, "R1")
    return server, tokens["R1"], attempts["R1"]


async def put_raw(server: Server, token: str, aid: str, body: bytes | Any) -> httpx.Response:
    return await server.client.put(
        f"/api/v1/attempts/{aid}/answers", content=body,
        headers=bearer(token) | {"content-type": "application/json"},
    )  # fmt: skip


async def test_a_body_over_1_mib_is_413_declared_or_streamed(attempt: Any) -> None:
    server, token, aid = attempt
    big = b'{"answers": [], "pad": "' + b"x" * (1 << 20) + b'"}'
    assert_problem(await put_raw(server, token, aid, big), 413, "urn:examvault:too-large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b" " * 65536

    assert_problem(await put_raw(server, token, aid, chunks()), 413)
    # POST /exams takes definitions up to 10 MiB (rich text, docs/api.md): 1 MiB is fine.
    r = await server.client.post("/api/v1/exams", content=big, headers=JSON_ADMIN)
    assert r.status_code == 422, r.text
    bigger = b'{"pad": "' + b"x" * (10 << 20) + b'"}'
    r = await server.client.post("/api/v1/exams", content=bigger, headers=JSON_ADMIN)
    assert_problem(r, 413)


@pytest.mark.parametrize("where", ["body", "answers", "response"])
async def test_json_nested_100k_deep_is_400_not_500(attempt: Any, where: str) -> None:
    server, token, aid = attempt
    deep = "[" * 100_000 + "]" * 100_000
    body = {
        "body": deep,
        "answers": '{"answers": ' + deep + "}",
        "response": '{"answers": [{"question_id": "s0", "seq": 1, "response": ' + deep + "}]}",
    }[where]
    problem = assert_problem(
        await put_raw(server, token, aid, body.encode()), 400, "urn:examvault:malformed"
    )
    assert problem["errors"][0]["loc"] == ["body"]
    r = await server.client.post("/api/v1/exams", content=deep.encode(), headers=JSON_ADMIN)
    assert_problem(r, 400)
    assert (await server.as_(token, "GET", f"/attempts/{aid}")).json()["answers"] == {}


async def test_too_many_items_in_one_save_is_422(database: str, tmp_path: Path) -> None:
    async with serving(database, tmp_path, max_items_per_save=10) as (server, _):
        tokens, attempts = await started(server, "R1")
        items = [{"question_id": "s0", "response": "A", "seq": i} for i in range(1, 12)]
        r = await server.save(tokens["R1"], attempts["R1"], *items)
        problem = assert_problem(r, 422, "urn:examvault:invalid")
        assert problem["errors"] == [
            {"loc": ["body", "answers"], "msg": "at most 10 items in one request"}
        ]
        assert (await server.save(tokens["R1"], attempts["R1"], *items[:10])).status_code == 200


async def test_a_900_kb_string_is_422_and_not_echoed_back(attempt: Any) -> None:
    server, token, aid = attempt
    huge = "q" * 900_000
    for item in (
        {"question_id": huge, "response": "A", "seq": 1},
        {"question_id": "s0", "response": huge, "seq": 1},
        {"question_id": "m0", "response": [huge], "seq": 1},
        {"question_id": "n0", "response": "1" * 900_000 + "x", "seq": 1},
    ):
        r = await server.save(token, aid, item)
        problem = assert_problem(r, 422, "urn:examvault:invalid")
        assert len(r.content) < 2000, "a problem names the item without echoing 900 KB"
        assert problem["errors"][0]["loc"][:3] == ["body", "answers", 0]
    r = await server.admin(
        "POST", "/exams/mock-1/candidates", json={"candidates": [{"id": "R9", "name": huge}]}
    )
    assert_problem(r, 422) and len(r.content) < 2000
    r = await server.admin("POST", "/exams", json=small_exam("other", title=huge))
    assert_problem(r, 422)
    assert (await server.as_(token, "GET", f"/attempts/{aid}")).json()["answers"] == {}


# --- Tokens ------------------------------------------------------------------------------


class Collect(logging.Handler):
    """Every record of the `examvault` loggers, formatted as the server writes them."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JSONFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + repr(record.__dict__))


@pytest.fixture
def logged() -> Any:
    root = logging.getLogger("examvault")
    handler, level = Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # the access log writes every request at DEBUG
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


async def test_tokens_never_reach_a_log(server: Server, logged: Collect) -> None:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    aid = (await server.start("mock-1", token))["attempt_id"]
    await server.client.get(f"/?token={token}")  # the page a candidate opens from a link
    await server.client.get(f"/api/v1/me?token={token}")
    await server.as_(token, "GET", "/me")
    await server.save(token, aid, {"question_id": "s0", "response": "B", "seq": 1})
    await server.save(token, aid, {"question_id": "nope", "response": "B", "seq": 2})  # 422
    await server.as_(token, "GET", "/exams")  # 403
    await server.as_(token + "x", "GET", "/me")  # 401, an unknown token
    await server.client.get("/api/v1/me", headers={"Authorization": f"Basic {token}"})
    await server.client.get(f"/admin?token={ADMIN}")
    await server.admin("GET", "/exams", params={"token": ADMIN})
    await server.admin("POST", "/exams/mock-1/close")
    assert len(logged.lines) >= 10, "the access log saw the requests"
    assert any('"path":"/"' in line for line in logged.lines)
    for line in logged.lines:
        assert token not in line and ADMIN not in line


async def test_a_candidate_token_on_an_admin_route_is_403(server: Server) -> None:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    for method, path, kw in [
        ("GET", "/exams", {}),
        ("POST", "/exams", {"json": small_exam("mine")}),
        ("GET", "/exams/mock-1", {}),
        ("POST", "/exams/mock-1/candidates", {"json": {"candidates": [{"id": "R2"}]}}),
        ("GET", "/exams/mock-1/results", {}),
        ("POST", "/exams/mock-1/close", {}),
        ("GET", "/audit", {}),
        ("GET", "/exams/mock-1/export", {}),
    ]:
        r = await server.as_(token, method, path, **kw)
        assert_problem(r, 403, "urn:examvault:forbidden")
    # ... and the admin token on a candidate route, too.
    assert_problem(await server.admin("GET", "/me"), 403, "urn:examvault:forbidden")
    assert [e["action"] for e in (await server.admin("GET", "/audit")).json()["entries"]] == [
        "exam_created", "candidates_registered",
    ]  # fmt: skip


async def test_tokens_are_stored_only_as_hashes(server: Server) -> None:
    await server.create_exam(small_exam())
    tokens = await server.register("mock-1", "R1", "R2")
    await server.start("mock-1", tokens["R1"])
    await server.admin("POST", "/exams/mock-1/close")
    stored = []
    async with server.core.store.read() as conn:
        for table in metadata.sorted_tables:
            stored += [repr(tuple(row)) for row in await conn.execute(select(table))]
    everything = "\n".join(stored)
    for token in tokens.values():
        assert token not in everything
        assert hashlib.sha256(token.encode()).hexdigest() in everything
    assert ADMIN not in everything


async def test_pages_carry_no_secret(server: Server) -> None:
    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    for path in (f"/?token={token}", f"/admin?token={ADMIN}", "/sw.js"):
        r = await server.client.get(path)
        assert r.status_code == 200
        assert token not in r.text and ADMIN not in r.text
        assert r.headers["referrer-policy"] == "no-referrer"  # the ?token= never leaves


async def test_a_candidate_cannot_forge_a_score_or_a_time(attempt: Any) -> None:
    server, token, aid = attempt
    for extra in ({"score": 300}, {"correct": True}, {"received_at": "2020-01-01T00:00:00Z"}):
        item = {"question_id": "s0", "response": "B", "seq": 1} | extra
        assert_problem(await server.save(token, aid, item), 422, "urn:examvault:invalid")
    r = await server.as_(
        token, "POST", f"/attempts/{aid}/submit", json={"answers": [], "result": {"score": 300}}
    )
    assert_problem(r, 422)
    view = (await server.as_(token, "GET", f"/attempts/{aid}")).json()
    assert view["status"] == "in_progress" and view["answers"] == {}


async def test_question_text_is_data_never_markup(server: Server) -> None:
    script = "<script>alert(1)</script>"
    doc = small_exam(n=1)
    doc["sections"][0]["questions"][0] |= {
        "text": script,
        "options": [{"id": "A", "text": "<img src=x onerror=alert(1)>"}, {"id": "B", "text": "B"}],
    }
    await server.create_exam(doc)
    token = (await server.register("mock-1", "R1"))["R1"]
    r = await server.as_(token, "POST", "/exams/mock-1/attempts")
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    question = r.json()["sections"][0]["questions"][0]
    assert question["text"] == script  # as written: the page shows it as text (textContent)
    assert question["options"][0]["text"] == "<img src=x onerror=alert(1)>"


# --- Audit -------------------------------------------------------------------------------


async def test_the_audit_trail_lists_every_admin_action(server: Server) -> None:
    server.clock.advance(1)
    await server.create_exam(small_exam())
    await server.create_exam(small_exam(title="Mock test, corrected"))  # before any attempt
    await server.create_exam(small_exam(title="Mock test, corrected"))  # a repeat: no entry
    await server.register("mock-1", "R1", "R2")
    await server.create_exam(small_exam("other"))
    server.clock.advance(60)
    assert (await server.admin("POST", "/exams/mock-1/close")).status_code == 200
    entries = (await server.admin("GET", "/audit")).json()["entries"]
    assert [(e["action"], e["exam_id"], e["actor"]) for e in entries] == [
        ("exam_created", "mock-1", "admin"),
        ("exam_replaced", "mock-1", "admin"),
        ("candidates_registered", "mock-1", "admin"),
        ("exam_created", "other", "admin"),
        ("exam_closed", "mock-1", "admin"),
    ]
    assert all(e["at"].endswith("Z") for e in entries)
    assert entries[0]["at"] <= entries[-1]["at"] and entries[0]["at"] != entries[-1]["at"]
    assert entries[2]["detail"]["ids"] == ["R1", "R2"], "what changed"
    assert "token" not in str(entries[2]["detail"]).lower()
    assert entries[4]["detail"] == {"sealed": 0}
    only = (await server.admin("GET", "/audit", params={"exam_id": "other"})).json()["entries"]
    assert [e["action"] for e in only] == ["exam_created"]
