"""The three hottest routes, save, submit and the page's `live` poll, answered without
FastAPI's machinery.

When an exam ends every student saves and submits at once, and all day every open page
polls `live` (10,000 pages: about 2,000 polls/s). In the profile, FastAPI's routing,
dependency solving and exception middleware cost about as much as the save itself. A
request that matches one of these routes and methods is answered here, by the same
functions the FastAPI routes call (`candidate.save_answers`, `candidate.submit_attempt`,
`candidate.live`, `auth.require_candidate`, `auth.require_candidate_reader`), with the
same errors; the FastAPI declarations stay as the OpenAPI document and for every other
method on those paths.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from examvault import errors
from examvault.services.candidates import Candidate
from examvault.web import candidate, problems
from examvault.web.auth import require_candidate, require_candidate_reader

Handler = Callable[[Request, str, Candidate], Awaitable[Response]]
Auth = Callable[[Request, None], Awaitable[Candidate]]
_PATH = re.compile(r"^/api/v1/attempts/([^/]+)/(answers|submit|live)\Z")  # `$` would allow a "\n"
# A path holding a control character (a decoded %0A, say) names no route. Starlette's route
# patterns end in `$`, which matches before a final newline: `.../answers%0A` would reach
# the save handler through FastAPI as well; it is refused here, before any routing.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class _Template:
    """Stands in for the matched route, so latency metrics keep their route label."""

    path: str


_ROUTES: dict[tuple[str, str], tuple[_Template, Auth, Handler]] = {
    ("PUT", "answers"): (
        _Template("/api/v1/attempts/{attempt_id}/answers"),
        require_candidate,
        candidate.save_answers,
    ),
    ("POST", "submit"): (
        _Template("/api/v1/attempts/{attempt_id}/submit"),
        require_candidate,
        candidate.submit_attempt,
    ),
    ("GET", "live"): (  # not counted towards the rate limit of saves
        _Template("/api/v1/attempts/{attempt_id}/live"),
        require_candidate_reader,
        candidate.live,
    ),
}


class FastPath:
    """ASGI middleware placed just inside `RequestMiddleware`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if _CONTROL.search(scope["path"]):
                response = problems.problem_response(errors.NotFound("no such route"))
                await response(scope, receive, send)
                return
            match = _PATH.match(scope["path"])
            entry = match and _ROUTES.get((scope["method"], match.group(2)))
            if match and entry:
                template, auth, handler = entry
                scope["route"] = template
                request = Request(scope, receive)
                try:
                    who = await auth(request, None)
                    response = await handler(request, match.group(1), who)
                except errors.ExamvaultError as exc:
                    response = problems.problem_response(exc)
                except Exception as exc:  # the same last resort as web/problems.py
                    response = problems.unexpected(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
