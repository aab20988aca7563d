"""Routes for examiners (API-ADMIN.md, Analytics and Answer-key changes), admin token only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from examvault import keys, reports
from examvault.web.auth import core_of, require_admin
from examvault.web.body import read_json
from examvault.web.responses import JSON, body_schema

router = APIRouter(prefix="/api/v1", tags=["examiner"], default_response_class=JSON)
Admin = Annotated[str, Depends(require_admin)]


@router.get("/exams/{exam_id}/analytics")
async def analytics(request: Request, exam_id: str, _: Admin) -> Any:
    """Score distribution, reliability and item analysis; provisional while the exam runs."""
    return JSON(await reports.current(core_of(request), exam_id))


@router.put("/exams/{exam_id}/key", openapi_extra=body_schema(keys.KeyChangeDef))
async def change_key(request: Request, exam_id: str, actor: Admin) -> Any:
    """Change keys or drop questions (202, regrading in the background); a repeat is 200."""
    core = core_of(request)
    body = keys.parse_key_change(await read_json(request, core.settings.max_body_bytes))
    status, doc = await core.write(keys.ChangeKey(core, exam_id, body, actor, core.clock.now()))
    return JSON(doc, status_code=status)


@router.get("/exams/{exam_id}/key")
async def key_history(request: Request, exam_id: str, _: Admin) -> Any:
    """Every key version, who changed what and why, and the effect of each regrade."""
    return JSON(await keys.history(core_of(request), exam_id))
