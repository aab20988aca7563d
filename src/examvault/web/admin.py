"""Routes an exam team calls with the admin token (docs/api.md, Exams; docs/api.md)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from examvault import errors, formats
from examvault.domain.exams import parse_definition
from examvault.domain.results import results_csv
from examvault.services import audit as audit_trail
from examvault.services.candidates import parse_registration
from examvault.services.invigilators import Staff
from examvault.web.auth import require_admin, require_staff
from examvault.web.body import read_bytes, read_json
from examvault.web.context import server_of
from examvault.web.responses import JSON
from examvault.web.schemas import (
    Audit,
    CandidateChange,
    CandidateRow,
    CandidateTable,
    Closed,
    ExamList,
    ExamVersion,
    ImportAnswer,
    Imported,
    ImportForm,
    Registered,
    Registration,
    Results,
    Stats,
    StoredExam,
    exam_schema,
    request_body,
    responses,
)

router = APIRouter(prefix="/api/v1", tags=["admin"], default_response_class=JSON)
Admin = Annotated[str, Depends(require_admin)]
# The admin, or an invigilator for its own exam and rooms (docs/api.md, Exam day).
StaffMember = Annotated[Staff, Depends(require_staff)]
# Responses are written by the routes and documented by `responses=` (see candidate.py).
_RESULTS = responses({200: Results})
_RESULTS[200]["content"]["text/csv"] = {"schema": {"type": "string"}}
_EXPORT = responses({})
_EXPORT[200] = {
    "description": "The exam as a file (QTI, and JSON/YAML with pictures, as a zip)",
    "content": {
        "application/json": {"schema": {"type": "object"}},
        "application/yaml": {"schema": {"type": "object"}},
        "application/zip": {"schema": {"type": "string", "format": "binary"}},
        "application/xml": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string"}},
    },
}


@router.post(
    "/exams",
    response_model=None,
    responses=responses({200: ExamVersion, 201: ExamVersion}),
    openapi_extra=request_body(exam_schema()),
)
async def put_exam(request: Request, actor: Admin) -> Any:
    """Create an exam (201), repeat it harmlessly (200), or replace it before any attempt."""
    server = server_of(request)
    definition = parse_definition(await read_json(request, server.settings.max_exam_body_bytes))
    status, body = await server.exams.put(definition, actor)
    return JSON(body, status_code=status)


@router.get("/exams", response_model=None, responses=responses({200: ExamList}))
async def list_exams(request: Request, _: Admin) -> Any:
    """Every exam with its counters."""
    return JSON({"exams": await server_of(request).exams.listing()})


@router.get("/exams/{exam_id}", response_model=None, responses=responses({200: StoredExam}))
async def get_exam(request: Request, exam_id: str, staff: StaffMember) -> Any:
    """The definition as stored, with its key (an invigilator's: without it)."""
    staff.check_exam(exam_id)
    if not staff.is_admin:
        return JSON(await server_of(request).exams.definition_without_key(exam_id))
    return JSON(await server_of(request).exams.definition(exam_id))


@router.post(
    "/exams/{exam_id}/candidates",
    status_code=201,
    response_model=None,
    responses=responses({201: Registered}),
    openapi_extra=request_body(Registration),
)
async def register(request: Request, exam_id: str, actor: Admin) -> Any:
    """Register candidates, all or none; their tokens are shown only here."""
    server = server_of(request)
    people = parse_registration(await read_json(request, server.settings.max_body_bytes))
    issued = await server.directory.register(exam_id, people, actor)
    return JSON({"candidates": issued}, status_code=201)


@router.get(
    "/exams/{exam_id}/candidates", response_model=None, responses=responses({200: CandidateTable})
)
async def candidate_table(
    request: Request, exam_id: str, staff: StaffMember, room: str | None = None
) -> Any:
    """What the invigilator's table shows; `?room=` keeps one room's rows. An invigilator
    sees its rooms' rows only, without scores."""
    staff.check_exam(exam_id)
    rooms = staff.rooms
    if room is not None:
        rooms = (room,) if staff.covers(room) else ()
    rows = await server_of(request).results.candidates(exam_id, rooms=rooms, scores=staff.is_admin)
    return JSON({"candidates": rows})


@router.patch(
    "/exams/{exam_id}/candidates/{candidate_id}",
    response_model=None,
    responses=responses({200: CandidateRow}),
    openapi_extra=request_body(CandidateChange),
)
async def change_candidate(request: Request, exam_id: str, candidate_id: str, actor: Admin) -> Any:
    """Change a candidate's room or extra time; an attempt in progress moves at once."""
    server = server_of(request)
    body = await read_json(request, server.settings.max_body_bytes)
    await server.directory.change(exam_id, candidate_id, body, actor)
    rows = await server.results.candidates(exam_id, candidate_ids=[candidate_id])
    return JSON(rows[0])


@router.post("/exams/{exam_id}/close", response_model=None, responses=responses({200: Closed}))
async def close(request: Request, exam_id: str, actor: Admin) -> Any:
    """Seal every attempt in progress and close the exam; closing again changes nothing."""
    return JSON(await server_of(request).exams.close(exam_id, actor))


@router.get(
    "/exams/{exam_id}/results",
    response_model=None,
    responses=_RESULTS,
)
async def exam_results(
    request: Request, exam_id: str, _: Admin, format: Literal["json", "csv"] = "json"
) -> Any:
    """One row per registered candidate; `?format=csv` for a spreadsheet."""
    exam, rows = await server_of(request).results.table(exam_id)
    if format == "csv":
        return Response(
            results_csv(exam, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{exam_id}-results.csv"'},
        )
    return JSON({"exam_id": exam_id, "results": rows})


@router.get("/exams/{exam_id}/stats", response_model=None, responses=responses({200: Stats}))
async def stats(request: Request, exam_id: str, staff: StaffMember) -> Any:
    """Live counters."""
    staff.check_exam(exam_id)
    return JSON(await server_of(request).results.stats(exam_id))


@router.get("/audit", response_model=None, responses=responses({200: Audit}))
async def audit(request: Request, staff: StaffMember, exam_id: str | None = None) -> Any:
    """Every admin action, oldest first (an invigilator: of its exam and rooms)."""
    server = server_of(request)
    if staff.is_admin:
        return JSON({"entries": await audit_trail.entries(server.store, exam_id)})
    if exam_id is None:
        raise errors.Forbidden("an invigilator reads the audit of its own exam: ?exam_id=")
    return JSON({"entries": await server.examday.audit(exam_id, staff)})


@router.post(
    "/exams/import",
    response_model=None,
    responses=responses({200: ImportAnswer, 201: Imported}),
    openapi_extra=request_body(ImportForm, media_type="multipart/form-data"),
)
async def import_exam(request: Request, actor: Admin, dry_run: bool = False) -> Any:
    """Import an exam file (multipart): our JSON/YAML (or its zip with media), QTI, GIFT or
    Moodle XML. The pictures the file holds are stored with the exam, in one transaction.

    `?dry_run=true` parses the file the same way and answers what each item would become
    (or why it would be refused) without storing anything (docs/formats.md, Dry run).
    """
    server = server_of(request)
    raw = await read_bytes(request, server.settings.max_import_bytes)
    form = await parse_form(request, raw)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise errors.InvalidBody([{"loc": ["body", "file"], "msg": "a file is required"}])
    settings: dict[str, Any] = {}
    for name in (
        "title",
        "grace_seconds",
        "duration_seconds",
        "show_result",
        "opens_at",
        "closes_at",
    ):
        value = form.get(name)
        if isinstance(value, str) and value != "":
            settings[name] = int(value) if name.endswith("_seconds") and value.isdigit() else value
    skip = str(form.get("skip_unsupported", "false")).lower() in ("1", "true", "yes", "on")
    exam_id = form.get("id")
    arguments: dict[str, Any] = {
        "filename": upload.filename or "exam",
        "fmt": str(form.get("format") or "auto"),
        "exam_id": exam_id if isinstance(exam_id, str) and exam_id else None,
        "settings": settings or None,
        "skip_unsupported": skip,
    }
    data = await upload.read()
    try:
        # Parsed in a capped child process, never on the event loop (services/imports.py).
        if dry_run:
            preview: formats.Preview = await server.imports.preview(data, **arguments)
            return JSON(preview.as_json())
        imported: formats.Imported = await server.imports.import_exam(data, **arguments)
    except formats.ImportRefused as exc:
        raise errors.InvalidBody(exc.errors, "the file cannot be imported; nothing was") from None
    # Checked again here for its typed form: in a thread, so that a big exam does not hold
    # the event loop while it is checked.
    definition = await asyncio.to_thread(parse_definition, imported.definition)
    media = [(m.name, m.content_type, m.data) for m in imported.media]
    status, body = await server.exams.put_imported(
        definition, media, actor, server.media.exam_limit
    )
    return JSON(
        body
        | {
            "questions": sum(len(s.questions) for s in definition.sections),
            "sections": len(definition.sections),
            "skipped": [{"item": s.item, "id": s.id, "reason": s.reason} for s in imported.skipped],
            "notes": list(imported.notes),
        },
        status_code=201 if status == 201 else 200,
    )


@router.get(
    "/exams/{exam_id}/export",
    response_model=None,
    responses=_EXPORT,
)
async def export_exam(
    request: Request,
    exam_id: str,
    _: Admin,
    format: Literal["json", "yaml", "qti", "gift", "moodle_xml"] = "json",
) -> Any:
    """The exam as a file, with its pictures: QTI as a zip package, Moodle XML with base64
    files, JSON/YAML as a zip with `media/` when the exam has pictures. What a format
    cannot hold (a picture in GIFT) is refused with 422 naming the question."""
    server = server_of(request)
    doc, _version, _key_version = await server.exams.stored_definition(exam_id)
    pictures = await server.media.of_exam(exam_id)
    try:
        content, media, name = formats.export_exam(doc, format, pictures)
    except ValueError as exc:
        raise errors.InvalidBody([{"loc": ["query", "format"], "msg": str(exc)}]) from None
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


async def parse_form(request: Request, raw: bytes) -> Any:
    """Parse a multipart body already read (and size-checked) by read_bytes."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise errors.UnsupportedMediaType("send the file as multipart/form-data")

    async def replay() -> Any:
        return {"type": "http.request", "body": raw, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_part_size=len(raw) + 1)
    except Exception as exc:
        raise errors.MalformedBody(f"the multipart body cannot be read: {exc}") from None
