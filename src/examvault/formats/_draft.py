"""What every reader produces before it becomes an exam definition, and how it becomes one.

Each format reader turns a file into a :class:`Draft`: questions keep the names and
identifiers the file gave them, whatever their spelling. Only here are they made to fit
our id pattern and made unique, in one place, so the rule is the same for every format:

- an id that already fits is kept as it is; otherwise runs of characters outside
  ``[A-Za-z0-9_.-]`` become ``_`` (except at either end), leading ``_ . -`` are dropped,
  and the result is cut to 64 characters;
- an empty result falls back to ``q<N>`` (questions, numbered across the exam),
  ``s<N>`` (sections) or ``A``, ``B``, … (options, by position);
- a clash gets ``-2``, ``-3``, … appended.

Exam settings are filled in the same way for every format: a value given by the caller
wins, then what the file states, then the defaults of docs/api.md (``duration_seconds`` 3600
when the file has none, ``grace_seconds`` 30, ``show_result`` ``after_close``, no window,
no shuffling). The result is always a complete definition.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from examvault.domain.exams import IDENT_PATTERN

# Where questions go when the file names no section (GIFT or Moodle XML without categories,
# a single QTI item, a package without a test).
DEFAULT_SECTION = ("main", "Questions")
ID_PATTERN = re.compile(IDENT_PATTERN)
SETTINGS = (
    "title",
    "duration_seconds",
    "opens_at",
    "closes_at",
    "grace_seconds",
    "show_result",
    "shuffle",
)
# progress(done, total): items read so far, out of how many; for a long import's progress bar.
Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The progress callback of an import nobody watches."""


DEFAULTS: dict[str, Any] = {
    "duration_seconds": 3600,
    "opens_at": None,
    "closes_at": None,
    "grace_seconds": 30,
    "show_result": "after_close",
}


@dataclass(frozen=True)
class Problem:
    """Something in the file that stops an import: an item we cannot map, or bad syntax.

    ``name`` is what the item's id would be made from (as for a question), so that a
    report names a refused item by the id the exam would give it; None for a problem that
    is not one question (a section's random selection).
    """

    item: str
    where: str | None
    msg: str
    name: str | None = None

    @property
    def loc(self) -> list[str]:
        """The problem+json ``loc``: the item's name, then its line or XML path."""
        return [self.item] if self.where is None else [self.item, self.where]

    @property
    def label(self) -> str:
        """One string naming the item, for the ``skipped`` list."""
        return self.item if self.where is None else f"{self.item} ({self.where})"


class Unsupported(Exception):
    """Raised inside a reader for one item we cannot map; the reader adds its name and place."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Malformed(Exception):
    """The file itself is broken (syntax, limits, safety): nothing can be imported from it."""

    def __init__(self, where: str, msg: str, item: str | None = None) -> None:
        super().__init__(msg)
        self.problem = Problem(item or where, None if item is None else where, msg)


@dataclass(frozen=True)
class Medium:
    """A picture a text shows: its name in the exam (``media:NAME``), bytes and type."""

    name: str
    data: bytes = field(repr=False)
    content_type: str


@dataclass(frozen=True)
class DraftQuestion:
    """One question as read, before ids are fitted; ``answer`` refers to raw option ids.

    ``text`` and each option's text are definition fields: a plain string or
    ``{"html": markup}``; ``media`` are the pictures that markup shows (``media:NAME``).
    """

    name: str
    type: str
    text: Any
    options: tuple[tuple[str, Any], ...]
    answer: Any
    marking: dict[str, Any]
    media: tuple[Medium, ...] = ()
    max_chars: int | None = None


@dataclass(frozen=True)
class DraftSection:
    """A section as read: its raw name, its title and its questions in order."""

    name: str
    title: str
    questions: tuple[DraftQuestion, ...]
    draw: int | None = None  # a pool: how many of its questions each candidate gets


@dataclass(frozen=True)
class Draft:
    """Everything a reader found: sections, items it could not map, and exam fields."""

    sections: tuple[DraftSection, ...]
    problems: tuple[Problem, ...] = ()
    exam_id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    order: tuple[DraftQuestion | Problem, ...] = ()
    notes: tuple[str, ...] = ()


class Sections:
    """Collects questions into sections in file order, merging repeats of one section.

    Refused items are collected here too (:meth:`refuse`), so that a report can list every
    item of the file in its order, carried or not.
    """

    def __init__(self) -> None:
        self._order: list[str] = []
        self._titles: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._questions: dict[str, list[DraftQuestion]] = {}
        self._items: list[DraftQuestion | Problem] = []
        self._draws: dict[str, int] = {}

    def refuse(self, problem: Problem) -> None:
        """Record an item (or a rule) that cannot be carried, in file order."""
        self._items.append(problem)

    def draft(
        self,
        exam_id: str | None = None,
        fields: Mapping[str, Any] | None = None,
        notes: Iterable[str] = (),
    ) -> Draft:
        """Everything collected, as a :class:`Draft`."""
        return Draft(
            self.freeze(),
            tuple(p for p in self._items if isinstance(p, Problem)),
            exam_id,
            dict(fields or {}),
            tuple(self._items),
            tuple(notes),
        )

    def add(self, key: str, title: str, question: DraftQuestion, name: str | None = None) -> None:
        """File ``question`` under the section ``key`` (its id is made from ``name`` or ``key``)."""
        if key not in self._questions:
            self._order.append(key)
            self._titles[key] = title
            self._names[key] = key if name is None else name
            self._questions[key] = []
        self._questions[key].append(question)
        self._items.append(question)

    def draw(self, key: str, count: int) -> None:
        """Make the section ``key`` a pool of which each candidate gets ``count``."""
        self._draws[key] = count

    def freeze(self) -> tuple[DraftSection, ...]:
        """The sections as value objects, in the order they first appeared."""
        return tuple(
            DraftSection(
                self._names[key],
                self._titles[key],
                tuple(self._questions[key]),
                self._draws.get(key),
            )
            for key in self._order
        )


def fit_id(raw: str) -> str | None:
    """Make a name or identifier fit the id pattern, or None when nothing usable is left."""
    if ID_PATTERN.fullmatch(raw):
        return raw
    # Runs of other characters become "_", but not at either end ("Capital of France?"
    # → "Capital_of_France"); an id cannot start with "_", "." or "-" ("_1" → "1").
    text = re.sub(r"[^A-Za-z0-9_.-]+", "\0", raw).strip("\0").lstrip("_.-\0")
    text = text.replace("\0", "_")[:64]
    return text if ID_PATTERN.fullmatch(text) else None


def unique(base: str, used: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is not taken yet; records it as taken."""
    candidate, n = base, 1
    while candidate in used:
        n += 1
        suffix = f"-{n}"
        candidate = base[: 64 - len(suffix)] + suffix
    used.add(candidate)
    return candidate


