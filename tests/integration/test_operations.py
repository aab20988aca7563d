"""Operations endpoints: liveness, readiness, Prometheus metrics named after what they count."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Route

from examvault.web.app import create_app
from tests import helpers
from tests.helpers import Server, running, small_exam


async def test_health_readiness_and_metrics(server: Server) -> None:
    assert (await server.client.get("/healthz")).json() == {"status": "ok"}
    ready = await server.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"

    await server.create_exam(small_exam())
    token = (await server.register("mock-1", "R1"))["R1"]
    aid = (await server.start("mock-1", token))["attempt_id"]
    await server.save(token, aid, {"question_id": "s0", "response": "B", "seq": 1},
                      {"question_id": "s1", "response": "B", "seq": 2})  # fmt: skip
    await server.as_(token, "POST", f"/attempts/{aid}/submit")
    await server.save(token, aid, {"question_id": "s2", "response": "B", "seq": 3})

    text = (await server.client.get("/metrics")).text
    assert 'examvault_submissions_total{kind="manual"} 1.0' in text
    assert "examvault_answer_saves_total 2.0" in text
    assert "examvault_late_journal_entries_total 1.0" in text
    assert 'route="/api/v1/attempts/{attempt_id}/answers"' in text
    assert "examvault_request_duration_seconds_bucket" in text
    assert "examvault_attempts_in_progress" in text
    assert "examvault_write_queue_depth" in text


async def test_pages_are_served_with_a_strict_content_security_policy(server: Server) -> None:
    for path in ("/", "/admin", "/mark"):
        r = await server.client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        # Pictures come from the page's own store as blob: URLs; nothing else is added.
        assert "img-src 'self' data: blob:;" in csp and "unsafe-eval" not in csp
    # An API answer is not cached unless its route says so.
    r = await server.client.get("/api/v1/exams", headers={"Authorization": "Bearer x"})
    assert r.headers.get_list("cache-control") == ["no-store"]


async def test_past_its_capacity_the_server_answers_503_at_once(
    database: str, tmp_path: Path
) -> None:
    async with running(database, tmp_path, max_in_flight=0) as server:
        r = await server.client.get("/api/v1/exams", headers={"Authorization": "Bearer x"})
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (await server.client.get("/healthz")).status_code == 200
        metrics = (await server.client.get("/metrics")).text
        assert "examvault_overload_rejections_total 1.0" in metrics


async def test_the_api_docs_page_loads_nothing_from_another_host(server: Server) -> None:
    """Found by the hostile probe: /api/docs (FastAPI's default) loaded Swagger UI from a
    CDN: blank on an offline exam-centre network, and a third-party script on the origin
    of the exam pages."""
    r = await server.client.get("/api/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert not re.search(r"(https?:)?//", html), "every URL of the page is on this server"
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline script: script-src 'self'"
    assert "<style" not in html and not re.search(r"\s(style|on[a-z]+)=", html)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', html)
    assert len(assets) == 4  # Swagger UI's script, style and icon; the script that starts it
    for asset in assets:
        served = await server.client.get(asset)
        assert served.status_code == 200 and len(served.content) > 100, asset
    start = (await server.client.get("/static/api-docs.js")).text
    assert '"/api/v1/openapi.json"' in start


def every_route(routes: list[Any]) -> Iterator[APIRoute | Route]:
    """The app's routes, those of its included routers too."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            yield from every_route(included.routes)
        elif isinstance(route, APIRoute | Route):
            yield route


def test_every_route_is_in_the_openapi_document_with_its_responses(tmp_path: Path) -> None:
    """Found by the hostile probe: /healthz, /readyz and /metrics were documented as
    returning a JSON string. Every route but the HTML pages, the service worker and the
    documents themselves is in the document, each method with its responses."""
    app = create_app(helpers.test_settings(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path))
    doc = app.openapi()
    not_api = {
        "/",
        "/admin",
        "/admin/analytics",
        "/mark",
        "/sw.js",
        "/api/docs",
        "/api/v1/openapi.json",
    }
    routes = [r for r in every_route(app.routes) if r.path not in not_api]
    assert {"/healthz", "/readyz", "/metrics", "/api/v1/me"} <= {r.path for r in routes}
    for route in routes:
        for method in route.methods or ():
            operation = doc["paths"][route.path][method.lower()]
            assert operation["responses"], f"{method} {route.path} documents no response"
            for status, response in operation["responses"].items():
                assert response.get("content"), f"{method} {route.path} {status}: no body"

    ops = doc["paths"]
    health = ops["/healthz"]["get"]["responses"]["200"]["content"]["application/json"]
    assert health["schema"]["required"] == ["status"]
    ready = ops["/readyz"]["get"]["responses"]
    assert set(ready["200"]["content"]["application/json"]["schema"]["required"]) == {
        "status", "database", "queue",
    }  # fmt: skip
    assert "application/problem+json" in ready["503"]["content"]
    assert "Retry-After" in ready["503"]["headers"]
    assert set(ops["/metrics"]["get"]["responses"]["200"]["content"]) == {"text/plain"}
