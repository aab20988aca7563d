"""Routes a candidate's client calls (docs/api.md, Attempts). Each parses, calls one domain
method, and serialises; every rule lives in `services/attempts.py`,
`services/journal.py` and `domain/`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from examvault.logs import attempt_id_var
from examvault.services.candidates import Candidate
from examvault.web.auth import require_candidate, require_candidate_reader
from examvault.web.body import read_json
from examvault.web.context import server_of
from examvault.web.responses import JSON
from examvault.web.schemas import (
    AttemptView,
    Live,
    MeView,
    Result,
    Review,
    SaveBody,
    Saved,
    SubmitBody,
    Submitted,
    request_body,
    responses,
)

router = APIRouter(prefix="/api/v1", tags=["candidate"], default_response_class=JSON)
# Responses are written by the routes (JSON) and documented by `responses=`, so no
# response model is inferred from the return annotation (`response_model=None`).
Me = Annotated[Candidate, Depends(require_candidate)]
Reader = Annotated[Candidate, Depends(require_candidate_reader)]


@router.get("/me", response_model=None, responses=responses({200: MeView}))
async def me(request: Request, candidate: Me) -> Any:
    """Who this token belongs to, the exam's outline, and the attempt if any."""
    return JSON(await server_of(request).attempts.me(candidate))


@router.post(
    "/exams/{exam_id}/attempts",
    response_model=None,
    responses=responses({200: AttemptView, 201: AttemptView}),
)
async def start(request: Request, exam_id: str, candidate: Me) -> Any:
    """Start the attempt (201) or resume it (200)."""
    status, view = await server_of(request).attempts.start(candidate, exam_id)
    attempt_id_var.set(view["attempt_id"])
    return JSON(view, status_code=status)


@router.get("/attempts/{attempt_id}", response_model=None, responses=responses({200: AttemptView}))
async def view(request: Request, attempt_id: str, candidate: Me) -> Any:
    """The attempt view: questions in this candidate's order and the stored answers."""
    attempt_id_var.set(attempt_id)
    return JSON(await server_of(request).attempts.view(candidate, attempt_id))


# Save, submit and live are answered by web/front.py before FastAPI is reached, with the
# same checks and service calls; these declarations are their OpenAPI document.
# tests/integration/test_front.py drives both and checks they answer alike.


@router.put(
    "/attempts/{attempt_id}/answers",
    response_model=None,
    responses=responses({200: Saved}),
    openapi_extra=request_body(SaveBody),
)
async def save(request: Request, attempt_id: str, candidate: Me) -> Any:
    """Store answers; the 200 is sent only once they are durable."""
    attempt_id_var.set(attempt_id)
    server = server_of(request)
    body = await read_json(request, server.settings.max_body_bytes)
    return JSON(await server.attempts.save(candidate, attempt_id, body))


@router.post(
    "/attempts/{attempt_id}/submit",
    response_model=None,
    responses=responses({200: Submitted}),
    openapi_extra=request_body(SubmitBody, required=False),
)
async def submit(request: Request, attempt_id: str, candidate: Me) -> Any:
    """Seal the attempt, with the last unsent answers if any; idempotent."""
    attempt_id_var.set(attempt_id)
    server = server_of(request)
    body = await read_json(request, server.settings.max_body_bytes, required=False)
    return JSON(await server.attempts.submit(candidate, attempt_id, body))


@router.get(
    "/attempts/{attempt_id}/result", response_model=None, responses=responses({200: Result})
)
async def result(request: Request, attempt_id: str, candidate: Me) -> Any:
    """The result, once released."""
    attempt_id_var.set(attempt_id)
    return JSON(await server_of(request).attempts.result(candidate, attempt_id))


@router.get(
    "/attempts/{attempt_id}/review", response_model=None, responses=responses({200: Review})
)
async def review(request: Request, attempt_id: str, candidate: Me) -> Any:
    """The released attempt question by question, as the exam's `review` setting allows."""
    attempt_id_var.set(attempt_id)
    return JSON(await server_of(request).attempts.review(candidate, attempt_id))


@router.get("/attempts/{attempt_id}/live", response_model=None, responses=responses({200: Live}))
async def live(request: Request, attempt_id: str, candidate: Reader) -> Any:
    """The page's poll (every 5–10 s): status, pause, deadline, time left, announcements.
    No write, not counted towards the rate limit of saves."""
    attempt_id_var.set(attempt_id)
    return JSON(await server_of(request).examday.live(candidate, attempt_id))
