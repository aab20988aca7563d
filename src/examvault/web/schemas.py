"""Request bodies as documented in the OpenAPI schema.

Routes read and check bodies themselves (web/body.py, answers.py) so that numbers stay
decimals and errors name each item; these models only describe the bodies to clients
and to schema-driven test tools.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    candidates: list[CandidateIn]


def exam_schema() -> Any:
    from examvault.exams import ExamDef

    return ExamDef
