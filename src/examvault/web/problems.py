"""One place that turns every failure into application/problem+json (RFC 9457).

Domain errors carry their status; the framework's own 404, 405 and validation errors
are translated here too, and anything unexpected becomes a 500 without a stack trace
(logged on the server instead). Database outages become 503 with Retry-After, because
retrying is exactly what helps.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from examvault import errors
from examvault.store.engine import is_unreachable

log = logging.getLogger("examvault.web")

PROBLEM = "application/problem+json"


def problem_response(error: errors.ExamvaultError) -> Response:
    body: dict[str, Any] = {
        "type": error.type,
        "title": error.title(),
        "status": error.status,
        "detail": error.detail,
    }
    body.update(error.extra)
    try:
        content = orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError: e.g. a lone surrogate copied from the input
        content = json.dumps(body, ensure_ascii=True, default=str).encode()
    return Response(
        content, status_code=error.status, media_type=PROBLEM,
        headers=error.response_headers(),
    )  # fmt: skip


def _from_http(exc: HTTPException) -> errors.ExamvaultError:
    if exc.status_code == 404:
        return errors.NotFound("no such route")
    if exc.status_code == 405:
        return errors.MethodNotAllowed("this route does not take that method")
    error = errors.ExamvaultError(str(exc.detail))
    error.status = exc.status_code  # type: ignore[misc]
    return error


def unexpected(method: str, path: str, exc: Exception) -> Response:
    """A failure no handler expected: 503 if the database is down, else a logged 500."""
    if is_unreachable(exc):
        return problem_response(errors.Unavailable("database unavailable; retry", 2))
    if isinstance(exc, ClientDisconnect):  # a body read outside web/body.py: not our error
        return problem_response(errors.ClientClosed())
    log.exception("unhandled error on %s %s", method, path)
    return problem_response(errors.ExamvaultError("internal error; it has been logged"))


def install(app: FastAPI) -> None:
    """Register the handlers on the app."""

    async def on_domain(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.ExamvaultError)
        return problem_response(exc)

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        response = problem_response(_from_http(exc))
        if exc.status_code == 405 and exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(
            errors.InvalidBody(
                [{"loc": list(e.get("loc", [])), "msg": e.get("msg", "")} for e in exc.errors()]
            )
        )

    async def on_anything(request: Request, exc: Exception) -> Response:
        return unexpected(request.method, request.url.path, exc)

    app.add_exception_handler(errors.ExamvaultError, on_domain)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_anything)
