"""An exam's pictures (docs/api.md, Media): the admin uploads them; whoever may see the
paper reads them.

A picture is sent as its raw bytes, not JSON. Reads are cacheable by the browser that
made them (`private`), for a day, and never change under one name and digest: a changed
picture has another ETag, and the page keeps its own copy for a reload without a network.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from examvault import errors
from examvault.domain import media as rules
from examvault.domain.exams import IDENT_PATTERN
from examvault.services.candidates import Candidate
from examvault.services.invigilators import Staff
from examvault.web.auth import require_admin, require_reader
from examvault.web.body import read_bytes
from examvault.web.context import server_of
from examvault.web.responses import JSON
from examvault.web.schemas import MediumStored, responses

router = APIRouter(prefix="/api/v1", tags=["media"], default_response_class=JSON)
Admin = Annotated[str, Depends(require_admin)]
Reader = Annotated[Staff | Candidate, Depends(require_reader)]
CACHE = "private, max-age=86400, immutable"
_IMAGE = {t: {"schema": {"type": "string", "format": "binary"}} for t in rules.TYPES}
_EXAM_ID = re.compile(IDENT_PATTERN)


def _check_names(exam_id: str, name: str) -> None:
    if not _EXAM_ID.match(exam_id) or not rules.NAME.fullmatch(name):
        raise errors.NotFound(f"no medium {name[:130]!r} of exam {exam_id[:70]!r}")


@router.put(
    "/exams/{exam_id}/media/{name}",
    response_model=None,
    responses=responses({200: MediumStored, 201: MediumStored}),
    openapi_extra={"requestBody": {"required": True, "content": _IMAGE}},
)
async def put_medium(request: Request, exam_id: str, name: str, actor: Admin) -> Any:
    """Store a picture of an exam (201), or find the same bytes already there (200)."""
    _check_names(exam_id, name)
    server = server_of(request)
    data = await read_bytes(request, rules.MAX_BYTES)
    status, body = await server.media.put(
        exam_id, name, request.headers.get("content-type", ""), data, actor
    )
    return JSON(body, status_code=status)


_GET_RESPONSES = responses({})
# An If-None-Match naming the ETag is answered 304 without a body (not listed: the
# document lists responses that have one).
_GET_RESPONSES[200] = {"description": "The picture", "content": _IMAGE}


@router.get("/exams/{exam_id}/media/{name}", response_model=None, responses=_GET_RESPONSES)
async def get_medium(request: Request, exam_id: str, name: str, reader: Reader) -> Any:
    """A picture, for the admin, the exam's invigilators and its candidates once started."""
    _check_names(exam_id, name)
    candidate_id = None
    if isinstance(reader, Candidate):
        if reader.exam_id != exam_id:
            raise errors.NotFound(f"no exam {exam_id!r}")  # never reveal another paper
        candidate_id = reader.id
    else:
        reader.check_exam(exam_id)
    medium = await server_of(request).media.get(exam_id, name, candidate_id)
    etag = f'"{medium.sha256}"'
    headers = {"Cache-Control": CACHE, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(medium.data, media_type=medium.content_type, headers=headers)
