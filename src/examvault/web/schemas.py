"""Request bodies as documented in the OpenAPI schema.

Routes read and check bodies themselves (web/body.py, domain/answers.py) so that numbers stay
decimals and errors name each item; these models only describe the bodies to clients
and to schema-driven test tools.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel


class AnswerItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    response: str | float | list[str] | None
    seq: int = Field(ge=1, le=2**63 - 1)
    marked_for_review: bool = False
    time_spent_ms: int | None = Field(default=None, ge=0, le=10**12)


class SaveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: list[AnswerItem]


class SubmitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: list[AnswerItem] = []


class CandidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(default="", max_length=500)
    room: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    extra_seconds: int = Field(default=0, ge=0, le=86_400)


class CandidateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    room: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    extra_seconds: int = Field(default=0, ge=0, le=86_400)


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    candidates: list[CandidateIn]


def exam_schema() -> Any:
    from examvault.domain.exams import ExamDef

    return ExamDef


# --- OpenAPI documentation of bodies and responses -------------------------------------
#
# Routes write their responses themselves (`JSON`), so these models only describe them.
# They are lenient where docs/api.md lets the server add fields (`extra="allow"`), and strict
# about the fields a client relies on; the fuzz test (tests/fuzz) checks every response
# against them.

Number = int | float
Time = str


class _Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProblemItem(_Out):
    loc: list[str | int]
    msg: str


class Problem(_Out):
    """application/problem+json (RFC 9457), as every error is sent."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItem] | None = None


class RichTextView(_Out):
    """Rich text as a candidate receives it: the server's re-serialisation, math as MathML."""

    html: str


class OptionView(_Out):
    id: str
    text: str | RichTextView


class QuestionView(_Out):
    id: str
    type: Literal["single", "multiple", "numeric", "text"]
    text: str | RichTextView
    options: list[OptionView] | None = None
    max_chars: int | None = None
    marks: dict[str, Any]


class SectionView(_Out):
    id: str
    title: str | RichTextView
    instructions: str | RichTextView | None = None
    questions: list[QuestionView]


class MediumStored(_Out):
    name: str
    sha256: str
    bytes: int
    content_type: Literal["image/png", "image/jpeg", "image/gif", "image/webp"]


class AnswerView(_Out):
    response: Any
    seq: int
    marked_for_review: bool
    time_spent_ms: int | None


class AttemptView(_Out):
    attempt_id: str
    exam_id: str
    status: Literal["in_progress", "paused", "submitted"]
    paused: bool
    remaining_seconds: float
    started_at: Time
    deadline: Time
    server_time: Time
    sections: list[SectionView]
    answers: dict[str, AnswerView]
    last_seq: int
    # The names of the exam's media (GET …/media/NAME), never their bytes.
    media: list[str] = []
    announcements: list[Note] = []


class Note(_Out):
    id: int
    text: str
    at: Time


class Live(_Out):
    status: Literal["in_progress", "paused", "submitted"]
    paused: bool
    deadline: Time
    remaining_seconds: float
    server_time: Time
    announcements: list[Note]


class StaffMe(_Out):
    role: Literal["admin", "invigilator", "marker"]
    id: str | None
    exam_id: str | None
    rooms: list[str] | None
    questions: list[str] | None = Field(
        default=None, description="Only for a marker: the questions it marks (null: all)"
    )


class Announcement(_Out):
    id: int
    text: str
    room: str | None
    at: Time


class Announcements(_Out):
    announcements: list[Announcement]


class AnnouncementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2_000)
    room: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")


class InvigilatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(default="", max_length=500)
    rooms: list[str] | None = None


class MarkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(default="", max_length=500)
    questions: list[str] | None = Field(default=None, min_length=1, max_length=5_000)


class MarkerRegistration(BaseModel):
    """POST /exams/{exam_id}/markers: `questions` null marks every manual question."""

    model_config = ConfigDict(extra="forbid")
    markers: list[MarkerIn] = Field(min_length=1, max_length=1_000)


class MarkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    script_id: str = Field(min_length=1, max_length=64)
    mark: int | float | str
    comment: str | None = Field(default=None, max_length=5_000)


class MarksIn(BaseModel):
    """PUT /exams/{exam_id}/marks: all or none."""

    model_config = ConfigDict(extra="forbid")
    marks: list[MarkIn] = Field(min_length=1, max_length=500)


class InvigilatorRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    invigilators: list[InvigilatorIn]


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["extend", "pause", "resume", "reopen", "submit"]
    reason: str = Field(min_length=1, max_length=500)
    seconds: int | None = Field(default=None, ge=1, le=86_400)
    candidates: list[str] | None = Field(default=None, min_length=1, max_length=10_000)
    room: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    all: Literal[True] | None = None


