"""Operations routes at the server's root: liveness, readiness, metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import PlainTextResponse, Response

from examvault import errors
from examvault.web.context import server_of
from examvault.web.responses import JSON
from examvault.web.schemas import Health, Problem, Ready, inline_schema

router = APIRouter(tags=["operations"], default_response_class=JSON)


def _ok(model: Any, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": inline_schema(model)}},
    }


_READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _ok(Ready, "The database answers"),
    503: {
        "description": "The database does not answer; see Retry-After",
        "content": {"application/problem+json": {"schema": inline_schema(Problem)}},
        "headers": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1}}},
    },
}
_METRICS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text exposition format",
        "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
    }
}


@router.get("/healthz", response_model=None, responses={200: _ok(Health, "The process is alive")})
async def healthz() -> Any:
    """The process is alive."""
    return JSON({"status": "ok"})


@router.get("/readyz", response_model=None, responses=_READY_RESPONSES)
async def readyz(request: Request) -> Any:
    """The database answers: send traffic here."""
    server = server_of(request)
    try:
        await server.store.ping()
    except Exception as exc:
        raise errors.Unavailable("database unreachable", retry_after=2) from exc
    return JSON({"status": "ready", "database": server.store.dialect, "queue": server.writes.depth})


@router.get(
    "/metrics", response_model=None, response_class=PlainTextResponse, responses=_METRICS_RESPONSES
)
async def metrics(request: Request) -> Response:
    """Prometheus text format."""
    server = server_of(request)
    server.metrics.write_queue_depth.set(server.writes.depth)
    return Response(generate_latest(server.metrics.registry), media_type=CONTENT_TYPE_LATEST)
