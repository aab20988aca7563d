"""Operations routes at the server's root: liveness, readiness, metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from examvault import errors
from examvault.web.context import server_of
from examvault.web.responses import JSON

router = APIRouter(tags=["operations"], default_response_class=JSON)


@router.get("/healthz")
async def healthz() -> Any:
    """The process is alive."""
    return JSON({"status": "ok"})


@router.get("/readyz")
async def readyz(request: Request) -> Any:
    """The database answers: send traffic here."""
    server = server_of(request)
    try:
        await server.store.ping()
    except Exception as exc:
        raise errors.Unavailable("database unreachable", retry_after=2) from exc
    return JSON({"status": "ready", "database": server.store.dialect, "queue": server.writes.depth})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    server = server_of(request)
    server.metrics.write_queue_depth.set(server.writes.depth)
    return Response(generate_latest(server.metrics.registry), media_type=CONTENT_TYPE_LATEST)
