"""The front door: every HTTP request passes here first.

`Front` is the outermost ASGI layer. For every request it keeps the in-flight limit
(503 past it), records latency by route template, adds the security headers and logs
server errors (never a query string: it may hold a token). The three hottest routes —
a save, a submit and the page's `live` poll — it answers itself, straight from the ASGI
messages; everything else goes on to FastAPI (web/app.py and the route modules).

Why the hot routes skip FastAPI: when an exam ends every student saves and submits at
once, and all day every open page polls `live` (10,000 pages: about 2,000 polls/s).
Measured in-process, FastAPI's and Starlette's layers (error middleware, routing, the
request object, the response object, a middleware's send wrapper) cost a save ~60 µs of
the ~210 µs it took, more than the group commit's own share (docs/performance.md). Here
a hot request costs one regex match, the same token check as every route
(`auth.identify`), the same body checks (`body.receive_bytes`, `body.parse_json`), one
service call, and one orjson dump. The FastAPI declarations of these routes stay: they
are the OpenAPI document, and answer every other method on those paths (405).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from examvault import errors
from examvault.logs import attempt_id_var
from examvault.services.candidates import Candidate
from examvault.web import problems
from examvault.web.auth import bearer_token, candidate_of
from examvault.web.body import parse_json, receive_bytes
from examvault.web.context import Server

log = logging.getLogger("examvault.access")

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
# An API answer is not cached unless its route says so (media do).
_NO_STORE = (b"cache-control", b"no-store")
_JSON_HEADERS = [(b"content-type", b"application/json"), *_SECURITY_HEADERS, _NO_STORE]

_HOT_PATH = re.compile(r"^/api/v1/attempts/([^/]+)/(answers|submit|live)\Z")  # `$` allows "\n"
# A path holding a control character (a decoded %0A, say) names no route. Starlette's route
# patterns end in `$`, which matches before a final newline: `.../answers%0A` would reach
# the save route through FastAPI; it is refused here, before any routing.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SAVE_TEMPLATE = "/api/v1/attempts/{attempt_id}/answers"


class _Template:
    """Stands in for the matched route in `scope["route"]`, as FastAPI's router sets it."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


# The service call of each hot route: (server, attempt id, candidate, body) -> the answer,
# or its JSON body already made (`live` makes each attempt's once for all its polls).
Call = Callable[[Server, str, Candidate, Any], Awaitable[dict[str, Any] | bytes]]


class _Hot:
    """One hot route: its template, whether it counts towards the rate limit of saves,
    whether it reads a body (and must have one), and its service call."""

    __slots__ = ("body", "call", "limited", "required", "template")

    def __init__(self, path: str, *, limited: bool, body: bool, required: bool, call: Call):
        self.template = _Template(path)
        self.limited, self.body, self.required, self.call = limited, body, required, call


_HOT: dict[tuple[str, str], _Hot] = {
    ("PUT", "answers"): _Hot(
        _SAVE_TEMPLATE, limited=True, body=True, required=True,
        call=lambda server, aid, who, body: server.attempts.save(who, aid, body),
    ),
    ("POST", "submit"): _Hot(
        "/api/v1/attempts/{attempt_id}/submit", limited=True, body=True, required=False,
        call=lambda server, aid, who, body: server.attempts.submit(who, aid, body),
    ),
    ("GET", "live"): _Hot(  # a cheap read: not counted towards the rate limit of saves
        "/api/v1/attempts/{attempt_id}/live", limited=False, body=False, required=False,
        call=lambda server, aid, who, _: server.examday.live(who, aid),
    ),
}  # fmt: skip


class Front:
    """The outermost layer (see the module's docstring); `inner` is the FastAPI app."""

    def __init__(self, owner: Any, inner: ASGIApp, max_in_flight: int) -> None:
        self.owner = owner  # the FastAPI app: its `state` holds the server once started
        self.inner = inner
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self._observers: dict[tuple[str, str, int], Callable[[float], None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        is_api = path.startswith("/api/")
        if is_api and self.in_flight >= self.max_in_flight:
            refusal = errors.Unavailable("the server is at capacity; retry shortly", 1)
            await self._send(scope, receive, send, problems.problem_response(refusal), True)
            self._count_refusal()
            return
        self.in_flight += 1
        token = attempt_id_var.set(None)
        status = 500
        try:
            match = _HOT_PATH.match(path) if is_api else None
            hot = match and _HOT.get((scope["method"], match.group(2)))
            if _CONTROL.search(path):
                nowhere = problems.problem_response(errors.NotFound("no such route"))
                status = await self._send(scope, receive, send, nowhere, is_api)
            elif match and hot:
                scope["route"] = hot.template
                status = await self._hot(scope, receive, send, hot, match.group(1))
            else:
                status = await self._pass_on(scope, receive, send, is_api)
        finally:
            attempt_id_var.reset(token)
            self.in_flight -= 1
            self._observe(scope, status, time.perf_counter() - started)

    async def _hot(self, scope: Scope, receive: Receive, send: Send, hot: _Hot, aid: str) -> int:
        state = self.owner.state
        server: Server = state.server
        auth = content_type = length = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth = value.decode("latin-1")
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                length = value.decode("latin-1")
        client = scope.get("client")
        try:
            who = await candidate_of(
                state,
                bearer_token(auth or ""),
                client[0] if client else None,
                limited=hot.limited,
            )
            attempt_id_var.set(aid)
            body = None
            if hot.body:
                raw = await receive_bytes(receive, length, server.settings.max_body_bytes)
                body = parse_json(raw, content_type or "", required=hot.required)
            answer = await hot.call(server, aid, who, body)
            if not isinstance(answer, bytes):
                answer = orjson.dumps(answer)
        except errors.ExamvaultError as exc:
            return await self._send(scope, receive, send, problems.problem_response(exc), True)
        except Exception as exc:  # the same last resort as web/problems.py
            response = problems.unexpected(scope["method"], scope["path"], exc)
            return await self._send(scope, receive, send, response, True)
        headers = [(b"content-length", str(len(answer)).encode()), *_JSON_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        return 200

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send, is_api: bool) -> int:
        status = 500
        wrapped = self._with_headers(send, is_api)

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await wrapped(message)

        await self.inner(scope, receive, send_seen)
        return status

    @staticmethod
    def _with_headers(send: Send, is_api: bool) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += _SECURITY_HEADERS
                if not is_api:
                    headers += _PAGE_HEADERS
                elif not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(_NO_STORE)
                message["headers"] = headers
            await send(message)

        return send_with_headers

    async def _send(
        self, scope: Scope, receive: Receive, send: Send, response: Response, is_api: bool
    ) -> int:
        """Send a response made here (a refusal, an error), with the headers every
        response gets; its status."""
        await response(scope, receive, self._with_headers(send, is_api))
        return response.status_code

    def _observe(self, scope: Scope, status: int, elapsed: float) -> None:
        server: Server | None = getattr(self.owner.state, "server", None)
        if server is None:
            return
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        key = (scope["method"], template, status)
        observe = self._observers.get(key)
        if observe is None:  # a labelled child is found once, not per request
            metrics = server.metrics
            observe = metrics.request_latency.labels(key[0], template, str(status)).observe
            self._observers[key] = observe
        observe(elapsed)
        if status == 200 and template == _SAVE_TEMPLATE:
            server.metrics.save_window.add(elapsed)
        elif status >= 500:
            if status == 503:
                server.metrics.overload_rejections.inc()
            else:
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

    def _count_refusal(self) -> None:
        server: Server | None = getattr(self.owner.state, "server", None)
        if server is not None:
            server.metrics.overload_rejections.inc()
