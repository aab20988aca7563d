"""The ASGI app: routes, error handling, the request middleware, and the lifespan.

`create_app(settings)` is the only way an app is made. The lifespan migrates the
database, builds the `Core` (store, writer, caches, background tasks) and stops it
cleanly: queued writes are committed before the process exits.

Where a request goes: the route modules of `web/` (one per audience) each call one
method of a service (`services/`), reached through `web/context.Server`; writes go
through the group-commit writer (`services/writes.py`, `store/writer.py`), whose batch
of saves is applied by `services/journal.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import FastAPI
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from examvault.clock import Clock
from examvault.core import Core
from examvault.errors import Unavailable
from examvault.logs import attempt_id_var
from examvault.ratelimit import Limiter
from examvault.settings import Settings
from examvault.store.migrate import upgrade
from examvault.web import admin, candidate, examiner, invigilator, marker, media, ops, problems
from examvault.web.context import Server
from examvault.web.fastpath import FastPath

log = logging.getLogger("examvault.access")

STATIC = resources.files("examvault") / "web" / "static"
# Swagger UI's files, from the pinned `swagger-ui-py` package (FastAPI's default page loads
# them from a CDN; `swagger-ui-bundle` ships Swagger UI 4, which cannot read OpenAPI 3.1).
SWAGGER_UI = resources.files("swagger_ui") / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_PAGE_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-cache"),
]


class RequestMiddleware:
    """Latency by route template, an access log line without query strings, headers."""

    def __init__(self, app: ASGIApp, owner: FastAPI, max_in_flight: int) -> None:
        self.app = app
        self.owner = owner
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        is_page = not scope["path"].startswith(("/api/", "/metrics", "/healthz", "/readyz"))
        if self.in_flight >= self.max_in_flight and scope["path"].startswith("/api/"):
            await self._refuse(scope, receive, send)
            return
        self.in_flight += 1
        token = attempt_id_var.set(None)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers += _SECURITY_HEADERS
                if is_page:
                    headers += _PAGE_HEADERS
                elif not any(name.lower() == b"cache-control" for name, _ in headers):
                    # An API answer is not cached unless its route says so (media do).
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            server: Server | None = getattr(self.owner.state, "server", None)
            if server is not None:
                server.metrics.request_latency.labels(
                    scope["method"], template, str(status)
                ).observe(elapsed)
                if template == "/api/v1/attempts/{attempt_id}/answers" and status == 200:
                    server.metrics.save_window.add(elapsed)
                if status == 503:
                    server.metrics.overload_rejections.inc()
                if status >= 500 and status != 503:
                    server.metrics.server_errors.labels(template).inc()
            if status >= 500 or log.isEnabledFor(logging.DEBUG):
                log.log(
                    logging.WARNING if status >= 500 else logging.DEBUG,
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],  # never the query string: it may hold a token
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )
            attempt_id_var.reset(token)
            self.in_flight -= 1

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        server: Server | None = getattr(self.owner.state, "server", None)
        if server is not None:
            server.metrics.overload_rejections.inc()
        response = problems.problem_response(
            Unavailable("the server is at capacity; retry shortly", retry_after=1)
        )
        await response(scope, receive, send)


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The examvault HTTP app for these settings."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await asyncio.to_thread(upgrade, settings.database())
        core = Core.create(settings, clock)
        await core.start()
        server: Server = core  # what routes may use of it (web/context.py)
        app.state.server = server
        app.state.core = core  # for tests and tools that drive the parts directly
        try:
            yield
        finally:
            await core.stop()

    app = FastAPI(
        title="examvault",
        version="1",
        summary="Exam delivery that never loses an answer",
        lifespan=lifespan,
        docs_url=None,  # served by `_api_docs` from this server's own files
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        # Prometheus (metrics.py) is our telemetry; FastAPI's OpenTelemetry hooks would
        # only add work to every request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.admin_token = settings.resolved_admin_token()[0]
    app.state.candidate_limiter = Limiter(settings.rate_burst, settings.rate_per_second)
    app.state.address_limiter = (
        Limiter(settings.address_rate_burst, settings.address_rate_per_second)
        if settings.address_rate_limit
        else None
    )
    problems.install(app)
    app.include_router(ops.router)
    app.include_router(candidate.router)
    app.include_router(admin.router)
    app.include_router(examiner.router)
    app.include_router(invigilator.router)
    app.include_router(marker.router)
    app.include_router(media.router)
    _pages(app)
    _api_docs(app)
    app.add_middleware(FastPath)  # inside RequestMiddleware: metrics, limits and headers apply
    app.add_middleware(RequestMiddleware, owner=app, max_in_flight=settings.max_in_flight)
    return app


def _pages(app: FastAPI) -> None:
    static_dir = str(STATIC)

    def page(name: str) -> Any:
        async def serve() -> Response:
            return FileResponse(f"{static_dir}/{name}", media_type="text/html")

        return serve

    app.add_api_route("/", page("index.html"), include_in_schema=False, methods=["GET"])
    app.add_api_route("/admin", page("admin.html"), include_in_schema=False, methods=["GET"])
    app.add_api_route("/mark", page("mark.html"), include_in_schema=False, methods=["GET"])
    app.add_api_route(
        "/admin/analytics", page("analytics.html"), include_in_schema=False, methods=["GET"]
    )

    async def service_worker() -> Response:
        return FileResponse(
            f"{static_dir}/sw.js",
            media_type="text/javascript",
            headers={"Service-Worker-Allowed": "/"},
        )

    app.add_api_route("/sw.js", service_worker, include_in_schema=False, methods=["GET"])
    app.mount("/static", StaticFiles(directory=static_dir, check_dir=False), name="static")


_API_DOCS = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>examvault API</title>
<link rel="icon" type="image/png" href="/api/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def _api_docs(app: FastAPI) -> None:
    """The API's documentation page, with every file from this server and the pages' CSP."""

    async def docs() -> Response:
        # Under /api/, so the middleware gives no page headers: the page carries its own.
        headers = {"content-security-policy": CSP, "x-frame-options": "DENY"}
        return Response(_API_DOCS, media_type="text/html", headers=headers)

    app.add_api_route("/api/docs", docs, include_in_schema=False, methods=["GET"])
    app.mount(
        "/api/docs/assets",
        StaticFiles(directory=str(SWAGGER_UI), check_dir=False),
        name="swagger-ui",
    )