class ActionRow(_Out):
    candidate_id: str
    attempt_id: str | None
    status: Literal["absent", "in_progress", "paused", "submitted"]
    deadline: Time | None
    submit_kind: Literal["manual", "auto", "invigilator"] | None


class Skipped(_Out):
    candidate_id: str
    why: Literal[
        "not_started", "ended", "submitted", "already_paused", "not_paused",
        "not_submitted", "exam_closed",
    ]  # fmt: skip


class ActionDone(_Out):
    action_id: str
    action: str
    applied: list[ActionRow]
    skipped: list[Skipped]


class Saved(_Out):
    accepted: list[int]
    stale: list[int]
    last_seq: int
    server_time: Time
    deadline: Time


class SectionResult(_Out):
    id: str
    score: Number
    max_score: Number
    correct: int
    partial: int
    wrong: int
    unanswered: int


class Result(_Out):
    score: Number
    max_score: Number
    correct: int
    partial: int
    wrong: int
    unanswered: int
    pending_marks: int
    sections: list[SectionResult]
    rank: int | None
    percentile: Number | None


class Submitted(_Out):
    status: Literal["submitted"]
    submitted_at: Time
    submit_kind: Literal["manual", "auto", "invigilator"]
    result: Result | None
    late: list[int]


class SectionOutline(_Out):
    id: str
    title: str | RichTextView
    instructions: str | RichTextView | None = None
    questions: int
    marks: list[dict[str, Any]]


class ExamOutline(_Out):
    id: str
    title: str | RichTextView
    duration_seconds: int
    opens_at: Time | None
    closes_at: Time | None
    show_result: Literal["on_submit", "after_close", "never"]
    sections: list[SectionOutline]


class AttemptRef(_Out):
    attempt_id: str
    status: Literal["in_progress", "submitted"]


class MeView(_Out):
    candidate_id: str
    name: str
    exam: ExamOutline
    attempt: AttemptRef | None


class ExamVersion(_Out):
    id: str
    version: int


class Token(_Out):
    id: str
    token: str


class MarkersRegistered(_Out):
    markers: list[Token]


class ScriptQuestion(_Out):
    id: str
    text: str
    max_mark: Number | str
    step: Number | str


class ScriptView(_Out):
    script_id: str
    question_id: str
    response: str | None
    mark: Number | str | None
    comment: str | None
    marked_by: str | None
    marked_at: Time | None


class Scripts(_Out):
    """A page of scripts in script-id order; `next` is the `after` of the next page."""

    questions: list[ScriptQuestion]
    scripts: list[ScriptView]
    next: str | None


class MarksApplied(_Out):
    applied: list[str]


class ReviewQuestion(_Out):
    id: str
    type: Literal["single", "multiple", "numeric", "text"]
    text: str
    options: list[OptionView] | None = None
    response: Any
    outcome: Literal["correct", "partial", "wrong", "unanswered", "pending"]
    score: Number
    max_score: Number
    comment: str | None = None
    key: Any = None


class ReviewSection(_Out):
    id: str
    title: str
    questions: list[ReviewQuestion]


class Review(_Out):
    sections: list[ReviewSection]


class InvigilatorsRegistered(_Out):
    invigilators: list[Token]


class Registered(_Out):
    candidates: list[Token]


class ExamRow(_Out):
    id: str
    title: str
    version: int
    registered: int
    in_progress: int
    submitted: int
    closed: bool


class ExamList(_Out):
    exams: list[ExamRow]


class StoredExam(_Out):
    id: str
    title: str | RichTextView
    duration_seconds: int
    sections: list[dict[str, Any]]
    version: int
    key_version: int | None = Field(
        default=None, description="left out for an invigilator (with every `answer`)"
    )


class CandidateRow(_Out):
    candidate_id: str
    name: str
    status: Literal["absent", "in_progress", "paused", "submitted"]
    attempt_id: str | None
    room: str | None
    extra_seconds: int
    extended_seconds: int
    paused: bool
    deadline: Time | None
    last_seen: Time | None
    answers: int
    score: Number | None = Field(default=None, description="left out for an invigilator")


class CandidateTable(_Out):
    candidates: list[CandidateRow]


class Closed(_Out):
    id: str
    closed_at: Time
    sealed: int


class ResultRow(_Out):
    candidate_id: str
    attempt_id: str | None
    status: Literal["absent", "in_progress", "submitted"]
    score: Number | None
    max_score: Number
    sections: dict[str, Number] | None
    pending_marks: int | None
    rank: int | None
    percentile: Number | None
    submitted_at: Time | None
    submit_kind: Literal["manual", "auto", "invigilator"] | None


