"""Exams in and out of the formats exam teams already use: QTI, GIFT, Moodle XML, our JSON/YAML.

Exam teams hold their question banks in Moodle or a QTI tool; this package lets them
bring those in without retyping, and take an exam back out. Everything here is pure (bytes
in, values out): the web route and the CLI own files, requests and storage.

An import is all or nothing. Anything we cannot map faithfully — a question type we do
not have, a marking rule we cannot express, a link, audio or a picture the file does not
hold — refuses the whole file with :class:`ImportRefused`, naming each item and the reason,
unless ``skip_unsupported`` asks to import the rest and list what was left out. A broken
file (bad syntax, unsafe XML, a zip bomb) is always refused. What each format maps, and
how, is written in its module's docstring and in docs/formats.md. Formatted text, formulas
and pictures are carried: an import hands on the pictures its markup shows
(:attr:`Imported.media`), which the caller stores with the exam, and an export writes
them into the file (a QTI package, Moodle XML's base64 files, a zip beside JSON/YAML).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from examvault.domain.exams import DefinitionError, media_uses, parse_definition

from . import _moodle_write, _qti_write, bundle, gift, moodle_xml, native, qti
from ._draft import (
    ID_PATTERN,
    SETTINGS,
    Built,
    Draft,
    DraftQuestion,
    Malformed,
    Medium,
    Problem,
    Progress,
    Unsupported,
    build_sections,
    exam_document,
    fit_id,
    fitted_id,
    no_progress,
    unique,
)
from ._media import Bank, missing_media, shown_media

FORMATS = ("json", "yaml", "qti", "gift", "moodle_xml")
EXPORT_FORMATS = ("json", "yaml", "qti", "gift", "moodle_xml")
# An exam's media for an export: name → (content type, bytes).
Media = Mapping[str, tuple[str, bytes]]

_EXTENSIONS = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".gift": "gift", ".zip": "qti"}
_STRIPPED = (".json", ".yaml", ".yml", ".gift", ".txt", ".xml", ".zip", ".qti")
_QTI_ROOTS = frozenset(
    ("assessmentItem", "assessmentTest", "qti-assessment-item", "qti-assessment-test", "manifest")
)
# What tells GIFT apart: a line starting `::` or `$CATEGORY:`, or an answer block `{…}` (no
# brace inside) holding ~ = # or ->, or a true/false block `{T}`. One regex with the block
# as `\{[^{}]*(~|=|#|->)[^{}]*\}` backtracks in time quadratic in a block's length (a `{`
# then 70,000 `=` took 9 s): the blocks are found first, each scanned once, then looked in.
_GIFT_LINE = re.compile(r"(?:^|\n)[ \t]*(?:::|\$CATEGORY:)")
_BRACED = re.compile(r"\{([^{}]*)\}")
_TRUE_FALSE = frozenset(("T", "F", "TRUE", "FALSE"))


def _looks_like_gift(head: str) -> bool:
    """Whether the text has GIFT's marks, in time linear in its length."""
    if _GIFT_LINE.search(head):
        return True
    for block in _BRACED.finditer(head):
        inner = block.group(1)
        if any(mark in inner for mark in ("~", "=", "#", "->")):
            return True
        if inner.strip(" \t") in _TRUE_FALSE:
            return True
    return False


_READERS: dict[str, Callable[[bytes, str, Progress], Draft]] = {
    "gift": lambda data, _name, progress: gift.read(data, progress),
    "moodle_xml": lambda data, _name, progress: moodle_xml.read(data, progress),
    "qti": qti.read,
}


@dataclass(frozen=True)
class Skipped:
    """An item left out by ``skip_unsupported``: ``id (where)``, and why.

    ``id`` is the id the exam would give the item (its question id, fitted as every other),
    or the name of a rule that is not one question (a section's random selection).
    """

    item: str
    reason: str
    id: str = ""


