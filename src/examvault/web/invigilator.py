"""Routes of the exam day (docs/api.md, Exam day): invigilators' registration (admin),
actions and announcements (admin, or an invigilator for its own exam and rooms). The
rules live in `services/examday.py`, `services/invigilators.py` and `domain/deadlines.py`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from examvault.services.invigilators import Staff
from examvault.services.markers import Marker
from examvault.web.auth import require_admin, require_staff, require_staff_or_marker
from examvault.web.body import read_json
from examvault.web.context import server_of
from examvault.web.responses import JSON
from examvault.web.schemas import (
    ActionDone,
    ActionIn,
    Announcement,
    AnnouncementIn,
    Announcements,
    InvigilatorRegistration,
    InvigilatorsRegistered,
    StaffMe,
    request_body,
    responses,
)

router = APIRouter(prefix="/api/v1", tags=["invigilator"], default_response_class=JSON)
Admin = Annotated[str, Depends(require_admin)]
StaffMember = Annotated[Staff, Depends(require_staff)]
AnyStaff = Annotated[Staff | Marker, Depends(require_staff_or_marker)]


@router.post(
    "/exams/{exam_id}/invigilators",
    status_code=201,
    response_model=None,
    responses=responses({201: InvigilatorsRegistered}),
    openapi_extra=request_body(InvigilatorRegistration),
)
async def register(request: Request, exam_id: str, actor: Admin) -> Any:
    """Register invigilators, all or none; their tokens are shown only here."""
    server = server_of(request)
    body = await read_json(request, server.settings.max_body_bytes)
    issued = await server.invigilators.register(exam_id, body, actor)
    return JSON({"invigilators": issued}, status_code=201)


@router.post(
    "/exams/{exam_id}/actions",
    response_model=None,
    responses=responses({200: ActionDone}),
    openapi_extra=request_body(ActionIn),
)
async def act(request: Request, exam_id: str, staff: StaffMember) -> Any:
    """Extend, pause, resume, reopen or submit candidates, a room or everyone, in one
    transaction; what was applied, and what was skipped and why."""
    server = server_of(request)
    staff.check_exam(exam_id)
    body = await read_json(request, server.settings.max_body_bytes)
    return JSON(await server.examday.act(exam_id, body, staff))


@router.post(
    "/exams/{exam_id}/announcements",
    status_code=201,
    response_model=None,
    responses=responses({201: Announcement}),
    openapi_extra=request_body(AnnouncementIn),
)
async def announce(request: Request, exam_id: str, staff: StaffMember) -> Any:
    """Tell a room (or the whole exam) something; candidates see it within seconds."""
    server = server_of(request)
    staff.check_exam(exam_id)
    body = await read_json(request, server.settings.max_body_bytes)
    return JSON(await server.examday.announce(exam_id, body, staff), status_code=201)


@router.get(
    "/exams/{exam_id}/announcements",
    response_model=None,
    responses=responses({200: Announcements}),
)
async def announcements(request: Request, exam_id: str, staff: StaffMember) -> Any:
    """The announcements (an invigilator's: of its rooms), oldest first."""
    notes = await server_of(request).examday.announcements(exam_id, staff)
    return JSON({"announcements": notes})


@router.get("/staff/me", response_model=None, responses=responses({200: StaffMe}))
async def staff_me(staff: AnyStaff) -> Any:
    """Who a staff token belongs to, so the invigilator's page can open the one exam (and
    the rooms) an invigilator token reaches without a route that lists every exam, and the
    marking page the one exam (and the questions) a marker token marks."""
    return JSON(staff.describe())
