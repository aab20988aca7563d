"""Routes of marking (docs/api.md, Marking): markers' registration (admin), the scripts
a marker reads and the marks it gives (a marker for its own exam and questions, or the
admin). The rules live in `services/markers.py`, `services/marks.py` and
`domain/scripts.py`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from examvault.services.markers import Marker
from examvault.services.marks import DEFAULT_LIMIT, MAX_LIMIT
from examvault.web.auth import require_admin, require_marker
from examvault.web.body import read_json
from examvault.web.context import server_of
from examvault.web.responses import JSON
from examvault.web.schemas import (
    MarkerRegistration,
    MarkersRegistered,
    MarksApplied,
    MarksIn,
    Scripts,
    request_body,
    responses,
)

router = APIRouter(prefix="/api/v1", tags=["marking"], default_response_class=JSON)
Admin = Annotated[str, Depends(require_admin)]
MarkerOrAdmin = Annotated[Marker, Depends(require_marker)]


@router.post(
    "/exams/{exam_id}/markers",
    status_code=201,
    response_model=None,
    responses=responses({201: MarkersRegistered}),
    openapi_extra=request_body(MarkerRegistration),
)
async def register(request: Request, exam_id: str, actor: Admin) -> Any:
    """Register markers, all or none; their tokens are shown only here."""
    server = server_of(request)
    body = await read_json(request, server.settings.max_body_bytes)
    issued = await server.markers.register(exam_id, body, actor)
    return JSON({"markers": issued}, status_code=201)


@router.get("/exams/{exam_id}/scripts", response_model=None, responses=responses({200: Scripts}))
async def scripts(
    request: Request,
    exam_id: str,
    who: MarkerOrAdmin,
    question_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Literal["unmarked", "marked", "all"] = "unmarked",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    after: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """A page of anonymous scripts in script-id order, with the questions they answer."""
    return JSON(
        await server_of(request).marks.scripts(
            exam_id, who, question_id=question_id, status=status, limit=limit, after=after
        )
    )


@router.put(
    "/exams/{exam_id}/marks",
    response_model=None,
    responses=responses({200: MarksApplied}),
    openapi_extra=request_body(MarksIn),
)
async def marks(request: Request, exam_id: str, who: MarkerOrAdmin) -> Any:
    """Give or replace marks, all or none; each moves its attempt's totals at once."""
    server = server_of(request)
    body = await read_json(request, server.settings.max_body_bytes)
    return JSON(await server.marks.mark(exam_id, who, body))