def letters(index: int) -> str:
    """Option ids by position: A…Z, then AA, AB…, like spreadsheet columns."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _question(draft: DraftQuestion, number: int, used: set[str]) -> dict[str, Any]:
    qid = unique(fit_id(draft.name) or f"q{number}", used)
    result: dict[str, Any] = {"id": qid, "type": draft.type, "text": draft.text}
    if draft.type == "text":  # a written answer: matched (answer list) or manual (none)
        if draft.max_chars is not None:
            result["max_chars"] = draft.max_chars
        if draft.answer is not None:
            result["answer"] = list(draft.answer)
    elif draft.type == "numeric":
        result["answer"] = draft.answer
    else:
        option_ids: dict[str, str] = {}
        taken: set[str] = set()
        options = []
        for index, (raw, text) in enumerate(draft.options):
            oid = unique(fit_id(raw) or letters(index), taken)
            option_ids[raw] = oid
            options.append({"id": oid, "text": text})
        result["options"] = options
        answer = draft.answer
        if isinstance(answer, str):
            result["answer"] = option_ids[answer]
        else:
            result["answer"] = [option_ids[raw] for raw in answer]
    result["marking"] = draft.marking
    return result


def fitted_id(candidates: Iterable[str | None]) -> str:
    """The first candidate that can be made to fit the id pattern, fitted; else ``exam``."""
    return next((fit for raw in candidates if raw and (fit := fit_id(raw))), "exam")


@dataclass(frozen=True)
class Built:
    """The sections of a definition, and where each draft question went: (section, question)."""

    sections: list[dict[str, Any]]
    placed: dict[int, tuple[str, dict[str, Any]]]  # id() of a DraftQuestion → its place
    question_ids: frozenset[str]


def build_sections(sections: Iterable[DraftSection]) -> Built:
    """Sections with fitted, unique ids for sections, questions and options."""
    section_ids: set[str] = set()
    question_ids: set[str] = set()
    built: list[dict[str, Any]] = []
    placed: dict[int, tuple[str, dict[str, Any]]] = {}
    number = 0
    for index, section in enumerate(sections, start=1):
        sid = unique(fit_id(section.name) or f"s{index}", section_ids)
        questions = []
        for question in section.questions:
            number += 1
            questions.append(_question(question, number, question_ids))
            placed[id(question)] = (sid, questions[-1])
        doc: dict[str, Any] = {"id": sid, "title": section.title or sid, "questions": questions}
        if section.draw is not None:  # its range is checked with the definition (422)
            doc["draw"] = section.draw
        built.append(doc)
    return Built(built, placed, frozenset(question_ids))


def exam_document(
    sections: list[dict[str, Any]],
    *,
    exam_id: str,
    file_fields: Mapping[str, Any],
    settings: Mapping[str, Any],
    fallback_title: str,
) -> dict[str, Any]:
    """The complete definition: settings resolved as this module's docstring says."""
    merged: dict[str, Any] = {"id": exam_id}
    for key in SETTINGS:
        if key in settings:
            merged[key] = settings[key]
        elif key in file_fields:
            merged[key] = file_fields[key]
    shuffle = {"questions": False, "options": False}
    for source in (file_fields.get("shuffle"), settings.get("shuffle")):
        if isinstance(source, Mapping):
            shuffle.update(source)
        elif source is not None:
            merged["shuffle"] = source  # not an object: left for validation to report
            break
    else:
        merged["shuffle"] = shuffle
    document: dict[str, Any] = {
        "id": merged["id"],
        "title": merged.get("title") or fallback_title or exam_id,
    }
    for key, default in DEFAULTS.items():
        document[key] = merged.get(key, default)
    document["shuffle"] = merged["shuffle"]
    document["sections"] = sections
    return document
