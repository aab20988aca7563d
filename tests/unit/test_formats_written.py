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

from examvault.formats import _qti_write, gift, import_exam, moodle_xml, qti
from examvault.formats._draft import Draft, build_sections

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats"


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


def test_written_answers_import_end_to_end() -> None:
    imported = import_exam((FIXTURES / "gift" / "written.gift").read_bytes(), filename="w.gift")
    questions = [q for s in imported.definition["sections"] for q in s["questions"]]
    assert questions == GIFT_WRITTEN


def _moodle_question(kind: str, inner: str) -> bytes:
    return (
        f'<quiz><question type="{kind}"><name><text>w</text></name>'
        f'<questiontext format="html"><text>Write.</text></questiontext>{inner}</question></quiz>'
    ).encode()


@pytest.mark.parametrize(
    ("kind", "inner", "words"),
    [
        ("essay", "<attachments>2</attachments>", "attached files"),
        ("essay", "<responseformat>noinline</responseformat>", "only by attached files"),
        ("essay", "<maxwordlimit>300</maxwordlimit>", "word limit (<maxwordlimit>)"),
        ("essay", "<graderinfo><text>Give 2 marks for…</text></graderinfo>", "<graderinfo>"),
        (
            "shortanswer",
            "<usecase>1</usecase><answer fraction='100'><text>a</text></answer>",
            "case-sensitive",
        ),
        ("shortanswer", "<answer fraction='50'><text>a</text></answer>", "50%"),
        ("shortanswer", "<answer fraction='100'><text>a*b</text></answer>", "wildcard"),
        ("shortanswer", "<answer fraction='0'><text>a</text></answer>", "no answer is fully"),
    ],
)
def test_what_moodle_written_answers_ask_beyond_text_is_refused(
    kind: str, inner: str, words: str
) -> None:
    draft = moodle_xml.read(_moodle_question(kind, inner))
    assert [p.item for p in draft.problems] == ["w"] and words in draft.problems[0].msg


def _qti_item(declaration: str, body: str, processing: str = "", outcomes: str = "") -> bytes:
    return f"""<?xml version="1.0"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="w" title="w"
  adaptive="false" timeDependent="false">
  {declaration}{outcomes}
  <itemBody><p>Write.</p>{body}</itemBody>{processing}
</assessmentItem>""".encode()


STRING = '<responseDeclaration identifier="R" cardinality="single" baseType="string">'
MAP_RESPONSE = (
    '<responseProcessing template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/'
    'map_response"/>'
)


@pytest.mark.parametrize(
    ("item", "words"),
    [
        (_qti_item(STRING + "</responseDeclaration>",
                   '<extendedTextInteraction responseIdentifier="R" maxStrings="3"/>'),
         "several strings"),
        (_qti_item(STRING + "</responseDeclaration>",
                   '<extendedTextInteraction responseIdentifier="R"/>',
                   outcomes='<outcomeDeclaration identifier="SCORE" cardinality="single" '
                            'baseType="float" normalMaximum="0"/>'),
         "not positive"),
        (_qti_item(STRING + '<mapping caseSensitive="true"><mapEntry mapKey="a" mappedValue="1"/>'
                   "</mapping></responseDeclaration>",
                   '<textEntryInteraction responseIdentifier="R"/>', MAP_RESPONSE),
         "case-sensitive mapping"),
        (_qti_item(STRING + '<mapping><mapEntry mapKey="a" mappedValue="2"/>'
                   '<mapEntry mapKey="b" mappedValue="1"/></mapping></responseDeclaration>',
                   '<textEntryInteraction responseIdentifier="R"/>', MAP_RESPONSE),
         "'b' gets partial credit"),
        (_qti_item(STRING + "</responseDeclaration>",
                   '<textEntryInteraction responseIdentifier="R"/>', MAP_RESPONSE),
         "no correct response or mapping"),
        (_qti_item(STRING + '<mapping defaultValue="1"><mapEntry mapKey="a" mappedValue="1"/>'
                   "</mapping></responseDeclaration>",
                   '<textEntryInteraction responseIdentifier="R"/>', MAP_RESPONSE),
         "no answer scores more"),
        (_qti_item(STRING.replace("string", "boolean") + "</responseDeclaration>",
                   '<textEntryInteraction responseIdentifier="R"/>'),
         "base type 'boolean'"),
    ],
    ids=["strings", "maximum", "case", "partial", "no-key", "no-better", "boolean"],
)  # fmt: skip
def test_what_qti_written_answers_ask_beyond_text_is_refused(item: bytes, words: str) -> None:
    draft = qti.read(item, "w.xml")
    assert [p.item for p in draft.problems] == ["w"] and words in draft.problems[0].msg


def test_a_qti_essay_is_out_of_maxscore_without_a_normal_maximum() -> None:
    item = _qti_item(
        STRING + "</responseDeclaration>",
        '<extendedTextInteraction responseIdentifier="R"/>',
        outcomes='<outcomeDeclaration identifier="MAXSCORE" cardinality="single" '
        'baseType="float"><defaultValue><value>4</value></defaultValue></outcomeDeclaration>',
    )
    assert _questions(qti.read(item, "w.xml"))[0]["marking"] == {"correct": 4, "manual": True}
