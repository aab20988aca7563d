"""QTI 3.0 / 2.1 import and export (src/examvault/formats/qti.py, _qti_rp.py, _qti_write.py)."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from examvault.domain.exams import parse_definition
from examvault.formats import ImportRefused, detect_format, export_exam, import_exam

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats" / "qti"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _package(directory: str, changes: dict[str, bytes | None] | None = None) -> bytes:
    """The fixture directory as a zip, with files replaced (or dropped, with None)."""
    root = FIXTURES / directory
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    for name, content in (changes or {}).items():
        if content is None:
            files.pop(name, None)
        else:
            files[name] = content
    return _zip(files)


def _import(data: bytes, filename: str = "package.zip", **kwargs: Any) -> dict[str, Any]:
    return import_exam(data, filename=filename, **kwargs).definition


def _questions(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for s in definition["sections"] for q in s["questions"]}


def _refusal(data: bytes, filename: str = "package.zip", **kwargs: Any) -> list[dict[str, Any]]:
    with pytest.raises(ImportRefused) as refused:
        import_exam(data, filename=filename, **kwargs)
    return refused.value.errors


@pytest.fixture(scope="module")
def qti3() -> dict[str, Any]:
    return _import(_package("qti3_package"), "mock.zip")


def test_qti3_package_is_accepted_by_the_server(qti3: dict[str, Any]) -> None:
    parse_definition(qti3)


def test_the_test_gives_id_title_duration_and_question_shuffle(qti3: dict[str, Any]) -> None:
    assert qti3["id"] == "mock-test-3"  # "_mock-test-3" made to fit
    assert qti3["title"] == "Mock test 3"
    assert qti3["duration_seconds"] == 5400
    assert qti3["shuffle"] == {"questions": True, "options": False}


def test_sections_with_items_become_sections_nested_ones_flattened(qti3: dict[str, Any]) -> None:
    layout = [(s["id"], s["title"], [q["id"] for q in s["questions"]]) for s in qti3["sections"]]
    assert layout == [
        ("chemistry", "Chemistry", ["choice", "water", "penalty"]),
        ("numbers", "Numbers", ["pi", "range", "inline"]),
        ("maths", "Mathematics", ["thirds"]),
    ]


def test_match_correct_with_maxscore(qti3: dict[str, Any]) -> None:
    q = _questions(qti3)["choice"]
    assert q["type"] == "single"
    assert q["text"] == "Look at the text in the picture.\nWhat does it say?"
    assert [o["id"] for o in q["options"]] == ["ChoiceA", "ChoiceB", "ChoiceC"]
    assert q["options"][2]["text"] == "Remember your luggage when you leave."  # no feedback
    assert q["answer"] == "ChoiceA"
    assert q["marking"] == {"correct": 2, "wrong": 0}


def test_map_response_with_bounds_is_proportional(qti3: dict[str, Any]) -> None:
    q = _questions(qti3)["water"]
    assert q["type"] == "multiple"
    assert q["answer"] == ["H", "O"]
    assert q["marking"] == {"correct": 2, "wrong": 0, "partial": "proportional"}


def test_custom_processing_and_a_used_weight(qti3: dict[str, Any]) -> None:
    assert _questions(qti3)["penalty"]["marking"] == {"correct": 8, "wrong": -2}


def test_numeric_tolerance_range_and_inline_blank(qti3: dict[str, Any]) -> None:
    questions = _questions(qti3)
    pi = questions["pi"]
    assert pi["type"] == "numeric"
    assert pi["text"] == "Give π to two decimal places."
    assert pi["answer"] == {"value": Decimal("3.14"), "tolerance": Decimal("0.005")}
    assert pi["marking"] == {"correct": 2, "wrong": 0}
    assert questions["range"]["answer"] == {"min": 10, "max": 20}
    # The file scores no response as -0.25 too (its else branch): read faithfully.
    assert questions["range"]["marking"] == {
        "correct": 1,
        "wrong": Decimal("-0.25"),
        "unanswered": Decimal("-0.25"),
    }
    assert questions["inline"]["text"] == "A dozen is _____ eggs."
    assert questions["inline"]["answer"] == {"value": 12}


def test_float_thirds_and_superscripts(qti3: dict[str, Any]) -> None:
    q = _questions(qti3)["thirds"]
    assert q["text"] == {"html": "<p>x<sup>2</sup> = 4 and x &gt; 0. Then x =</p>"}
    assert q["marking"] == {"correct": 1, "wrong": "-1/3"}


def test_qti21_package() -> None:
    definition = _import(_package("qti21_package"))
    parse_definition(definition)
    assert (definition["id"], definition["title"]) == ("geo-21", "Geography and science (QTI 2.1)")
    assert definition["duration_seconds"] == 1801  # maxTime 1800.5, rounded up
    assert [s["id"] for s in definition["sections"]] == ["geo", "sci"]
    questions = _questions(definition)
    assert questions["capital"]["answer"] == "paris"
    assert questions["capital"]["text"] == "What is the capital of France?"
    assert questions["primes"]["answer"] == ["p2", "p3"]
    assert questions["primes"]["marking"] == {
        "correct": 1,
        "wrong": Decimal("-0.5"),
        "partial": "proportional",
    }
    assert questions["boiling"]["answer"] == {"min": 99, "max": 101}


@pytest.mark.parametrize(
    ("name", "qid", "marking"),
    [
        ("qti21_item.xml", "capital", {"correct": 1, "wrong": 0}),
        ("qti3_item.xml", "penalty", {"correct": 4, "wrong": -1}),
    ],
)
def test_a_single_item_file(name: str, qid: str, marking: dict[str, Any]) -> None:
    data = (FIXTURES / name).read_bytes()
    assert detect_format(name, data) == "qti"
    definition = _import(data, name)
    assert definition["id"] == name.removesuffix(".xml")
    assert [s["id"] for s in definition["sections"]] == ["main"]
    assert _questions(definition)[qid]["marking"] == marking


def test_a_package_without_a_test_lists_its_items() -> None:
    manifest = (FIXTURES / "qti3_package" / "imsmanifest.xml").read_bytes()
    manifest = manifest.replace(b'type="imsqti_test_xmlv3p0"', b'type="webcontent"')
    definition = _import(_package("qti3_package", {"imsmanifest.xml": manifest}), "loose.zip")
    assert definition["id"] == "loose"
    assert len(definition["sections"][0]["questions"]) == 7


UNSUPPORTED = [
    (["S1", "test.xml"], "selects 3 of its items at random"),
    (["essay", "items/essay.xml"], "pattern mask"),
    (["match", "items/match.xml"], "matching"),
    (["order", "items/order.xml"], "ordering"),
    (["short", "items/short_text.xml"], "several strings"),
    (["picture", "items/picture.xml"], "a picture (cat.png)"),
    (["info", "items/info.xml"], "no interaction"),
    (["two", "items/two_interactions.xml"], "several interactions"),
    (["adaptive", "items/adaptive.xml"], "adaptive"),
    (["unequal", "items/unequal_map.xml"], "partial credit"),
    (["operator", "items/unknown_operator.xml"], "<patternMatch>"),
]


def test_unsupported_items_refuse_the_package_naming_each() -> None:
    errors = _refusal(_package("qti3_unsupported"))
    assert [e["loc"] for e in errors] == [loc for loc, _ in UNSUPPORTED]
    for error, (_, words) in zip(errors, UNSUPPORTED, strict=True):
        assert words in error["msg"]


def test_skip_unsupported_keeps_the_rest_and_ignores_the_selection() -> None:
    imported = import_exam(_package("qti3_unsupported"), filename="u.zip", skip_unsupported=True)
    questions = _questions(imported.definition)
    assert list(questions) == ["ok", "formula"]  # MathML is kept
    assert questions["formula"]["text"] == {
        "html": "<p>Is <math><msqrt><mn>4</mn></msqrt></math> two?</p>"
    }
    assert imported.skipped[0].item == "S1 (test.xml)"
    assert len(imported.skipped) == len(UNSUPPORTED)


def _item(processing: str, declaration: str = "", body_extra: str = "") -> bytes:
    return f"""<?xml version="1.0"?>
