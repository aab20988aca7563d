"""Exam definitions: read, check and compile them (pure).

A definition arrives as a JSON or YAML document (docs/api.md, "Exams"). It is checked with
pydantic, its defaults are filled in, and it is compiled into an `Exam`: the immutable
value the hot path works with (question order, scoring rules, max scores). Compiled
exams are cached by (id, version, key_version) in `examcache.py`, so this module is
the only place that knows the document's shape.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Context, Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from examvault.clock import format_time, to_micros
from examvault.domain import draw, marking, richtext
from examvault.errors import InvalidBody

IDENT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Ident = Annotated[str, StringConstraints(pattern=IDENT_PATTERN)]
MarkValue = StrictInt | Decimal | str
# Marks written as text ("-1/3", "0.25") and preset names are short; the bound keeps their
# parsing cheap (the number grammar's regex is quadratic in the length) and errors small.
MAX_MARK_CHARS = 100
Text = Annotated[str, StringConstraints(max_length=20_000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RichTextDef(_Model):
    """Formatted text (docs/exam-format.md, "Rich text"): checked by `richtext.render`."""

    # Its limit is in UTF-8 bytes, checked first by richtext.render (so the error names
    # the question); the body's limit bounds the string before that.
    html: str


# The tags of the two forms of a text field; pydantic puts them in an error's loc, and
# parse_definition takes them out again (a loc names fields of the document only).
_PLAIN, _RICH = "<plain-text>", "<rich-text>"


def _content_kind(value: Any) -> str:
    return _RICH if isinstance(value, dict | RichTextDef) else _PLAIN


# A text field: a plain string, shown as text exactly as before, or {"html": …}. The
# discriminator makes an error name the one form that was meant, not both.
Content = Annotated[
    Annotated[Text, Tag(_PLAIN)] | Annotated[RichTextDef, Tag(_RICH)],
    Discriminator(_content_kind),
]
# What a candidate receives for a text field: the string, or {"html": the re-serialisation}.
Shown = str | dict[str, str]


class OptionDef(_Model):
    id: Ident
    text: Content = ""


class MarkingDef(_Model):
    correct: MarkValue
    wrong: MarkValue = 0
    unanswered: MarkValue = 0
    partial: Literal["none", "jee_advanced", "proportional"] = "none"
    partial_per_option: MarkValue = 1
    # Written answers marked by a person (`text` questions only): docs/exam-format.md.
    manual: StrictBool = False
    step: MarkValue | None = None

    @field_validator("correct", "wrong", "unanswered", "partial_per_option", "step")
    @classmethod
    def _exact(cls, value: MarkValue | None) -> MarkValue | None:
        if value is None:
            return value
        if isinstance(value, str) and len(value) > MAX_MARK_CHARS:
            raise ValueError(f"a mark written as text has at most {MAX_MARK_CHARS} characters")
        marking.parse_mark(value)
        return value


class NumericAnswer(_Model):
    value: StrictInt | Decimal | None = None
    tolerance: StrictInt | Decimal | None = None
    min: StrictInt | Decimal | None = None
    max: StrictInt | Decimal | None = None

    @model_validator(mode="after")
    def _one_form(self) -> NumericAnswer:
        if self.value is not None and self.min is None and self.max is None:
            if self.tolerance is not None and Decimal(self.tolerance) < 0:
                raise ValueError("tolerance must not be negative")
            return self
        if (
            self.value is None
            and self.tolerance is None
            and self.min is not None
            and self.max is not None
        ):
            if Decimal(self.min) > Decimal(self.max):
                raise ValueError("min must not be greater than max")
            return self
        raise ValueError('a numeric answer is {"value"}, {"value", "tolerance"} or {"min", "max"}')


DEFAULT_MAX_CHARS = 5_000
MAX_MAX_CHARS = 100_000


class QuestionDef(_Model):
    id: Ident
    type: Literal["single", "multiple", "numeric", "text"]
    text: Content = ""
    options: list[OptionDef] | None = None
    answer: Any = None
    marking: str | MarkingDef
    max_chars: Annotated[StrictInt, Field(ge=1, le=MAX_MAX_CHARS)] | None = None

    @field_validator("marking")
    @classmethod
    def _known_preset(cls, value: str | MarkingDef) -> str | MarkingDef:
        if isinstance(value, str) and len(value) > MAX_MARK_CHARS:
            raise ValueError(f"unknown preset ({len(value)} characters)")
        if isinstance(value, str) and value not in marking.PRESETS:
            raise ValueError(f"unknown preset {value!r}; presets: {', '.join(marking.PRESETS)}")
        return value

    @model_validator(mode="after")
    def _answer_fits_type(self) -> QuestionDef:
        manual = isinstance(self.marking, MarkingDef) and self.marking.manual
        if self.type != "text":
            if manual or (isinstance(self.marking, MarkingDef) and self.marking.step is not None):
                raise ValueError('only a text question is marked by hand ("manual", "step")')
            if self.max_chars is not None:
                raise ValueError("only a text question has max_chars")
        else:
            _check_text(self.options, self.answer, manual)
            return self
        if self.answer is None:
            raise ValueError(f"a {self.type} question needs an answer")
        if self.type == "numeric":
            if self.options:
                raise ValueError("a numeric question has no options")
            NumericAnswer.model_validate(self.answer)
            return self
        if not self.options:
            raise ValueError(f"a {self.type} question needs options")
        ids = [o.id for o in self.options]
        if len(set(ids)) != len(ids):
            raise ValueError("option ids must be unique within a question")
        key = _choice_key(self.type, self.answer)
        unknown = sorted(key - set(ids))
        if unknown:
            raise ValueError(f"the answer names unknown options: {', '.join(unknown)}")
        return self


MAX_TEXT_ANSWERS = 100


def _check_text(options: Any, answer: Any, manual: bool) -> None:
    """A text question is matched (an `answer` list) or manual (`manual: true`), not both."""
    if options:
        raise ValueError("a text question has no options")
    if manual:
        if answer is not None:
            raise ValueError('a manual text question has no "answer"')
        return
    if answer is None:
        raise ValueError('a text question has an "answer" list, or "manual": true')
    _text_key(answer)


def _text_key(answer: Any) -> frozenset[str]:
    if (
        not isinstance(answer, list)
        or not 1 <= len(answer) <= MAX_TEXT_ANSWERS
        or not all(isinstance(a, str) and a.strip() and len(a) <= MAX_MAX_CHARS for a in answer)
    ):
        raise ValueError(
            f"the answer of a text question is a list of 1 to {MAX_TEXT_ANSWERS} non-blank strings"
        )
    return frozenset(marking.fold(a) for a in answer)


def _choice_key(qtype: str, answer: Any) -> frozenset[str]:
    if qtype == "single" and isinstance(answer, str):
        return frozenset([answer])
    if not isinstance(answer, list) or not answer or not all(isinstance(a, str) for a in answer):
        raise ValueError(
            "the answer is an option id or a non-empty list of option ids"
            if qtype == "single"
            else "the answer of a multiple question is a non-empty list of option ids"
        )
    if len(set(answer)) != len(answer):
        raise ValueError("the answer lists an option twice")
    return frozenset(answer)


class SectionDef(_Model):
    id: Ident
    title: Content | None = None
    instructions: Content | None = None
    questions: Annotated[list[QuestionDef], Field(min_length=1, max_length=5_000)]
    # A pool: each candidate gets `draw` of the questions (domain/draw.py). Its range and
    # the one-marking rule are checked in `parse_definition`, so the 422 names the section.
    draw: StrictInt | None = None


class ShuffleDef(_Model):
    questions: StrictBool = False
    options: StrictBool = False


class ExamDef(_Model):
    """The exam document; docs/exam-format.md gives the meaning of each field."""

    id: Ident
    title: Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=500), Tag(_PLAIN)]
        | Annotated[RichTextDef, Tag(_RICH)],
        Discriminator(_content_kind),
    ]
    duration_seconds: Annotated[StrictInt, Field(gt=0, le=31 * 24 * 3600)]
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    grace_seconds: Annotated[StrictInt, Field(ge=0, le=24 * 3600)] = 30
    show_result: Literal["on_submit", "after_close", "never"] = "after_close"
    # None: "when_marked" for an exam with manual questions, else "immediately".
    release: Literal["when_marked", "immediately"] | None = None
    review: Literal["none", "responses", "full"] | None = None
    shuffle: ShuffleDef = ShuffleDef()
    instructions: Content | None = None
    sections: Annotated[list[SectionDef], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _window(self) -> ExamDef:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class DefinitionError(InvalidBody, ValueError):
    """The exam definition does not follow docs/api.md.

    `errors` says where. It is an `InvalidBody` (422) so that any route handing a document
    to `parse_definition` refuses a bad one as problem+json, never as a 500.
    """

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_definition(document: Any) -> ExamDef:
    """Check a definition document, raising DefinitionError with a loc for each fault."""
    try:
        exam = ExamDef.model_validate(document)
    except ValidationError as exc:
        raise DefinitionError(
            [
                {"loc": [p for p in e["loc"] if p not in (_PLAIN, _RICH)], "msg": e["msg"]}
                for e in exc.errors(include_url=False)
            ]
        ) from None
    faults = _duplicates(exam) + _markup_faults(exam)
    for si, section in enumerate(exam.sections):
        markings: list[marking.Marking] = []
        for qi, q in enumerate(section.questions):
            try:
                markings.append(_rule(q).marking)
            except marking.MarkError as exc:
                faults.append({"loc": ["sections", si, "questions", qi], "msg": str(exc)})
        faults.extend(_draw_faults(si, section, markings))
    if faults:
        raise DefinitionError(faults)
    return exam


def _draw_faults(
    si: int, section: SectionDef, markings: list[marking.Marking]
) -> list[dict[str, Any]]:
    """A drawn section's faults: `draw` out of 1..n, or questions marked differently.

    Every candidate must have the same `max_score`, so every question of a pool must have
    the same marking object; they are compared compiled (a preset and the object it
    stands for, 0.5 and "1/2", are the same marking).
    """
    if section.draw is None:
        return []
    n = len(section.questions)
    loc: list[Any] = ["sections", si, "draw"]
    if not 1 <= section.draw <= n:
        msg = f"section {section.id!r}: draw must be 1..{n} (its number of questions)"
        return [{"loc": loc, "msg": msg}]
    if len(set(markings)) > 1:
        msg = f"section {section.id!r}: every question of a drawn section needs the same marking"
        return [{"loc": loc, "msg": msg}]
    return []


def text_fields(exam: ExamDef) -> list[tuple[list[Any], str, Content]]:
    """Every text field of a definition: where it is, whose it is (for an error), value."""
    fields: list[tuple[list[Any], str, Content]] = [(["title"], "exam title", exam.title)]
    if exam.instructions is not None:
        fields.append((["instructions"], "exam instructions", exam.instructions))
    for si, s in enumerate(exam.sections):
        for name in ("title", "instructions"):
            value = getattr(s, name)
            if value is not None:
                fields.append((["sections", si, name], f"section {s.id} {name}", value))
        for qi, q in enumerate(s.questions):
            where: list[Any] = ["sections", si, "questions", qi]
            fields.append(([*where, "text"], f"question {q.id}", q.text))
            for oi, o in enumerate(q.options or []):
                fields.append(
                    ([*where, "options", oi, "text"], f"question {q.id}, option {o.id}", o.text)
                )
    return fields


def _markup_faults(exam: ExamDef) -> list[dict[str, Any]]:
    """Each rich text field that `richtext.render` refuses, named by its question."""
    faults: list[dict[str, Any]] = []
    for loc, whose, value in text_fields(exam):
        if isinstance(value, RichTextDef):
            try:
                richtext.render(value.html)
            except richtext.MarkupError as exc:
                faults.append({"loc": [*loc, "html"], "msg": f"{whose}: {exc}"})
    return faults


def media_uses(exam: ExamDef) -> dict[str, str]:
    """Each medium the markup shows, with the first field that shows it (for an error)."""
    uses: dict[str, str] = {}
    for _loc, whose, value in text_fields(exam):
        if isinstance(value, RichTextDef):
            for name in richtext.render(value.html).media:
                uses.setdefault(name, whose)
    return uses


def shown(value: Content) -> Shown:
    """A text field as a candidate receives it (a checked field: parse_definition ran)."""
    if isinstance(value, str):
        return value
    return {"html": richtext.render(value.html).html}


def _author(value: Content | None) -> Any:
    return value if value is None or isinstance(value, str) else {"html": value.html}


def plain_title(exam: ExamDef) -> str:
    """The exam's title as text, for lists that show text only."""
    if isinstance(exam.title, str):
        return exam.title
    return richtext.plain_text(exam.title.html)[:500] or exam.id