@dataclass(frozen=True)
class ItemReport:
    """What one item of the file becomes, or why it cannot be carried (a dry run's line)."""

    id: str
    source: str
    section: str | None = None
    type: str | None = None
    marking: Mapping[str, Any] | None = None
    media: tuple[str, ...] = ()
    refused: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The report line as the route and the CLI give it."""
        if self.refused is not None:
            return {"id": self.id, "source": self.source, "refused": self.refused}
        return {
            "id": self.id,
            "source": self.source,
            "section": self.section,
            "type": self.type,
            "marking": dict(self.marking or {}),
            "media": list(self.media),
        }


@dataclass(frozen=True)
class Imported:
    """An imported exam: a complete exam definition document and what was left out.

    ``items`` lists every item of the file in its order, carried or left out; ``notes``
    says what was read but changes nothing (a QTI item weight the test does not use);
    ``media`` are the pictures the definition's markup shows (``media:NAME``), each once,
    to be stored with the exam before it.
    """

    definition: dict[str, Any]
    skipped: tuple[Skipped, ...]
    items: tuple[ItemReport, ...] = ()
    notes: tuple[str, ...] = ()
    media: tuple[Medium, ...] = ()


@dataclass(frozen=True)
class Preview:
    """A dry run: what an import of the file would store, item by item, storing nothing.

    ``importable`` says whether the import with the same options would store the exam;
    when it would not, ``errors`` are the errors it would answer (the problem+json list).
    """

    exam_id: str
    title: str
    importable: bool
    items: tuple[ItemReport, ...]
    skipped: tuple[Skipped, ...]
    notes: tuple[str, ...]
    errors: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The preview as the route and the CLI give it."""
        carried = [i for i in self.items if i.refused is None]
        return {
            "dry_run": True,
            "id": self.exam_id,
            "title": self.title,
            "importable": self.importable,
            "questions": len(carried),
            "sections": len(dict.fromkeys(i.section for i in carried)),
            "items": [i.as_json() for i in self.items],
            "skipped": [{"item": s.item, "id": s.id, "reason": s.reason} for s in self.skipped],
            "notes": list(self.notes),
            "errors": list(self.errors),
        }


class ImportRefused(Exception):
    """The file holds something we cannot map, or is malformed; nothing is imported."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]["msg"] if errors else "refused"
        super().__init__(f"{len(errors)} problem(s); first: {first}")
        self.errors = errors


def _refuse(loc: list[Any], msg: str) -> ImportRefused:
    return ImportRefused([{"loc": loc, "msg": msg}])


def _without_comments(text: str) -> str:
    """The text with XML comments cut out, in one pass (an unclosed one ends the text)."""
    kept, at = [], 0
    while (start := text.find("<!--", at)) >= 0:
        kept.append(text[at:start])
        end = text.find("-->", start + 4)
        if end < 0:
            return "".join(kept)
        at = end + 3
    kept.append(text[at:])
    return "".join(kept)


def _xml_root(text: str) -> str | None:
    text = _without_comments(text)  # a comment may mention tags
    for match in re.finditer(r"<([?!]?)([A-Za-z_][\w.:-]*)", text):
        if not match.group(1):
            return match.group(2).rsplit(":", 1)[-1]
    return None


def detect_format(filename: str, data: bytes) -> str:
    """The format of an upload, from its content where that is telling, else its extension."""
    if data[:4] == b"PK\x03\x04":
        members = bundle.names(data)
        if "imsmanifest.xml" not in members:
            for name, fmt in bundle.FILES.items():
                if name in members:
                    return fmt
        return "qti"
    name = filename.lower()
    head = data[:65536].decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        root = _xml_root(head)
        if root == "quiz":
            return "moodle_xml"
        if root in _QTI_ROOTS:
            return "qti"
        raise _refuse([filename], f"an XML file with root <{root}> is neither Moodle XML nor QTI")
    if name.endswith(".gift.txt"):
        return "gift"
    for extension, fmt in _EXTENSIONS.items():
        if name.endswith(extension):
            return fmt
    if head.startswith(("{", "[")):
        try:
            json.loads(data)
            return "json"
        except (ValueError, RecursionError):
            pass
    if _looks_like_gift(head):
        return "gift"
    try:
        if isinstance(yaml.safe_load(head), dict):
            return "yaml"
    except (yaml.YAMLError, ValueError, RecursionError):
        pass
    raise _refuse(
        [filename], "cannot tell the file's format; name it (json, yaml, qti, gift, moodle_xml)"
    )


def _stem(filename: str) -> str:
    name = filename.replace("\\", "/")
    name = posixpath.basename(name)
    while (dot := name.rfind(".")) > 0 and name[dot:].lower() in _STRIPPED:
        name = name[:dot]
    return name


def _settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    given = dict(settings or {})
    unknown = [key for key in given if key not in SETTINGS]
    if unknown:
        raise ImportRefused(
            [{"loc": ["settings", key], "msg": "is not an exam setting"} for key in unknown]
        )
    return {k: v for k, v in given.items() if v is not None or k in ("opens_at", "closes_at")}


def _native(
    data: bytes, fmt: str, stem: str, exam_id: str | None, settings: Mapping[str, Any]
) -> dict[str, Any]:
    document = native.load(data, fmt)
    file_id = document.get("id")
    chosen = exam_id or (file_id if isinstance(file_id, str) else fitted_id([stem]))
    definition = exam_document(
        document.get("sections"),  # type: ignore[arg-type]  # checked below
        exam_id=chosen,
        file_fields=document,
        settings=settings,
        fallback_title=stem,
    )
    definition.update({k: v for k, v in document.items() if k not in definition})
    return definition


def _refused_ids(built: Built, order: tuple[DraftQuestion | Problem, ...]) -> dict[int, str]:
    """The id each refused item would have: fitted like a question's, unique in the exam."""
    used = set(built.question_ids)
    ids: dict[int, str] = {}
    number = 0
    for entry in order:
        if isinstance(entry, DraftQuestion):
            number += 1
        elif entry.name is not None:
            number += 1
            ids[id(entry)] = unique(fit_id(entry.name) or f"q{number}", used)
        else:
            ids[id(entry)] = entry.item
    return ids


