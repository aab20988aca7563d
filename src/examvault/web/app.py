"""The ASGI app: routes, error handling, the front door, and the lifespan.

`create_app(settings)` is the only way an app is made. The lifespan migrates the
database, builds the `Core` (store, writer, caches, background tasks) and stops it
cleanly: queued writes are committed before the process exits.

Where a request goes: first `web/front.py` (limits, metrics, headers; it answers the
save, submit and `live` routes itself), then FastAPI: the route modules of `web/` (one
per audience) each call one method of a service (`services/`), reached through
`web/context.Server`; writes go through the group-commit writer (`services/writes.py`,
`store/writer.py`), whose batch of saves is applied by `services/journal.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import FastAPI
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from examvault.clock import Clock
from examvault.core import Core
from examvault.ratelimit import Limiter
from examvault.settings import Settings
from examvault.store.migrate import upgrade
from examvault.web import admin, candidate, examiner, invigilator, marker, media, ops, problems
from examvault.web.context import Server
from examvault.web.front import CSP, Front

STATIC = resources.files("examvault") / "web" / "static"
# Swagger UI's files, from the pinned `swagger-ui-py` package (FastAPI's default page loads
# them from a CDN; `swagger-ui-bundle` ships Swagger UI 4, which cannot read OpenAPI 3.1).
SWAGGER_UI = resources.files("swagger_ui") / "static"


class ExamvaultApp(FastAPI):
    """FastAPI with web/front.Front before everything else, middleware included."""

    front: Front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.front(scope, receive, send)


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

    app = ExamvaultApp(
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
    app.front = Front(app, functools.partial(FastAPI.__call__, app), settings.max_in_flight)
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