<assessmentItem xmlns="http://www.imsglobal.org/xsd/imsqti_v2p1" identifier="x" title="x"
  adaptive="false" timeDependent="false">
  <responseDeclaration identifier="RESPONSE" cardinality="single" baseType="float">
    <correctResponse><value>10</value></correctResponse>{declaration}
  </responseDeclaration>
  <outcomeDeclaration identifier="SCORE" cardinality="single" baseType="float"/>
  <itemBody><p>How many?</p><div><textEntryInteraction responseIdentifier="RESPONSE"/></div>
  {body_extra}</itemBody>
  {processing}
</assessmentItem>""".encode()


def _equal(attrs: str) -> str:
    return f"""<responseProcessing><responseCondition><responseIf>
      <equal {attrs}><variable identifier="RESPONSE"/><correct identifier="RESPONSE"/></equal>
      <setOutcomeValue identifier="SCORE">
        <baseValue baseType="float">1</baseValue>
      </setOutcomeValue>
    </responseIf></responseCondition></responseProcessing>"""


def test_no_response_processing_is_scored_as_match_correct() -> None:
    q = _questions(_import(_item(""), "x.xml"))["x"]
    assert q["answer"] == {"value": 10}
    assert q["text"] == "How many?"
    assert q["marking"] == {"correct": 1, "wrong": 0}


def test_relative_and_asymmetric_tolerances_become_ranges() -> None:
    relative = _questions(_import(_item(_equal('toleranceMode="relative" tolerance="5"')), "x.xml"))
    assert relative["x"]["answer"] == {"min": Decimal("9.5"), "max": Decimal("10.5")}
    uneven = _item(_equal('toleranceMode="absolute" tolerance="1 2"'))
    assert _questions(_import(uneven, "x.xml"))["x"]["answer"] == {"min": 9, "max": 12}


def test_an_exclusive_bound_is_refused() -> None:
    strict = _item(_equal('toleranceMode="absolute" tolerance="1" includeUpperBound="false"'))
    assert "excludes its bounds" in _refusal(strict, "x.xml")[0]["msg"]


def test_a_numeric_mapping_with_partial_credit_is_refused() -> None:
    mapping = '<mapping defaultValue="0"><mapEntry mapKey="10" mappedValue="1"/></mapping>'
    template = '<responseProcessing template="http://www.imsglobal.org/question/qti_v2p1/rptemplates/map_response"/>'
    q = _questions(_import(_item(template, mapping), "x.xml"))["x"]
    assert q["marking"] == {"correct": 1, "wrong": 0}
    unknown = '<responseProcessing template="http://example.org/rptemplates/map_response_point"/>'
    assert "map_response_point" in _refusal(_item(unknown), "x.xml")[0]["msg"]


def test_a_choice_interaction_without_choices_is_refused() -> None:
    item = (FIXTURES / "qti21_item.xml").read_bytes()
    for choice in (b'paris">Paris', b'lyon">Lyon', b'nice">Nice'):
        item = item.replace(b'<simpleChoice identifier="' + choice + b"</simpleChoice>", b"")
    assert "no choices" in _refusal(item, "x.xml")[0]["msg"]


def test_templated_items_are_refused() -> None:
    templated = _item("", body_extra='<p><printedVariable identifier="A"/></p>')
    assert "templated" in _refusal(templated, "x.xml")[0]["msg"]


def _bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("imsmanifest.xml", b"<manifest/>")
        archive.writestr("big.xml", b"\0" * (21 * 1024 * 1024))
    return buffer.getvalue()


def _lying_size() -> bytes:
    data = bytearray(_zip({"imsmanifest.xml": b"<manifest/>" + b" " * 1000}))
    # Shrink the declared uncompressed size in both headers: reads are capped at it.
    local = data.index(b"PK\x03\x04")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    return bytes(data)


MALFORMED = [
    ("zip bomb", _bomb(), ["package"], "more than 20 MiB"),
    ("size lie", _lying_size(), ["imsmanifest.xml"], ""),
    (
        "zip slip",
        _zip({"imsmanifest.xml": b"<m/>", "../evil.xml": b"x"}),
        ["../evil.xml"],
        "leaves",
    ),
    ("absolute", _zip({"/etc/passwd": b"x"}), ["/etc/passwd"], "absolute"),
    ("backslash", _zip({"..\\evil.xml": b"x"}), ["..\\evil.xml"], "absolute"),
    ("no manifest", _zip({"item.xml": b"<x/>"}), ["package"], "no imsmanifest.xml"),
    ("broken zip", b"PK\x03\x04 this is not a zip", ["package"], "not a valid zip"),
    ("too many files", _zip({f"f{i}.txt": b"" for i in range(2001)}), ["package"], "more than"),
]


@pytest.mark.parametrize(("case", "data", "loc", "words"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_unsafe_or_broken_packages_are_refused(
    case: str, data: bytes, loc: list[str], words: str
) -> None:
    errors = _refusal(data, skip_unsupported=True)
    assert errors[0]["loc"] == loc
    assert words in errors[0]["msg"]


def test_a_missing_item_and_an_item_outside_the_package_are_refused() -> None:
    errors = _refusal(_package("qti3_package", {"items/numeric_range.xml": None}))
    assert errors[0]["loc"] == ["items/numeric_range.xml"]
    assert "missing" in errors[0]["msg"]
    test = (FIXTURES / "qti3_package" / "assessment.xml").read_bytes()
    test = test.replace(b'href="items/choice.xml"', b'href="../../etc/passwd"')
    errors = _refusal(_package("qti3_package", {"assessment.xml": test}))
    assert "outside the package" in errors[0]["msg"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("malformed_item.xml", "not well-formed XML"),
        ("entity_item.xml", "DTD or entity"),
        ("test_only.xml", "upload the whole package"),
    ],
)
def test_malformed_single_files_are_refused(name: str, words: str) -> None:
    errors = _refusal((FIXTURES / name).read_bytes(), name, skip_unsupported=True)
    assert words in errors[0]["msg"]


def test_an_entity_inside_a_package_item_is_refused() -> None:
    entity = (FIXTURES / "entity_item.xml").read_bytes()
    errors = _refusal(_package("qti3_package", {"items/choice.xml": entity}))
    assert errors[0]["loc"] == ["items/choice.xml"]


EXAM: dict[str, Any] = {
    "id": "1-mock",
    "title": "Mock & test <1>",
    "duration_seconds": 7200,
    "shuffle": {"questions": True, "options": True},
    "sections": [
        {
            "id": "2nd",
            "title": "Physics",
            "questions": [
                {
                    "id": "9q",
                    "type": "multiple",
                    "text": "Which are vectors?\nChoose all.",
                    "options": [
                        {"id": "1", "text": "force"},
                        {"id": "b", "text": "mass"},
                        {"id": "c", "text": "velocity\nand speed"},
                    ],
                    "answer": ["1", "c"],
                    "marking": {"correct": 4, "wrong": -2, "partial": "jee_advanced"},
                },
                {
                    "id": "n",
                    "type": "numeric",
                    "text": "g?",
                    "answer": {"value": Decimal("9.8"), "tolerance": Decimal("0.05")},
                    "marking": {"correct": "7/3", "wrong": "-1/3", "unanswered": "1/7"},
                },
            ],
        }
    ],
}


def test_export_is_a_qti3_package_with_a_manifest() -> None:
    content, media_type, filename = export_exam(EXAM, "qti")
    assert (media_type, filename) == ("application/zip", "1-mock.qti.zip")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = set(archive.namelist())
        manifest = archive.read("imsmanifest.xml").decode()
        item = archive.read("items/9q.xml").decode()
    assert names == {"imsmanifest.xml", "assessment-test.xml", "items/9q.xml", "items/n.xml"}
    assert 'type="imsqti_test_xmlv3p0"' in manifest
    assert "imsqtiasi_v3p0" in item and 'identifier="_9q"' in item
    assert "<qti-contains>" in item  # partial credit stated in the processing
    assert export_exam(EXAM, "qti")[0] == content  # deterministic


def test_export_then_import_keeps_ids_marks_and_fractions() -> None:
    content, _, filename = export_exam(EXAM, "qti")
    definition = _import(content, filename)
    assert definition["id"] == "1-mock"
    assert definition["title"] == "Mock & test <1>"
    assert definition["duration_seconds"] == 7200
    assert definition["shuffle"] == {"questions": True, "options": True}
    questions = _questions(definition)
    assert definition["sections"][0]["id"] == "2nd"
    assert [o["id"] for o in questions["9q"]["options"]] == ["1", "b", "c"]
    assert questions["9q"]["options"][2]["text"] == "velocity\nand speed"
    assert questions["9q"]["text"] == "Which are vectors?\nChoose all."
    assert questions["9q"]["answer"] == ["1", "c"]
    assert questions["9q"]["marking"] == {
        "correct": 4,
        "wrong": -2,
        "partial": "jee_advanced",
    }
    assert questions["n"]["answer"] == {"value": Decimal("9.8"), "tolerance": Decimal("0.05")}
    assert questions["n"]["marking"] == {"correct": "7/3", "wrong": "-1/3", "unanswered": "1/7"}


def test_absurdly_deep_nesting_is_refused_not_crashed() -> None:
    depth = 50_000
    body = "<div>" * depth + "x" + "</div>" * depth
    item = (
        '<qti-assessment-item xmlns="http://www.imsglobal.org/xsd/imsqtiasi_v3p0" '
        f'identifier="d" title="d"><qti-item-body>{body}</qti-item-body></qti-assessment-item>'
    ).encode()
    assert "nested more than 100 deep" in _refusal(item, "deep.xml")[0]["msg"]


def test_an_unknown_xml_encoding_is_refused() -> None:
    item = (FIXTURES / "qti3_item.xml").read_bytes().replace(b"UTF-8", b"NO-SUCH-8", 1)
    assert "unknown encoding" in _refusal(item, "x.xml")[0]["msg"]