def _converted(
    draft: Draft, stem: str, exam_id: str | None, settings: Mapping[str, Any], skip: bool
) -> tuple[Imported, list[dict[str, Any]]]:
    """The import of a draft and the errors that refuse it (none: it can be stored)."""
    built = build_sections(draft.sections)
    ids = _refused_ids(built, draft.order)
    items: list[ItemReport] = []
    skipped: list[Skipped] = []
    errors: list[dict[str, Any]] = []
    bank = Bank()
    over: list[dict[str, Any]] = []
    for entry in draft.order:
        if isinstance(entry, Problem):
            rid = ids[id(entry)]
            where = entry.where or entry.item
            items.append(ItemReport(rid, where, refused=entry.msg))
            skipped.append(Skipped(f"{rid} ({where})", entry.msg, rid))
            errors.append({"loc": [rid, where], "msg": entry.msg})
            continue
        sid, question = built.placed[id(entry)]
        shown = bank.add(question, entry.media)
        if bank.over_limit() and not over:
            msg = "its pictures take the exam's media past 50 MiB, more than an exam may hold"
            over.append({"loc": [question["id"], _source(entry)], "msg": msg})
        items.append(
            ItemReport(
                question["id"], _source(entry), sid, question["type"],
                question["marking"], tuple(m.name for m in shown),
            )
        )  # fmt: skip
    definition = exam_document(
        built.sections,
        exam_id=exam_id or fitted_id([draft.exam_id, stem]),
        file_fields=draft.fields,
        settings=settings,
        fallback_title=stem,
    )
    if skip:
        errors = []
    errors += over  # not an item's own fault: skipping cannot leave it out
    if not errors and not built.placed:
        errors = [{"loc": [stem], "msg": "holds no question that can be imported"}]
    media = tuple(bank.media.values())
    imported = Imported(definition, tuple(skipped), tuple(items), draft.notes, media)
    return imported, errors


def _source(question: DraftQuestion) -> str:
    return question.name or ""


def _native_items(definition: Mapping[str, Any]) -> tuple[ItemReport, ...]:
    items = []
    for section in definition.get("sections") or []:
        if not isinstance(section, Mapping):
            continue
        for question in section.get("questions") or []:
            if isinstance(question, Mapping):
                items.append(
                    ItemReport(
                        str(question.get("id")), str(question.get("id")), section.get("id"),
                        question.get("type"), question.get("marking"), shown_media(question),
                    )
                )  # fmt: skip
    return tuple(items)


def _native_import(
    data: bytes, fmt: str, stem: str, exam_id: str | None, settings: Mapping[str, Any]
) -> Imported:
    """A JSON/YAML document, or a bundle of one with its media (``bundle``)."""
    media: tuple[Medium, ...] = ()
    if data[:4] == b"PK\x03\x04":
        data, fmt, media = bundle.read(data)
    definition = _native(data, fmt, stem, exam_id, settings)
    return Imported(definition, (), _native_items(definition), (), media)


