"""GIFT import and export (src/examvault/formats/gift.py), on fixtures from the GIFT spec."""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from examvault.domain.exams import parse_definition
from examvault.formats import ImportRefused, Skipped, detect_format, export_exam, import_exam

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats" / "gift"


def _import(name: str, **kwargs: Any) -> dict[str, Any]:
    return import_exam((FIXTURES / name).read_bytes(), filename=name, **kwargs).definition


def _questions(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for s in definition["sections"] for q in s["questions"]}


def _texts(question: dict[str, Any]) -> list[str]:
    return [o["text"] for o in question["options"]]


@pytest.fixture(scope="module")
def constructs() -> dict[str, Any]:
    return _import("constructs.gift")


def test_the_server_accepts_the_imported_exam(constructs: dict[str, Any]) -> None:
    parse_definition(constructs)


def test_categories_become_sections_named_by_their_last_component(
    constructs: dict[str, Any],
) -> None:
    sections = [(s["id"], s["title"], len(s["questions"])) for s in constructs["sections"]]
    assert sections == [("Mechanics", "Mechanics", 6), ("Numbers", "Numbers", 6)]


def test_exam_settings_come_from_the_defaults_and_the_file_name(
    constructs: dict[str, Any],
) -> None:
    assert constructs["id"] == "constructs"
    assert constructs["title"] == "constructs"
    assert constructs["duration_seconds"] == 3600
    assert constructs["grace_seconds"] == 30
    assert constructs["show_result"] == "after_close"
    assert constructs["shuffle"] == {"questions": False, "options": False}


def test_multiple_choice_with_feedback_and_a_named_question(constructs: dict[str, Any]) -> None:
    q = _questions(constructs)["Q1_Grant"]
    assert q["type"] == "single"
    assert q["text"] == "Who's buried in Grant's tomb?"
    assert _texts(q) == ["Grant", "Jefferson", "no one"]
    assert [o["id"] for o in q["options"]] == ["A", "B", "C"]
    assert q["answer"] == "C"
    assert q["marking"] == {"correct": 1, "wrong": 0}


def test_negative_thirds_become_an_exact_wrong_mark(constructs: dict[str, Any]) -> None:
    q = _questions(constructs)["Q2"]
    assert q["answer"] == "B"
    assert q["marking"] == {"correct": 1, "wrong": "-1/3"}
    assert "####" not in q["text"] and "newton is" not in q["text"]


def test_missing_word_keeps_a_blank_in_the_sentence(constructs: dict[str, Any]) -> None:
    q = _questions(constructs)["Q3"]
    assert q["text"] == "Grant is _____ in Grant's tomb."
    assert q["answer"] == "B"


def test_no_equals_answer_means_multiple_answers_with_equal_shares(
    constructs: dict[str, Any],
) -> None:
    q = _questions(constructs)["Q4"]
    assert q["type"] == "multiple"
    assert q["answer"] == ["A", "C"]
    assert q["marking"] == {"correct": 1, "wrong": 0, "partial": "proportional"}


@pytest.mark.parametrize(("qid", "key"), [("Q5", "F"), ("Q6", "T"), ("Q11", "T")])
def test_true_false_becomes_single_with_T_and_F(
    constructs: dict[str, Any], qid: str, key: str
) -> None:
    q = _questions(constructs)[qid]
    assert q["type"] == "single"
    assert q["options"] == [{"id": "T", "text": "True"}, {"id": "F", "text": "False"}]
    assert q["answer"] == key


def test_numerical_value_tolerance_and_range(constructs: dict[str, Any]) -> None:
    questions = _questions(constructs)
    assert questions["Q7"]["answer"] == {"value": Decimal("3.14"), "tolerance": Decimal("0.005")}
    assert questions["Q8"]["answer"] == {"min": 1, "max": 5}
    assert questions["Q9"]["answer"] == {"value": 1822}
    assert all(questions[q]["type"] == "numeric" for q in ("Q7", "Q8", "Q9"))
    assert isinstance(questions["Q7"]["answer"]["value"], Decimal)


