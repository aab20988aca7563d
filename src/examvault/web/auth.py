"""Who is calling: the admin, or a candidate (docs/api.md, Authentication).

A missing or unknown token is 401; a valid token of the wrong kind is 403. The admin
token is compared in constant time; candidate tokens are found by their hash. Rate
limits apply per candidate token once it is known to be one.
"""

from __future__ import annotations

import functools
import hmac
from typing import Annotated, Any

from fastapi import Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import State
from starlette.requests import Request

from examvault import errors
from examvault.services.candidates import Candidate
from examvault.services.invigilators import ADMIN, Staff
from examvault.services.markers import ADMIN_MARKER, Marker

# These only declare the two bearer schemes in the OpenAPI document (so that clients and
# schema-driven tools know which routes need which token); the token itself is read and
# checked below, in docs/api.md's order.
_ADMIN_SCHEME = HTTPBearer(
    scheme_name="admin", description="The admin token (EXAMVAULT_ADMIN_TOKEN)", auto_error=False
)
_CANDIDATE_SCHEME = HTTPBearer(
    scheme_name="candidate",
    description="A candidate token, returned once at registration",
    auto_error=False,
)
AdminScheme = Annotated[HTTPAuthorizationCredentials | None, Security(_ADMIN_SCHEME)]
_INVIGILATOR_SCHEME = HTTPBearer(
    scheme_name="invigilator",
    description="An invigilator token, returned once at its registration",
    auto_error=False,
)
InvigilatorScheme = Annotated[HTTPAuthorizationCredentials | None, Security(_INVIGILATOR_SCHEME)]
CandidateScheme = Annotated[HTTPAuthorizationCredentials | None, Security(_CANDIDATE_SCHEME)]
_MARKER_SCHEME = HTTPBearer(
    scheme_name="marker",
    description="A marker token, returned once at its registration",
    auto_error=False,
)
MarkerScheme = Annotated[HTTPAuthorizationCredentials | None, Security(_MARKER_SCHEME)]


def bearer(request: Request) -> str | None:
    return bearer_token(request.headers.get("authorization", ""))


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer …` header value, or None."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _host(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


# Where each kind of token is looked up (a service of web/context.Server);
# the admin's token is compared first, without a lookup.
_DIRECTORIES = {"candidate": "directory", "invigilator": "invigilators", "marker": "markers"}
_NAMES = {"admin": "the admin", "candidate": "a candidate", "invigilator": "an invigilator",
          "marker": "a marker"}  # fmt: skip


@functools.cache
def _lookup_order(allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The allowed kinds first: the common request costs one lookup."""
    return tuple(sorted(_DIRECTORIES, key=lambda kind: kind not in allowed))


async def _holder(request: Request, allowed: tuple[str, ...], what: str) -> tuple[str, Any]:
    return await identify(request.app.state, bearer(request), _host(request), allowed, what)


async def identify(
    state: State, token: str | None, host: str | None, allowed: tuple[str, ...], what: str
) -> tuple[str, Any]:
    """The kind and holder of a request's token when its kind is `allowed`.

    Every route's check is this one, in docs/api.md's order: the address's rate, then 401
    without a token or with one nobody holds, 403 with a token of a kind the route does
    not take (a candidate on an admin route, a marker anywhere but its two routes). It
    takes the token and address rather than a request so that web/front.py's hot routes
    make the same check without building one.
    """
    limiter = state.address_limiter
    if limiter is not None and host is not None:
        wait = limiter.check(host)
        if wait:
            raise errors.RateLimited(wait)
    if token is None:
        raise errors.Unauthorized(f"send Authorization: Bearer <{what}>")
    expected: str = state.admin_token
    kind: str | None = "admin" if hmac.compare_digest(token.encode(), expected.encode()) else None
    holder: Any = None
    if kind is None:
        server = state.server
        for name in _lookup_order(allowed):
            holder = await getattr(server, _DIRECTORIES[name]).find(token)
            if holder is not None:
                kind = name
                break
    if kind is None:
        raise errors.Unauthorized("unknown token")
    if kind not in allowed:
        raise errors.Forbidden(f"{_NAMES[kind]} token cannot use this route")
    return kind, holder


async def require_admin(request: Request, _: AdminScheme) -> str:
    """The actor name of an admin request; raises 401/403 otherwise."""
    await _holder(request, ("admin",), "admin token")
    return "admin"


async def require_marker(request: Request, _: AdminScheme, __: MarkerScheme) -> Marker:
    """The admin or a marker (the route checks the exam and questions); 401/403 otherwise."""
    kind, holder = await _holder(request, ("admin", "marker"), "admin or marker token")
    return ADMIN_MARKER if kind == "admin" else holder


async def require_staff(request: Request, _: AdminScheme, __: InvigilatorScheme) -> Staff:
    """The admin or an invigilator (docs/api.md, Exam day); raises 401/403 otherwise. The
    route checks the exam (an invigilator acts on its own exam only, else 403)."""
    kind, holder = await _holder(request, ("admin", "invigilator"), "admin or invigilator token")
    return ADMIN if kind == "admin" else holder


async def require_reader(
    request: Request, _: AdminScheme, __: InvigilatorScheme, ___: CandidateScheme
) -> Staff | Candidate:
    """Whoever may read a paper's media: the admin, an invigilator, or a candidate (the
    route checks the exam). A candidate's reads are not counted towards the rate limit
    of saves: the page fetches every picture at the start."""
    kind, holder = await _holder(request, ("admin", "candidate", "invigilator"), "token")
    return ADMIN if kind == "admin" else holder


async def require_staff_or_marker(
    request: Request, _: AdminScheme, __: InvigilatorScheme, ___: MarkerScheme
) -> Staff | Marker:
    """The admin, an invigilator or a marker: only for `GET /staff/me`, where a page
    learns what its token reaches (a marker's page learns its one exam); 401/403 otherwise."""
    kind, holder = await _holder(
        request, ("admin", "invigilator", "marker"), "admin, invigilator or marker token"
    )
    return ADMIN if kind == "admin" else holder


async def require_candidate(request: Request, _: CandidateScheme) -> Candidate:
    """The candidate of a request; raises 401/403/429 otherwise."""
    return await _candidate(request, limited=True)


async def require_candidate_reader(request: Request, _: CandidateScheme) -> Candidate:
    """The candidate of a cheap read (`live`): not counted towards the rate limit of saves."""
    return await _candidate(request, limited=False)


async def _candidate(request: Request, *, limited: bool) -> Candidate:
    return await candidate_of(request.app.state, bearer(request), _host(request), limited=limited)


async def candidate_of(
    state: State, token: str | None, host: str | None, *, limited: bool
) -> Candidate:
    """The candidate holding `token` (401/403), counted towards its rate if `limited` (429)."""
    _, holder = await identify(state, token, host, ("candidate",), "candidate token")
    candidate: Candidate = holder
    wait = limited and state.candidate_limiter.check(f"{candidate.exam_id}\0{candidate.id}")
    if wait:
        raise errors.RateLimited(wait)
    return candidate
