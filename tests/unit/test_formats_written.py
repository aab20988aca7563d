"""Written answers in and out of the formats (QUESTIONS.md's `text` type; docs/formats.md).

GIFT ``{}`` and Moodle XML ``essay`` and QTI ``extendedTextInteraction`` become manual
``text`` questions; GIFT ``{=a =b}``, Moodle ``shortanswer`` and a QTI text entry of a
string with a correct response or mapping become matched ones. These tests read the
files into definition dicts with the readers themselves; the end-to-end import, which
validates with the domain, needs the domain's `text` type (another branch adds it).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from examvault.domain.exams import DefinitionError, parse_definition
from examvault.formats import _qti_write, gift, import_exam, moodle_xml, qti
from examvault.formats._draft import Draft, build_sections

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"


def _text_type_in_domain() -> bool:
    exam = {
        "id": "x", "title": "x", "duration_seconds": 60,
        "sections": [{"id": "s", "title": "s", "questions": [
            {"id": "q", "type": "text", "text": "?", "marking": {"correct": 1, "manual": True}}
        ]}],
    }  # fmt: skip
    try:
        parse_definition(exam)
    except DefinitionError:
        return False
    return True


needs_text_type = pytest.mark.skipif(
    not _text_type_in_domain(), reason="text type not in domain yet"
)


def _package(directory: str) -> bytes:
    root = FIXTURES / "qti" / directory
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def _questions(draft: Draft) -> list[dict[str, Any]]:
    assert draft.problems == ()
    return [q for s in build_sections(draft.sections).sections for q in s["questions"]]


GIFT_WRITTEN = [
    {"id": "explain", "type": "text", "text": "Explain why the sky is blue.",
     "marking": {"correct": 1, "manual": True}},
    {"id": "capital", "type": "text", "text": "What is the capital of France?",
     "answer": ["Paris", "paris city"], "marking": {"correct": 1, "wrong": 0}},
    {"id": "blank", "type": "text", "text": "The chemical symbol for gold is _____ in every table.",
     "answer": ["Au"], "marking": {"correct": 1, "wrong": 0}},
]  # fmt: skip


def test_gift_essays_are_manual_and_short_answers_matched() -> None:
    draft = gift.read((FIXTURES / "gift" / "written.gift").read_bytes())
    assert _questions(draft) == GIFT_WRITTEN


def test_moodle_essay_is_manual_out_of_its_grade_and_shortanswer_matched() -> None:
    draft = moodle_xml.read((FIXTURES / "moodle_xml" / "written.xml").read_bytes())
    assert _questions(draft) == [
        {"id": "Describe_a_vector", "type": "text",
         "text": "Describe a vector in your own words.",
         "marking": {"correct": 10, "manual": True}},
        {"id": "Capital", "type": "text", "text": "Capital of France?",
         "answer": ["Paris", "Paris city"], "marking": {"correct": 2, "wrong": 0}},
    ]  # fmt: skip


def test_qti_extended_text_is_manual_and_a_string_entry_matched() -> None:
    draft = qti.read(_package("written_package"), "w.zip")
    assert _questions(draft) == [
        {"id": "essay", "type": "text", "text": "Describe your town.",
         "marking": {"correct": 5, "manual": True}},
        {"id": "short", "type": "text", "text": "Made glorious summer by this sun of _____.",
         "answer": ["York"], "marking": {"correct": 1, "wrong": 0}},
        {"id": "mapped", "type": "text", "text": "Name the compound: _____",
         "answer": ["H2O", "water"], "marking": {"correct": 3, "wrong": -1}},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("gift_text", "words"),
    [
        ("::w::W?{=%50%half =full}", "50% credit"),
        ("::w::W?{=a* =b}", "wildcard"),
    ],
)
def test_what_a_matched_answer_cannot_hold_is_refused(gift_text: str, words: str) -> None:
    draft = gift.read(gift_text.encode())
    assert [p.item for p in draft.problems] == ["w"] and words in draft.problems[0].msg


def _exam(questions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "w", "title": "Written", "duration_seconds": 600,
            "sections": [{"id": "main", "title": "Questions", "questions": questions}]}  # fmt: skip


def test_gift_writes_written_answers_back() -> None:
    written = gift.write(_exam(GIFT_WRITTEN)).decode()
    assert "::explain::Explain why the sky is blue.{}" in written
    assert "::capital::What is the capital of France?{=Paris =paris city}" in written
    assert _questions(gift.read(written.encode()))[:2] == GIFT_WRITTEN[:2]


def test_qti_writes_written_answers_back_with_their_marks() -> None:
    questions = [
        {"id": "e1", "type": "text", "text": "Explain.", "marking": {"correct": 10, "manual": True}},
        {"id": "s1", "type": "text", "text": "Capital?", "answer": ["Paris", "paris city"],
         "marking": {"correct": 2, "wrong": "-1/3", "unanswered": 0}},
    ]  # fmt: skip
    package = _qti_write.write(_exam(questions))
    read = _questions(qti.read(package, "w.zip"))
    assert read == [
        {"id": "e1", "type": "text", "text": "Explain.", "marking": {"correct": 10, "manual": True}},
        {"id": "s1", "type": "text", "text": "Capital?", "answer": ["Paris", "paris city"],
         "marking": {"correct": 2, "wrong": "-1/3"}},
    ]  # fmt: skip


@needs_text_type
def test_written_answers_import_end_to_end() -> None:
    imported = import_exam((FIXTURES / "gift" / "written.gift").read_bytes(), filename="w.gift")
    questions = [q for s in imported.definition["sections"] for q in s["questions"]]
    assert questions == GIFT_WRITTEN