def test_escapes_and_html_text(constructs: dict[str, Any]) -> None:
    q = _questions(constructs)["Q10"]
    # [html] keeps its formatting (the entity &nbsp; is its character)
    assert q["text"] == {"html": "What is 2<sup>3</sup> = ?\xa0<b>Pick</b> one:"}
    assert _texts(q) == ["8 {eight}", "6 ~ six", "9 # nine"]
    assert q["answer"] == "A"


def test_markdown_text_and_escaped_line_break(constructs: dict[str, Any]) -> None:
    # [markdown] is converted as Moodle shows it: *this* is emphasis
    text = _questions(constructs)["Q11"]["text"]
    assert text == {"html": "<p>Is <em>this</em>\na two-line question?</p>"}


def test_an_unnamed_question_is_numbered(constructs: dict[str, Any]) -> None:
    assert _questions(constructs)["q12"]["answer"] == "A"


def test_settings_and_id_given_by_the_caller_win() -> None:
    definition = _import(
        "constructs.gift",
        exam_id="physics-1",
        settings={"title": "Physics", "duration_seconds": 600, "shuffle": {"options": True}},
    )
    assert definition["id"] == "physics-1"
    assert definition["title"] == "Physics"
    assert definition["duration_seconds"] == 600
    assert definition["shuffle"] == {"questions": False, "options": True}


UNSUPPORTED = [
    ("essay", "line 5", "50% credit"),
    ("short", "line 7", "wildcard"),
    ("matching", "line 9", "matching"),
    ("description", "line 15", "description"),
    ("partial_numeric", "line 17", "50% credit"),
    ("unequal_shares", "line 22", "unequal credit (70%, 30%)"),
    ("partial_single", "line 28", "partial credit (50%)"),
    ("mixed_penalties", "line 34", "different penalties"),
    ("cloze", "line 36", "cloze"),
]


def test_unsupported_questions_refuse_the_file_naming_each() -> None:
    with pytest.raises(ImportRefused) as refused:
        _import("unsupported.gift")
    errors = refused.value.errors
    assert [e["loc"] for e in errors] == [[name, line] for name, line, _ in UNSUPPORTED]
    for error, (_, _, words) in zip(errors, UNSUPPORTED, strict=True):
        assert words in error["msg"]


def test_skip_unsupported_imports_the_rest_and_lists_what_it_left_out() -> None:
    imported = import_exam(
        (FIXTURES / "unsupported.gift").read_bytes(),
        filename="unsupported.gift",
        skip_unsupported=True,
    )
    assert list(_questions(imported.definition)) == ["ok"]
    assert [s.item for s in imported.skipped] == [f"{n} ({line})" for n, line, _ in UNSUPPORTED]
    assert all(isinstance(s, Skipped) and s.reason for s in imported.skipped)


@pytest.mark.parametrize(
    ("name", "loc", "words"),
    [
        ("malformed_braces.gift", ["broken", "line 1"], "unbalanced braces"),
        ("malformed_number.gift", ["nan", "line 1"], "'many' is not a number"),
        ("malformed_one_answer.gift", ["lonely", "line 1"], "at least two answers"),
        ("malformed_weight.gift", ["heavy", "line 1"], "outside -100%..100%"),
        ("malformed_encoding.gift", ["file"], "not UTF-8"),
    ],
)
@pytest.mark.parametrize("skip", [False, True])
def test_malformed_files_are_refused_even_when_skipping(
    name: str, loc: list[str], words: str, skip: bool
) -> None:
    with pytest.raises(ImportRefused) as refused:
        _import(name, skip_unsupported=skip)
    assert refused.value.errors[0]["loc"] == loc
    assert words in refused.value.errors[0]["msg"]


def test_a_file_with_no_importable_question_is_refused() -> None:
    with pytest.raises(ImportRefused) as refused:
        _import("no_questions.gift", skip_unsupported=True)
    assert "no question" in refused.value.errors[0]["msg"]


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("bank.gift", b"What?{=a ~b}"),
        ("bank.gift.txt", b"What?{=a ~b}"),
        ("bank.txt", b"// comment\n::Q1:: What?{=a ~b}"),
        ("bank.txt", b"$CATEGORY: top/Physics\n\nWhat?{T}"),
        ("upload", b"Pi?{#3.14:0.01}"),
    ],
)
def test_gift_is_detected(filename: str, data: bytes) -> None:
    assert detect_format(filename, data) == "gift"