def _duplicates(exam: ExamDef) -> list[dict[str, Any]]:
    faults: list[dict[str, Any]] = []
    sections: set[str] = set()
    questions: set[str] = set()
    for si, section in enumerate(exam.sections):
        if section.id in sections:
            faults.append(
                {"loc": ["sections", si, "id"], "msg": f"section id {section.id!r} is used twice"}
            )
        sections.add(section.id)
        for qi, q in enumerate(section.questions):
            if q.id in questions:
                faults.append(
                    {
                        "loc": ["sections", si, "questions", qi, "id"],
                        "msg": f"question id {q.id!r} is used twice",
                    }
                )
            questions.add(q.id)
    return faults


def normalized(exam: ExamDef) -> dict[str, Any]:
    """The stored form: every default filled in, times in UTC, JSON-ready.

    The fields of written answers, release and review are left out where unset, so the
    stored form (and the fingerprint) of an exam without them is what it was before
    they existed.
    """
    doc = exam.model_dump(mode="python")
    for section in doc["sections"]:
        if section["draw"] is None:  # stored and shown only where it is used
            del section["draw"]
        # Added with rich text; left out when unset so that an older definition reads back
        # exactly as it was stored.
        if section.get("instructions") is None:
            section.pop("instructions", None)
    for name in ("opens_at", "closes_at"):
        value = doc[name]
        doc[name] = None if value is None else format_time_dt(value)
    for name in ("release", "review"):
        if doc[name] is None:
            del doc[name]
    for section in doc["sections"]:
        for q in section["questions"]:
            if q["max_chars"] is None:
                del q["max_chars"]
            if q["type"] == "text" and q["answer"] is None:
                del q["answer"]
            mk = q["marking"]
            if isinstance(mk, dict):
                if not mk["manual"]:
                    del mk["manual"]
                if mk["step"] is None:
                    del mk["step"]
    return doc


