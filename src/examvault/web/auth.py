"""Who is calling: the admin, or a candidate (docs/api.md, Authentication).

A missing or unknown token is 401; a valid token of the wrong kind is 403. The admin
token is compared in constant time; candidate tokens are found by their hash. Rate
limits apply per candidate token once it is known to be one.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request

from examvault import errors
from examvault.services.candidates import Candidate
from examvault.services.invigilators import ADMIN, Staff
from examvault.services.markers import ADMIN_MARKER, Marker
from examvault.web.context import server_of

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
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def _is_admin(request: Request, token: str) -> bool:
    expected: str = request.app.state.admin_token
    return hmac.compare_digest(token.encode(), expected.encode())


def _check_address(request: Request) -> None:
    limiter = request.app.state.address_limiter
    if limiter is not None and request.client is not None:
        wait = limiter.check(request.client.host)
        if wait:
            raise errors.RateLimited(wait)


async def require_admin(request: Request, _: AdminScheme) -> str:
    """The actor name of an admin request; raises 401/403 otherwise."""
    _check_address(request)
    token = bearer(request)
    if token is None:
        raise errors.Unauthorized("send Authorization: Bearer <admin token>")
    if _is_admin(request, token):
        return "admin"
    server = server_of(request)
    if await server.directory.find(token) is not None:
        raise errors.Forbidden("a candidate token cannot use admin routes")
    if await server.invigilators.find(token) is not None:
        raise errors.Forbidden("an invigilator token cannot use this route")
    await _refuse_marker(request, token)
    raise errors.Unauthorized("unknown token")


async def _refuse_marker(request: Request, token: str) -> None:
    """403 for a marker token on a route that is not a marker's (docs/api.md, Marking)."""
    if await server_of(request).markers.find(token) is not None:
        raise errors.Forbidden("a marker token may only read scripts and give marks")


async def require_marker(request: Request, _: AdminScheme, __: MarkerScheme) -> Marker:
    """The admin or a marker (the route checks the exam and questions); 401/403 otherwise."""
    _check_address(request)
    token = bearer(request)
    if token is None:
        raise errors.Unauthorized("send Authorization: Bearer <admin or marker token>")
    if _is_admin(request, token):
        return ADMIN_MARKER
    server = server_of(request)
    marker = await server.markers.find(token)
    if marker is not None:
        return marker
    if await server.directory.find(token) is not None:
        raise errors.Forbidden("a candidate token cannot use this route")
    if await server.invigilators.find(token) is not None:
        raise errors.Forbidden("an invigilator token cannot use this route")
    raise errors.Unauthorized("unknown token")


async def require_staff(request: Request, _: AdminScheme, __: InvigilatorScheme) -> Staff:
    """The admin or an invigilator (docs/api.md, Exam day); raises 401/403 otherwise. The
    route checks the exam (an invigilator acts on its own exam only, else 403)."""
    _check_address(request)
    token = bearer(request)
    if token is None:
        raise errors.Unauthorized("send Authorization: Bearer <admin or invigilator token>")
    if _is_admin(request, token):
        return ADMIN
    server = server_of(request)
    staff = await server.invigilators.find(token)
    if staff is not None:
        return staff
    if await server.directory.find(token) is not None:
        raise errors.Forbidden("a candidate token cannot use this route")
    await _refuse_marker(request, token)
    raise errors.Unauthorized("unknown token")


async def require_reader(
    request: Request, _: AdminScheme, __: InvigilatorScheme, ___: CandidateScheme
) -> Staff | Candidate:
    """Whoever may read a paper's media: the admin, an invigilator, or a candidate (the
    route checks the exam). A candidate's reads are not counted towards the rate limit
    of saves: the page fetches every picture at the start."""
    _check_address(request)
    token = bearer(request)
    if token is None:
        raise errors.Unauthorized("send Authorization: Bearer <token>")
    if _is_admin(request, token):
        return ADMIN
    server = server_of(request)
    candidate = await server.directory.find(token)
    if candidate is not None:
        return candidate
    staff = await server.invigilators.find(token)
    if staff is not None:
        return staff
    if await server.markers.find(token) is not None:
        raise errors.Forbidden("a marker token cannot read an exam's media")
    raise errors.Unauthorized("unknown token")


async def require_staff_or_marker(
    request: Request, _: AdminScheme, __: InvigilatorScheme, ___: MarkerScheme
) -> Staff | Marker:
    """The admin, an invigilator or a marker: only for `GET /staff/me`, where a page
    learns what its token reaches (a marker's page learns its one exam); 401/403 otherwise."""
    _check_address(request)
    token = bearer(request)
    if token is None:
        raise errors.Unauthorized("send Authorization: Bearer <admin, invigilator or marker token>")
    if _is_admin(request, token):
        return ADMIN
    server = server_of(request)
    staff = await server.invigilators.find(token)
    if staff is not None:
        return staff
    marker = await server.markers.find(token)
    if marker is not None:
        return marker
    if await server.directory.find(token) is not None:
        raise errors.Forbidden("a candidate token cannot use this route")
    raise errors.Unauthorized("unknown token")


async def require_candidate(request: Request, _: CandidateScheme) -> Candidate:
    """The candidate of a request; raises 401/403/429 otherwise."""
    return await _candidate(request, limited=True)


async def require_candidate_reader(request: Request, _: CandidateScheme) -> Candidate:
    """The candidate of a cheap read (`live`): not counted towards the rate limit of saves."""
    return await _candidate(request, limited=False)


async def _candidate(request: Request, *, limited: bool) -> Candidate:
    _check_address(request)
    token = bearer(request)
    if token is None:
        raise errors.Unauthorized("send Authorization: Bearer <candidate token>")
    if _is_admin(request, token):
        raise errors.Forbidden("the admin token cannot act as a candidate")
    server = server_of(request)
    candidate = await server.directory.find(token)
    if candidate is None:
        if await server.invigilators.find(token) is not None:
            raise errors.Forbidden("an invigilator token cannot act as a candidate")
        await _refuse_marker(request, token)
        raise errors.Unauthorized("unknown token")
    wait = limited and request.app.state.candidate_limiter.check(
        f"{candidate.exam_id}\0{candidate.id}"
    )
    if wait:
        raise errors.RateLimited(wait)
    return candidate
