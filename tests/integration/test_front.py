"""The front door (web/front.py) answers save, submit and `live` exactly as the FastAPI
routes declared for them would: same statuses, same bodies, same problem types."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import ADMIN, Server, bearer, small_exam

Ask = Callable[..., Any]


def _comparable(r: httpx.Response) -> tuple[int, Any]:
    body = r.json()
    if isinstance(body, dict):  # the clock's reading is the one thing allowed to differ
        body = {k: v for k, v in body.items() if k not in ("server_time", "time_left_seconds")}
    return r.status_code, body


@pytest.fixture
async def both(server: Server) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """A client through the front, and one straight into FastAPI's routes."""
    inner = functools.partial(FastAPI.__call__, server.app)
    transport = httpx.ASGITransport(app=inner)
    routes = httpx.AsyncClient(transport=transport, base_url="http://examvault.test")
    return server.client, routes


async def test_every_answer_of_the_hot_routes_matches_the_declared_routes(
    server: Server, both: Any
) -> None:
    front, routes = both
    await server.create_exam(small_exam())
    tokens = await server.register("mock-1", "A", "B")
    aid = (await server.start("mock-1", tokens["A"]))["attempt_id"]
    other = (await server.start("mock-1", tokens["B"]))["attempt_id"]
    answers = f"/api/v1/attempts/{aid}/answers"
    json_ = {"content-type": "application/json"}
    cases: list[tuple[str, str, dict[str, str], bytes | None]] = [
        # (method, path, headers, body) in an order where each changes what follows
        ("PUT", answers, bearer(tokens["A"]) | json_,
         b'{"answers":[{"question_id":"s0","response":"B","seq":1}]}'),
        ("PUT", answers, bearer(tokens["A"]) | json_,
         b'{"answers":[{"question_id":"s0","response":"C","seq":1}]}'),  # stale
        ("PUT", answers, bearer(tokens["A"]) | json_, b'{"answers":[{"question_id":"zz"}]}'),
        ("PUT", answers, bearer(tokens["A"]) | json_, b"{not json"),
        ("PUT", answers, bearer(tokens["A"]) | {"content-type": "text/plain"}, b"{}"),
        ("PUT", answers, bearer(tokens["A"]) | json_, b""),
        ("PUT", answers, bearer(tokens["A"]) | json_, b"null"),
        ("PUT", answers, {}, b"{}"),
        ("PUT", answers, bearer("nobody"), b"{}"),
        ("PUT", answers, bearer(ADMIN) | json_, b"{}"),
        ("PUT", answers, bearer(tokens["B"]) | json_, b'{"answers":[]}'),  # not B's
        ("PUT", f"/api/v1/attempts/{other}x/answers", bearer(tokens["B"]) | json_,
         b'{"answers":[{"question_id":"s0","response":"B","seq":1}]}'),  # no such attempt
        ("GET", f"/api/v1/attempts/{aid}/live", bearer(tokens["A"]), None),
        ("GET", f"/api/v1/attempts/{aid}/live", bearer(tokens["B"]), None),
        ("POST", f"/api/v1/attempts/{aid}/submit", bearer(tokens["A"]) | json_, b"[1]"),
        ("POST", f"/api/v1/attempts/{aid}/submit", bearer(tokens["A"]), None),
        ("POST", f"/api/v1/attempts/{aid}/submit", bearer(tokens["A"]), None),  # again
        ("PUT", answers, bearer(tokens["A"]) | json_,
         b'{"answers":[{"question_id":"s0","response":"D","seq":2}]}'),  # after the submit
    ]  # fmt: skip
    seen = []
    for method, path, headers, body in cases:
        # Through the front, then the same to the routes, then to the front again: where
        # the first wrote, the other two are replays (a seq already stored, an attempt
        # already sealed) and must be answered alike.
        a = await front.request(method, path, headers=headers, content=body)
        b = await routes.request(method, path, headers=headers, content=body)
        again = await front.request(method, path, headers=headers, content=body)
        assert _comparable(b) == _comparable(again), (method, path, body)
        assert a.headers["content-type"].split(";")[0] in (
            "application/json",
            "application/problem+json",
        )
        assert a.headers["cache-control"] == "no-store"
        assert a.headers["x-content-type-options"] == "nosniff"
        seen.append(a.status_code)
    assert seen == [
        200, 200, 422, 400, 415, 422, 422, 401, 401, 403, 404, 404,
        200, 404, 422, 200, 200, 409,
    ]  # fmt: skip