class Results(_Out):
    results: list[ResultRow]


class Stats(_Out):
    registered: int
    in_progress: int
    submitted: int
    answers_saved: int
    last_minute_saves: int
    late_items: int


class AuditEntry(_Out):
    at: Time
    actor: str
    action: Literal[
        "exam_created",
        "exam_replaced",
        "exam_imported",
        "candidates_registered",
        "exam_closed",
        "key_changed",
        "markers_registered",
        "marked",
        "candidate_changed",
        "invigilators_registered",
        "extend",
        "pause",
        "resume",
        "reopen",
        "invigilator_submit",
        "announcement",
    ]
    exam_id: str | None
    detail: Any


class Audit(_Out):
    entries: list[AuditEntry]


class Health(_Out):
    status: Literal["ok"]


class Ready(_Out):
    status: Literal["ready"]
    database: Literal["sqlite", "postgresql"]
    queue: int = Field(description="writes waiting for the group-commit writer")


class SkippedItem(_Out):
    item: str
    id: str
    reason: str


class Imported(_Out):
    id: str
    version: int
    questions: int
    sections: int
    skipped: list[SkippedItem]
    notes: list[str]
    # The pictures the file held, stored with the exam in the same transaction.
    media: list[MediumStored]


class PreviewItem(_Out):
    """One item of the file: the question it would become, or why it would be refused."""

    id: str
    source: str
    section: str | None = None
    type: str | None = None
    marking: dict[str, Any] | None = None
    media: list[str] | None = None
    refused: str | None = None


class ImportPreview(_Out):
    """`POST /exams/import?dry_run=true`: what the import would do; nothing is stored."""

    dry_run: bool
    id: str
    title: str
    importable: bool
    questions: int
    sections: int
    items: list[PreviewItem]
    skipped: list[SkippedItem]
    notes: list[str]
    errors: list[dict[str, Any]]


class ImportAnswer(RootModel[Imported | ImportPreview]):
    """200 of `POST /exams/import`: the exam unchanged, or (with `dry_run`) the preview."""


class ImportForm(BaseModel):
    """The multipart form of `POST /exams/import` (docs/api.md, Import and export)."""

    file: bytes = Field(json_schema_extra={"format": "binary"})
    format: Literal["auto", "json", "yaml", "qti", "gift", "moodle_xml"] = "auto"
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    title: str | None = None
    duration_seconds: int | None = Field(default=None, ge=1)
    grace_seconds: int | None = Field(default=None, ge=0)
    show_result: Literal["on_submit", "after_close", "never"] | None = None
    opens_at: Time | None = None
    closes_at: Time | None = None
    skip_unsupported: bool = False


def inline_schema(model: Any) -> dict[str, Any]:
    """The model's JSON schema with its `$defs` written in place.

    Pydantic refers to nested models as `#/$defs/...`, which inside an OpenAPI document
    would point at the document's root; writing them in place keeps the schema valid
    wherever it is embedded. None of these models is recursive.
    """
    schema: dict[str, Any] = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return resolve(defs[ref.removeprefix("#/$defs/")] | rest)
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    out: dict[str, Any] = resolve(schema)
    return out


def request_body(
    model: Any, *, required: bool = True, media_type: str = "application/json"
) -> dict[str, Any]:
    """`openapi_extra` for a body the route reads itself (web/body.py)."""
    return {
        "requestBody": {
            "required": required,
            "content": {media_type: {"schema": inline_schema(model)}},
        }
    }


# Errors any route may answer (docs/api.md, Errors); 405 is answered for a wrong method only.
_ERROR_STATUSES = {
    400: "Malformed body",
    401: "Missing or unknown token",
    403: "A valid token of the wrong kind",
    404: "Unknown exam or attempt (or another candidate's attempt)",
    409: "The exam or attempt is in a state that refuses this",
    413: "Body over the limit",
    415: "Body is not JSON (or not multipart, for an import)",
    422: "Body of the wrong shape or content",
    429: "Rate limited; see Retry-After",
    503: "Overloaded or database unavailable; see Retry-After",
}


def responses(ok: dict[int, Any]) -> dict[int | str, dict[str, Any]]:
    """`responses` of a route: its successful bodies, and every error as problem+json."""
    problem = {"application/problem+json": {"schema": inline_schema(Problem)}}
    out: dict[int | str, dict[str, Any]] = {
        status: {
            "description": "Success",
            "content": {"application/json": {"schema": inline_schema(model)}},
        }
        for status, model in ok.items()
    }
    retry_after = {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1}}}
    for status, description in _ERROR_STATUSES.items():
        out[status] = {"description": description, "content": problem}
        if status in (429, 503):
            out[status]["headers"] = retry_after
    return out