def _read(
    data: bytes,
    filename: str,
    fmt: str,
    exam_id: str | None,
    settings: Mapping[str, Any] | None,
    skip_unsupported: bool,
    progress: Progress,
) -> tuple[Imported, list[dict[str, Any]]]:
    """The import and the errors that would refuse it; ImportRefused for a broken file."""
    if fmt != "auto" and fmt not in FORMATS:
        raise _refuse(["format"], f"must be auto or one of {', '.join(FORMATS)}")
    if exam_id is not None and not ID_PATTERN.fullmatch(exam_id):
        raise _refuse(["id"], "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
    given = _settings(settings)
    chosen = detect_format(filename, data) if fmt == "auto" else fmt
    stem = _stem(filename)
    errors: list[dict[str, Any]]
    try:
        if chosen in ("json", "yaml"):
            imported, errors = _native_import(data, chosen, stem, exam_id, given), []
        else:
            imported, errors = _converted(
                _READERS[chosen](data, filename, progress), stem, exam_id, given, skip_unsupported
            )
    except Malformed as exc:
        raise _refuse(exc.problem.loc, exc.problem.msg) from None
    except Unsupported as exc:  # an item-level refusal outside any item (a test's limits)
        raise _refuse([filename], exc.reason) from None
    except RecursionError:
        raise _refuse([filename], "the file is nested too deeply to read") from None
    if not errors:
        try:
            parse_definition(imported.definition)
        except DefinitionError as exc:
            errors = list(exc.errors)
        else:
            bundled = data[:4] == b"PK\x03\x04"
            errors = missing_media(imported.definition, imported.media, chosen, bundled)
    return imported, errors


def import_exam(
    data: bytes,
    *,
    filename: str,
    fmt: str = "auto",
    exam_id: str | None = None,
    settings: Mapping[str, Any] | None = None,
    skip_unsupported: bool = False,
    progress: Progress = no_progress,
) -> Imported:
    """Read an exam from an uploaded file; ImportRefused names every problem, imports nothing.

    ``settings`` are exam fields the format may not carry (title, duration_seconds,
    grace_seconds, show_result, opens_at, closes_at, shuffle); a value given here
    overrides the file. ``exam_id`` overrides the id the file or its name suggests.
    ``progress(done, total)`` is called as items are read (a long import's progress bar).
    """
    imported, errors = _read(data, filename, fmt, exam_id, settings, skip_unsupported, progress)
    if errors:
        raise ImportRefused(errors)
    return imported


def preview_import(
    data: bytes,
    *,
    filename: str,
    fmt: str = "auto",
    exam_id: str | None = None,
    settings: Mapping[str, Any] | None = None,
    skip_unsupported: bool = False,
    progress: Progress = no_progress,
) -> Preview:
    """A dry run of :func:`import_exam` with the same arguments: every item, nothing stored.

    A broken file is refused (ImportRefused) as by the import; anything else is listed —
    each item as the question it would become, or why it cannot be carried.
    """
    imported, errors = _read(data, filename, fmt, exam_id, settings, skip_unsupported, progress)
    definition = imported.definition
    return Preview(
        str(definition.get("id")),
        str(definition.get("title")),
        not errors,
        imported.items,
        imported.skipped,
        imported.notes,
        tuple(errors),
    )


def export_exam(
    definition: Mapping[str, Any], fmt: str, media: Media | None = None
) -> tuple[bytes, str, str]:
    """An exam as a file: (content, media type, suggested file name). QTI is a zip package.

    ``media`` are the exam's pictures by name (content type, bytes); every picture the
    markup shows must be there. JSON/YAML of an exam with pictures is a zip (``bundle``).
    Raises ValueError for an unknown format or what the format cannot hold (a picture in
    GIFT, naming the question), and ``exams.DefinitionError`` (a ValueError) for a
    definition the server would not accept.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"cannot export to {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    uses = media_uses(parse_definition(definition))  # DefinitionError names what is wrong
    given = media or {}
    missing = [f"{whose}: media:{name}" for name, whose in uses.items() if name not in given]
    if missing:
        raise ValueError(f"the exam's media are not all given ({', '.join(missing)})")
    files = {name: given[name][1] for name in uses}
    exam_id = definition["id"]
    if fmt in ("json", "yaml"):
        document = native.dump(definition, fmt)
        if files:
            return bundle.write(document, fmt, files), "application/zip", f"{exam_id}.{fmt}.zip"
        return document, f"application/{fmt}", f"{exam_id}.{fmt}"
    if fmt == "gift":
        return gift.write(definition), "text/plain; charset=utf-8", f"{exam_id}.gift.txt"
    if fmt == "moodle_xml":
        content = _moodle_write.write(definition, files)
        return content, "application/xml", f"{exam_id}.moodle.xml"
    return _qti_write.write(definition, files), "application/zip", f"{exam_id}.qti.zip"


__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "ImportRefused",
    "Imported",
    "ItemReport",
    "Media",
    "Medium",
    "Preview",
    "Skipped",
    "detect_format",
    "export_exam",
    "import_exam",
    "preview_import",
]