@pytest.mark.parametrize(
    "data",
    [
        b"{" + b"=" * 70_000,  # the hostile probe's file: an answer block that never closes
        b"{" + b"~" * 65_000 + b"}",
        b"x{" * 30_000 + b"=" * 30_000,
        b"\n" + b" \t" * 30_000 + b"x",
    ],
    ids=["open-block", "long-block", "many-opens", "long-indent"],
)
def test_sniffing_a_crafted_file_is_linear(data: bytes) -> None:
    """Found by the hostile probe: the GIFT hint regex backtracked quadratically, so 70 KB
    held the server for 9.4 s. Linear, these take milliseconds; quadratic, seconds each."""
    started = time.process_time()
    with contextlib.suppress(ImportRefused):  # refused or not: only the time matters here
        detect_format("upload", data)
    assert time.process_time() - started < 1.0


EXAM: dict[str, Any] = {
    "id": "gift-out",
    "title": "GIFT out",
    "duration_seconds": 900,
    "sections": [
        {
            "id": "s1",
            "title": "Part A/B",
            "questions": [
                {
                    "id": "tf",
                    "type": "single",
                    "text": "True?",
                    "options": [{"id": "T", "text": "True"}, {"id": "F", "text": "False"}],
                    "answer": "F",
                    "marking": "plus4",
                },
                {
                    "id": "all",
                    "type": "single",
                    "text": "Any of these",
                    "options": [{"id": "x", "text": "one"}, {"id": "y", "text": "two"}],
                    "answer": ["x", "y"],
                    "marking": "gate_mcq_1",
                },
                {
                    "id": "odd",
                    "type": "single",
                    "text": "[html] looks like a format: {~=#:}\\ and\na second line",
                    "options": [
                        {"id": "a", "text": "%50% off"},
                        {"id": "b", "text": "[plain] text"},
                        {"id": "c", "text": "plain"},
                    ],
                    "answer": "c",
                    "marking": {"correct": 3, "wrong": -1},
                },
                {
                    "id": "n1",
                    "type": "numeric",
                    "text": "Range?",
                    "answer": {"min": Decimal("-2.5"), "max": 3},
                    "marking": "gate_nat_1",
                },
            ],
        }
    ],
}


def test_export_writes_categories_names_and_moodle_weights() -> None:
    content, media_type, filename = export_exam(EXAM, "gift")
    text = content.decode()
    assert media_type.startswith("text/plain") and filename == "gift-out.gift.txt"
    assert "$CATEGORY: $course$/top/Part A//B" in text
    assert "::tf::True?{TRUE}" not in text and "::tf::True?{FALSE}" in text
    assert "\t~%-33.33333%" in text  # gate_mcq_1: a wrong answer costs a third of the mark
    assert "{#-2.5..3}" in text


def test_export_then_import_keeps_the_awkward_texts() -> None:
    content, _, filename = export_exam(EXAM, "gift")
    questions = _questions(import_exam(content, filename=filename).definition)
    odd = questions["odd"]
    assert odd["text"] == "[html] looks like a format: {~=#:}\\ and\na second line"
    assert _texts(odd) == ["%50% off", "[plain] text", "plain"]
    assert odd["answer"] == "C"
    assert odd["marking"] == {"correct": 1, "wrong": "-1/3"}
    assert questions["all"]["answer"] == ["A", "B"]
    assert questions["tf"]["answer"] == "F"
    assert questions["n1"]["answer"] == {"min": Decimal("-2.5"), "max": 3}


def test_numbers_too_large_to_hold_exactly_are_refused_at_once() -> None:
    with pytest.raises(ImportRefused) as refused:
        import_exam(b"::big:: How big?{#1e999999999}", filename="big.gift")
    assert refused.value.errors == [
        {"loc": ["big", "line 1"], "msg": "'1e999999999' is not a number"}
    ]
