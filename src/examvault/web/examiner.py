"""Routes for examiners (docs/api.md, Analytics and Answer-key changes), admin token only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from examvault.domain import key_changes
from examvault.web.auth import require_admin
from examvault.web.body import read_json
from examvault.web.context import server_of
from examvault.web.responses import JSON, body_schema

router = APIRouter(prefix="/api/v1", tags=["examiner"], default_response_class=JSON)
Admin = Annotated[str, Depends(require_admin)]


@router.get("/exams/{exam_id}/analytics")
async def analytics(request: Request, exam_id: str, _: Admin) -> Any:
    """Score distribution, reliability and item analysis; provisional while the exam runs."""
    return JSON(await server_of(request).analytics.current(exam_id))


@router.put("/exams/{exam_id}/key", openapi_extra=body_schema(key_changes.KeyChangeDef))
async def change_key(request: Request, exam_id: str, actor: Admin) -> Any:
    """Change keys or drop questions (202, regrading in the background); a repeat is 200."""
    server = server_of(request)
    body = key_changes.parse_key_change(await read_json(request, server.settings.max_body_bytes))
    status, doc = await server.keys.change(exam_id, body, actor)
    return JSON(doc, status_code=status)


@router.get("/exams/{exam_id}/key")
async def key_history(request: Request, exam_id: str, _: Admin) -> Any:
    """Every key version, who changed what and why, and the effect of each regrade."""
    return JSON(await server_of(request).keys.history(exam_id))
