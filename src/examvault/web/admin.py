"""Routes an exam team calls with the admin token (API.md, Exams; API-ADMIN.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from examvault import catalog, results
from examvault.attempts import Close
from examvault.candidates import Register, parse_registration
from examvault.exams import parse_definition
from examvault.web.auth import core_of, require_admin
from examvault.web.body import read_json
from examvault.web.responses import JSON, body_schema
from examvault.web.schemas import Registration, exam_schema

router = APIRouter(prefix="/api/v1", tags=["admin"], default_response_class=JSON)
Admin = Annotated[str, Depends(require_admin)]


@router.post("/exams", openapi_extra=body_schema(exam_schema()))
async def put_exam(request: Request, actor: Admin) -> Any:
    """Create an exam (201), repeat it harmlessly (200), or replace it before any attempt."""
    core = core_of(request)
    doc = await read_json(request, core.settings.max_body_bytes)
    definition = parse_definition(doc)
    status, body = await core.write(catalog.PutExam(definition, actor, core.clock.now()))
    return JSON(body, status_code=status)


@router.get("/exams")
async def list_exams(request: Request, _: Admin) -> Any:
    """Every exam with its counters."""
    return JSON({"exams": await catalog.list_exams(core_of(request))})


@router.get("/exams/{exam_id}")
async def get_exam(request: Request, exam_id: str, _: Admin) -> Any:
    """The definition as stored, with its key."""
    return JSON(await catalog.definition(core_of(request), exam_id))


@router.post("/exams/{exam_id}/candidates", openapi_extra=body_schema(Registration))
async def register(request: Request, exam_id: str, actor: Admin) -> Any:
    """Register candidates, all or none; their tokens are shown only here."""
    core = core_of(request)
    people = parse_registration(await read_json(request, core.settings.max_body_bytes))
    issued = await core.write(Register(exam_id, people, actor, core.clock.now()))
    return JSON({"candidates": issued}, status_code=201)


@router.get("/exams/{exam_id}/candidates")
async def candidate_table(request: Request, exam_id: str, _: Admin) -> Any:
    """What the invigilator's table shows."""
    return JSON({"candidates": await results.candidate_table(core_of(request), exam_id)})


@router.post("/exams/{exam_id}/close")
async def close(request: Request, exam_id: str, actor: Admin) -> Any:
    """Seal every attempt in progress and close the exam; closing again changes nothing."""
    core = core_of(request)
    return JSON(await core.write(Close(core, exam_id, actor, core.clock.now())))


@router.get("/exams/{exam_id}/results")
async def exam_results(request: Request, exam_id: str, _: Admin, format: str = "json") -> Any:
    """One row per registered candidate; `?format=csv` for a spreadsheet."""
    exam, rows = await results.results(core_of(request), exam_id)
    if format == "csv":
        return Response(
            results.results_csv(exam, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{exam_id}-results.csv"'},
        )
    return JSON({"exam_id": exam_id, "results": rows})


@router.get("/exams/{exam_id}/stats")
async def stats(request: Request, exam_id: str, _: Admin) -> Any:
    """Live counters."""
    return JSON(await results.stats(core_of(request), exam_id))


@router.get("/audit")
async def audit(request: Request, _: Admin, exam_id: str | None = None) -> Any:
    """Every admin action, oldest first."""
    return JSON({"entries": await catalog.audit_entries(core_of(request), exam_id)})
