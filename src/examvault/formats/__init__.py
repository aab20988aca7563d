"""Exams in and out of the formats exam teams already use: QTI, GIFT, Moodle XML, our JSON/YAML.

Exam teams hold their question banks in Moodle or a QTI tool; this package lets them
bring those in without retyping, and take an exam back out. Everything here is pure (bytes
in, values out): the web route and the CLI own files, requests and storage.

An import is all or nothing. Anything we cannot map faithfully — a question type we do
not have, a marking rule we cannot express, media a plain-text question cannot show —
refuses the whole file with :class:`ImportRefused`, naming each item and the reason,
unless ``skip_unsupported`` asks to import the rest and list what was left out. A broken
file (bad syntax, unsafe XML, a zip bomb) is always refused. What each format maps, and
how, is written in its module's docstring and in docs/formats.md.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from examvault.domain.exams import DefinitionError, parse_definition

from . import _qti_write, gift, moodle_xml, native, qti
from ._draft import (
    ID_PATTERN,
    SETTINGS,
    Draft,
    Malformed,
    Unsupported,
    build_sections,
    exam_document,
    fitted_id,
)

FORMATS = ("json", "yaml", "qti", "gift", "moodle_xml")
EXPORT_FORMATS = ("json", "yaml", "qti", "gift")

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


_READERS: dict[str, Callable[[bytes, str], Draft]] = {
    "gift": lambda data, _name: gift.read(data),
    "moodle_xml": lambda data, _name: moodle_xml.read(data),
    "qti": qti.read,
}


@dataclass(frozen=True)
class Skipped:
    """An item left out by ``skip_unsupported``: its identifier, name or line, and why."""

    item: str
    reason: str


@dataclass(frozen=True)
class Imported:
    """An imported exam: a complete exam definition document and what was left out."""

    definition: dict[str, Any]
    skipped: tuple[Skipped, ...]


class ImportRefused(Exception):
    """The file holds something we cannot map, or is malformed; nothing is imported."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0]["msg"] if errors else "refused"
        super().__init__(f"{len(errors)} problem(s); first: {first}")
        self.errors = errors


def _refuse(loc: list[Any], msg: str) -> ImportRefused:
    return ImportRefused([{"loc": loc, "msg": msg}])


def _xml_root(text: str) -> str | None:
    for match in re.finditer(r"<([?!]?)([A-Za-z_][\w.:-]*)", text):
        if not match.group(1):
            return match.group(2).rsplit(":", 1)[-1]
    return None


def detect_format(filename: str, data: bytes) -> str:
    """The format of an upload, from its content where that is telling, else its extension."""
    if data[:4] == b"PK\x03\x04":
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


def _converted(
    draft: Draft, stem: str, exam_id: str | None, settings: Mapping[str, Any], skip: bool
) -> Imported:
    if draft.problems and not skip:
        raise ImportRefused([{"loc": p.loc, "msg": p.msg} for p in draft.problems])
    skipped = tuple(Skipped(p.label, p.msg) for p in draft.problems)
    if not any(section.questions for section in draft.sections):
        raise _refuse([stem], "holds no question that can be imported")
    definition = exam_document(
        build_sections(draft.sections),
        exam_id=exam_id or fitted_id([draft.exam_id, stem]),
        file_fields=draft.fields,
        settings=settings,
        fallback_title=stem,
    )
    return Imported(definition, skipped)


def import_exam(
    data: bytes,
    *,
    filename: str,
    fmt: str = "auto",
    exam_id: str | None = None,
    settings: Mapping[str, Any] | None = None,
    skip_unsupported: bool = False,
) -> Imported:
    """Read an exam from an uploaded file; ImportRefused names every problem, imports nothing.

    ``settings`` are exam fields the format may not carry (title, duration_seconds,
    grace_seconds, show_result, opens_at, closes_at, shuffle); a value given here
    overrides the file. ``exam_id`` overrides the id the file or its name suggests.
    """
    if fmt != "auto" and fmt not in FORMATS:
        raise _refuse(["format"], f"must be auto or one of {', '.join(FORMATS)}")
    if exam_id is not None and not ID_PATTERN.fullmatch(exam_id):
        raise _refuse(["id"], "must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
    given = _settings(settings)
    chosen = detect_format(filename, data) if fmt == "auto" else fmt
    stem = _stem(filename)
    try:
        if chosen in ("json", "yaml"):
            imported = Imported(_native(data, chosen, stem, exam_id, given), ())
        else:
            imported = _converted(
                _READERS[chosen](data, filename), stem, exam_id, given, skip_unsupported
            )
    except Malformed as exc:
        raise _refuse(exc.problem.loc, exc.problem.msg) from None
    except Unsupported as exc:  # an item-level refusal outside any item (a test's limits)
        raise _refuse([filename], exc.reason) from None
    except RecursionError:
        raise _refuse([filename], "the file is nested too deeply to read") from None
    try:
        parse_definition(imported.definition)
    except DefinitionError as exc:
        raise ImportRefused(exc.errors) from None
    return imported


def export_exam(definition: Mapping[str, Any], fmt: str) -> tuple[bytes, str, str]:
    """An exam as a file: (content, media type, suggested file name). QTI is a zip package.

    Raises ValueError for an unknown format, and ``exams.DefinitionError`` (a ValueError)
    for a definition the server would not accept.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"cannot export to {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    parse_definition(definition)  # DefinitionError (a ValueError) names what is wrong
    exam_id = definition["id"]
    if fmt in ("gift", "qti") and any(
        q["type"] == "text" for s in definition["sections"] for q in s["questions"]
    ):
        # Written answers in GIFT and QTI come with their import (docs/formats.md); until
        # then such an exam is exported as JSON or YAML, never half-written.
        raise ValueError(f"the {fmt} export does not write text questions yet; use json or yaml")
    if fmt == "json":
        return native.dump(definition, "json"), "application/json", f"{exam_id}.json"
    if fmt == "yaml":
        return native.dump(definition, "yaml"), "application/yaml", f"{exam_id}.yaml"
    if fmt == "gift":
        return gift.write(definition), "text/plain; charset=utf-8", f"{exam_id}.gift.txt"
    return _qti_write.write(definition), "application/zip", f"{exam_id}.qti.zip"


__all__ = [
    "EXPORT_FORMATS",
    "FORMATS",
    "ImportRefused",
    "Imported",
    "Skipped",
    "detect_format",
    "export_exam",
    "import_exam",
]