def fingerprint(exam: ExamDef) -> str:
    """Equal for two definitions that are "the same definition" in docs/api.md's sense."""
    compiled = compile_exam(exam, version=1)
    # The author's markup, not what a candidate is shown: two spellings of one formula
    # are two definitions, and GET /exams/{id} gives back the one stored. A plain string
    # gives the same parts as before rich text existed, so stored fingerprints still hold.
    parts = [
        repr(normalized(exam) | {"sections": None}),
        repr(
            [
                (
                    q.id,
                    s.id,
                    _author(q.text),
                    tuple((o.id, _author(o.text)) for o in (q.options or [])),
                    _canonical(compiled.by_id[q.id].rule),
                )
                for s in exam.sections
                for q in s.questions
            ]
        ),
        repr(
            [
                (s.id, s.id if s.title is None else _author(s.title))
                + (() if s.instructions is None else (_author(s.instructions),))
                for s in exam.sections
            ]
        ),
        repr(
            [
                (s.id, s.id if s.title is None else _author(s.title))
                + (() if s.instructions is None else (_author(s.instructions),))
                + (() if s.draw is None else (s.draw,))
                for s in exam.sections
            ]
        ),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _canonical(rule: marking.Rule) -> tuple[Any, ...]:
    """A rule with numbers in one spelling: 2.45 and 2.450 are the same key."""
    # Sorted, not a frozenset: a set's order depends on the process's hash seed.
    key: object = tuple(sorted(rule.key)) if isinstance(rule.key, frozenset) else rule.key
    if isinstance(rule.key, marking.NumericKey):
        key = (rule.key.low.normalize(_EXACT), rule.key.high.normalize(_EXACT))
    manual = (rule.manual, rule.step) if rule.type == "text" else ()
    return (rule.type, key, rule.marking, rule.dropped, *manual)


_EXACT = Context(prec=marking.MAX_KEY_DIGITS + 10)


def format_time_dt(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, as every time in the API is written."""
    return format_time(to_micros(value))


@dataclass(frozen=True, slots=True)
class Question:
    """A compiled question: what the candidate sees plus the rule that scores it."""

    id: str
    section_id: str
    type: marking.QuestionType
    text: Shown
    options: tuple[tuple[str, Shown], ...]
    option_ids: frozenset[str]
    rule: marking.Rule
    marks: Mapping[str, Any]
    max_chars: int = DEFAULT_MAX_CHARS
    # The key as the definition (or the last key change) wrote it: what a `full` review
    # shows. Never in a view before release (domain/views.py builds views field by field).
    answer: Any = None

    @property
    def manual(self) -> bool:
        """Whether a person marks it (a manual `text` question)."""
        return self.rule.manual


@dataclass(frozen=True, slots=True)
class Section:
    """A compiled section; `draw` is how many of its questions each candidate gets."""

    id: str
    title: Shown
    question_ids: tuple[str, ...]
    max_score: Fraction
    draw: int | None = None
    instructions: Shown | None = None


@dataclass(frozen=True, slots=True)
class Exam:
    """A compiled exam at one version and key version; never changed, only replaced."""

    id: str
    version: int
    key_version: int
    title: Shown
    duration_seconds: int
    grace_seconds: int
    opens_at: int | None
    closes_at: int | None
    show_result: str
    shuffle_questions: bool
    shuffle_options: bool
    sections: tuple[Section, ...]
    questions: tuple[Question, ...]
    by_id: Mapping[str, Question] = field(repr=False)
    max_score: Fraction
    instructions: Shown | None = None
    # The media the markup shows, each once: a start carries these names, never bytes.
    media: tuple[str, ...] = ()
    has_draw: bool = False
    release: str = "immediately"
    review: str = "none"

    @property
    def manual_questions(self) -> tuple[str, ...]:
        """The ids of the questions a person marks, in exam order."""
        return tuple(q.id for q in self.questions if q.rule.manual)


def _rule(q: QuestionDef) -> marking.Rule:
    if isinstance(q.marking, MarkingDef) and q.marking.manual:
        mk = marking.Marking(
            correct=marking.parse_mark(q.marking.correct),
            unanswered=marking.parse_mark(q.marking.unanswered),
        )
        step = (
            marking.DEFAULT_STEP if q.marking.step is None else marking.parse_mark(q.marking.step)
        )
        if step <= 0:
            raise marking.MarkError("step must be greater than 0")
        if mk.correct <= 0 or (mk.correct / step).denominator != 1:
            raise marking.MarkError("correct must be a positive multiple of step")
        return marking.Rule(type="text", key=frozenset(), marking=mk, manual=True, step=step)
    mk = (
        marking.PRESETS[q.marking]
        if isinstance(q.marking, str)
        else marking.Marking(
            correct=marking.parse_mark(q.marking.correct),
            wrong=marking.parse_mark(q.marking.wrong),
            unanswered=marking.parse_mark(q.marking.unanswered),
            partial=q.marking.partial,
            partial_per_option=marking.parse_mark(q.marking.partial_per_option),
        )
    )
    return marking.Rule(type=q.type, key=key_for(q.type, q.answer), marking=mk)


def key_for(qtype: str, answer: Any) -> marking.Key:
    """The scoring key of an `answer` field, as in a definition or a key change."""
    if qtype == "text":
        return _text_key(answer)
    if qtype == "numeric":
        na = NumericAnswer.model_validate(answer)
        if na.value is not None:
            return marking.numeric_key(Decimal(na.value), Decimal(na.tolerance or 0))
        assert na.min is not None and na.max is not None
        return marking.NumericKey(
            low=marking.bounded_key(Decimal(na.min)), high=marking.bounded_key(Decimal(na.max))
        )
    return _choice_key(qtype, answer)


def public_marks(mk: marking.Marking) -> dict[str, Any]:
    """The marking scheme as shown to candidates: it is public, unlike the key."""
    marks: dict[str, Any] = {"correct": mark_json(mk.correct), "wrong": mark_json(mk.wrong)}
    if mk.unanswered:
        marks["unanswered"] = mark_json(mk.unanswered)
    if mk.partial != "none":
        marks["partial"] = mk.partial
        if mk.partial == "jee_advanced":
            marks["partial_per_option"] = mark_json(mk.partial_per_option)
    return marks


def _manual_marks(rule: marking.Rule) -> dict[str, Any]:
    """A manual question's public scheme: its maximum and the step of its marks."""
    marks: dict[str, Any] = {"correct": mark_json(rule.marking.correct), "manual": True}
    marks["step"] = mark_json(rule.step)
    if rule.marking.unanswered:
        marks["unanswered"] = mark_json(rule.marking.unanswered)
    return marks


def mark_json(value: Fraction) -> int | float | str:
    """A mark for JSON: a number when it is a finite decimal, else "n/d" as authors write it."""
    if value.denominator == 1:
        return int(value)
    den = value.denominator
    while den % 2 == 0:
        den //= 2
    while den % 5 == 0:
        den //= 5
    if den == 1:
        return float(Decimal(value.numerator) / Decimal(value.denominator))
    return f"{value.numerator}/{value.denominator}"


def compile_exam(exam: ExamDef, *, version: int, key_version: int = 1) -> Exam:
    """Build the immutable exam the hot path uses."""
    questions: list[Question] = []
    sections: list[Section] = []
    for s in exam.sections:
        ids: list[str] = []
        for q in s.questions:
            rule = _rule(q)
            opts = tuple((o.id, shown(o.text)) for o in (q.options or []))
            questions.append(
                Question(
                    id=q.id,
                    section_id=s.id,
                    type=q.type,
                    text=shown(q.text),
                    options=opts,
                    option_ids=frozenset(o for o, _ in opts),
                    rule=rule,
                    marks=_manual_marks(rule) if rule.manual else public_marks(rule.marking),
                    max_chars=q.max_chars or DEFAULT_MAX_CHARS,
                    answer=q.answer,
                )
            )
            ids.append(q.id)
        mine = [q for q in questions if q.section_id == s.id]
        # A pool's questions share one marking, so k of them score the same for everyone.
        given = mine if s.draw is None else mine[: s.draw]
        sections.append(
            Section(
                id=s.id,
                title=shown(s.title) if s.title is not None else s.id,
                instructions=None if s.instructions is None else shown(s.instructions),
                question_ids=tuple(ids),
                max_score=sum((q.rule.marking.correct for q in given), Fraction(0)),
                draw=None if s.draw is None or s.draw >= len(ids) else s.draw,
            )
        )
    return Exam(
        id=exam.id,
        version=version,
        key_version=key_version,
        title=shown(exam.title),
        duration_seconds=exam.duration_seconds,
        grace_seconds=exam.grace_seconds,
        opens_at=None if exam.opens_at is None else to_micros(exam.opens_at),
        closes_at=None if exam.closes_at is None else to_micros(exam.closes_at),
        show_result=exam.show_result,
        shuffle_questions=exam.shuffle.questions,
        shuffle_options=exam.shuffle.options,
        sections=tuple(sections),
        questions=tuple(questions),
        by_id={q.id: q for q in questions},
        max_score=sum((s.max_score for s in sections), Fraction(0)),
        instructions=None if exam.instructions is None else shown(exam.instructions),
        media=tuple(media_uses(exam)),
        has_draw=any(s.draw is not None for s in sections),
        release=exam.release
        or ("when_marked" if any(q.rule.manual for q in questions) else "immediately"),
        review=exam.review or "none",
    )


def with_key_changes(exam: Exam, key_version: int, changes: Sequence[Mapping[str, Any]]) -> Exam:
    """The same exam scored under a later key (docs/marking.md, Key changes)."""
    rules = {q.id: q.rule for q in exam.questions}
    written = {q.id: q.answer for q in exam.questions}
    for change in changes:
        qid = change["question_id"]
        rule = rules[qid]
        if change.get("drop"):
            rules[qid] = rule.evolve(dropped=change.get("bonus", "all"))
        else:
            rules[qid] = rule.evolve(key=key_for(rule.type, change["answer"]), dropped=None)
            written[qid] = change["answer"]
    questions = tuple(
        Question(
            id=q.id,
            section_id=q.section_id,
            type=q.type,
            text=q.text,
            options=q.options,
            option_ids=q.option_ids,
            rule=rules[q.id],
            marks=q.marks,
            max_chars=q.max_chars,
            answer=written[q.id],
        )
        for q in exam.questions
    )
    return replace(
        exam, key_version=key_version, questions=questions, by_id={q.id: q for q in questions}
    )


def candidate_order(exam: Exam, candidate_id: str) -> list[tuple[Section, list[Question]]]:
    """Sections with their questions in this candidate's order, stable across resumes.

    The seed comes from the exam and candidate ids through SHA-256, not Python's hash(),
    so every process and every restart shuffles the same way.
    """
    seed = int.from_bytes(hashlib.sha256(f"{exam.id}\0{candidate_id}".encode()).digest()[:8])
    rng = random.Random(seed)
    ordered: list[tuple[Section, list[Question]]] = []
    for section in exam.sections:
        qs = [exam.by_id[qid] for qid in given(exam, candidate_id, section)]
        if exam.shuffle_questions:
            rng.shuffle(qs)
        ordered.append((section, qs))
    return ordered


def given(exam: Exam, candidate_id: str, section: Section) -> tuple[str, ...]:
    """The questions of a section this candidate gets: all, or a pool's draw."""
    if section.draw is None:
        return section.question_ids
    return draw.pick(
        exam.id, exam.version, candidate_id, section.id, section.question_ids, section.draw
    )


def left_out(exam: Exam, candidate_id: str) -> frozenset[str]:
    """The questions this candidate was not given (pools); empty for most exams.

    They are not in the candidate's view, cannot be saved, and count nowhere in the
    candidate's totals, analytics or regrades.
    """
    if not exam.has_draw:
        return frozenset()
    out: set[str] = set()
    for section in exam.sections:
        if section.draw is not None:
            kept = set(given(exam, candidate_id, section))
            out.update(q for q in section.question_ids if q not in kept)
    return frozenset(out)


def option_order(exam: Exam, candidate_id: str, question: Question) -> list[tuple[str, Shown]]:
    """A question's options in this candidate's order."""
    opts = list(question.options)
    if exam.shuffle_options:
        seed = hashlib.sha256(f"{exam.id}\0{candidate_id}\0{question.id}".encode()).digest()
        random.Random(int.from_bytes(seed[:8])).shuffle(opts)
    return opts
