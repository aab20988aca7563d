"""Moodle XML import (src/examvault/formats/moodle_xml.py) and the exact-mark rules it relies on."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from examvault.domain.exams import parse_definition
from examvault.formats import ImportRefused, detect_format, import_exam
from examvault.formats._marks import mark_out, recover

FIXTURES = Path(__file__).parent.parent / "fixtures" / "formats" / "moodle_xml"


def _import(name: str, **kwargs: Any) -> dict[str, Any]:
    return import_exam((FIXTURES / name).read_bytes(), filename=name, **kwargs).definition


def _questions(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for s in definition["sections"] for q in s["questions"]}


def _quiz(*questions: str) -> bytes:
    return ('<?xml version="1.0"?>\n<quiz>' + "".join(questions) + "</quiz>").encode()


def _choice(name: str, *answers: tuple[str, str], single: str = "true", extra: str = "") -> str:
    body = "".join(f'<answer fraction="{f}"><text>{t}</text></answer>' for f, t in answers)
    return (
        f'<question type="multichoice"><name><text>{name}</text></name>'
        f"<questiontext><text>{name}?</text></questiontext>"
        f"<single>{single}</single>{extra}{body}</question>"
    )


@pytest.fixture(scope="module")
def quiz() -> dict[str, Any]:
    return _import("quiz.xml")


def test_the_server_accepts_the_imported_exam(quiz: dict[str, Any]) -> None:
    parse_definition(quiz)


def test_categories_become_sections_and_a_repeated_category_is_merged(
    quiz: dict[str, Any],
) -> None:
    layout = [(s["id"], s["title"], [q["id"] for q in s["questions"]]) for s in quiz["sections"]]
    assert layout == [
        ("Mechanics", "Mechanics", ["phy-force", "Vectors", "Light_is_a_wave", "Either_prime"]),
        ("Numbers", "Numbers", ["g_over_four", "Year_of_Principia"]),
    ]


def test_single_answer_with_defaultgrade_and_negative_thirds(quiz: dict[str, Any]) -> None:
    q = _questions(quiz)["phy-force"]  # the idnumber wins over the name
    assert q["type"] == "single"
    assert q["text"] == {"html": "<p>Which is the <b>SI unit</b> of force?</p>"}
    assert [o["text"] for o in q["options"]] == ["joule", "newton", "watt", "pascal"]
    assert q["answer"] == "B"
    assert q["marking"] == {"correct": 3, "wrong": -1}


def test_multiple_answers_with_equal_shares_are_proportional(quiz: dict[str, Any]) -> None:
    q = _questions(quiz)["Vectors"]
    assert q["type"] == "multiple"
    assert q["answer"] == ["A", "C", "D"]
    assert q["marking"] == {"correct": 4, "wrong": 0, "partial": "proportional"}


def test_true_false(quiz: dict[str, Any]) -> None:
    q = _questions(quiz)["Light_is_a_wave"]
    assert q["options"] == [{"id": "T", "text": "True"}, {"id": "F", "text": "False"}]
    assert q["answer"] == "T"
    assert q["marking"] == {"correct": 1, "wrong": 0}


def test_numerical_tolerance_and_a_negative_catch_all(quiz: dict[str, Any]) -> None:
    q = _questions(quiz)["g_over_four"]
    assert q["type"] == "numeric"
    assert q["text"] == {"html": "<p>g/4 in m/s<sup>2</sup>, to two places?</p>"}
    assert q["answer"] == {"value": Decimal("2.45"), "tolerance": Decimal("0.05")}
    assert q["marking"] == {"correct": 2, "wrong": -1}


def test_numerical_without_tolerance_is_an_exact_value(quiz: dict[str, Any]) -> None:
    q = _questions(quiz)["Year_of_Principia"]
    assert q["answer"] == {"value": 1687}
    assert q["marking"] == {"correct": 1, "wrong": 0}


def test_two_full_marks_answers_are_both_accepted(quiz: dict[str, Any]) -> None:
    q = _questions(quiz)["Either_prime"]
    assert q["answer"] == ["A", "C"]
    assert q["text"] == {
        "html": "<p>Pick a prime &amp; only one:</p><ul><li>they are listed below</li></ul>"
    }


def test_options_are_shuffled_only_when_every_choice_question_asks(quiz: dict[str, Any]) -> None:
    assert quiz["shuffle"] == {"questions": False, "options": False}  # Either_prime says 0
    both = _quiz(
        _choice("a", ("100", "x"), ("0", "y"), extra="<shuffleanswers>1</shuffleanswers>"),
        _choice("b", ("100", "x"), ("0", "y")),  # Moodle's default is to shuffle
    )
    assert import_exam(both, filename="b.xml").definition["shuffle"]["options"] is True


def test_penalty_for_repeated_tries_is_ignored() -> None:
    with_penalty = _choice("p", ("100", "x"), ("0", "y"), extra="<penalty>0.5</penalty>")
    q = _questions(import_exam(_quiz(with_penalty), filename="p.xml").definition)["p"]
    assert q["marking"] == {"correct": 1, "wrong": 0}


def test_a_third_of_a_three_mark_question_is_exactly_one() -> None:
    third = _choice(
        "t",
        ("100", "x"),
        ("-33.33333", "y"),
        ("-33.33333", "z"),
        extra="<defaultgrade>3.0000000</defaultgrade>",
    )
    sixth = _choice("s", ("100", "x"), ("-16.66667", "y"))
    questions = _questions(import_exam(_quiz(third, sixth), filename="t.xml").definition)
    assert questions["t"]["marking"]["wrong"] == -1
    assert questions["s"]["marking"]["wrong"] == "-1/6"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("33.33333", Fraction(100, 3)),
        ("-33.33333", Fraction(-100, 3)),
        ("66.66667", Fraction(200, 3)),
        ("66.66666", Fraction(200, 3)),
        ("16.66667", Fraction(100, 6)),
        ("14.28571", Fraction(100, 7)),
        ("11.11111", Fraction(100, 9)),
        ("83.33333", Fraction(500, 6)),
        ("-0.3333333333", Fraction(-1, 3)),
        ("0.3333", Fraction(1, 3)),
        ("33.33", Fraction(3333, 100)),
        ("0.25", Fraction(1, 4)),
        ("0.12345", Fraction(12345, 100000)),
        ("2.000001", Fraction(2000001, 1000000)),
        ("12.5", Fraction(25, 2)),
    ],
)
def test_fraction_recovery_rule(text: str, expected: Fraction) -> None:
    assert recover(Decimal(text)) == expected


@pytest.mark.parametrize(
    ("value", "written"),
    [(Fraction(3), 3), (Fraction(-1, 4), Decimal("-0.25")), (Fraction(-1, 3), "-1/3")],
)
def test_marks_are_written_as_int_decimal_or_fraction(value: Fraction, written: object) -> None:
    assert mark_out(value) == written
    assert type(mark_out(value)) is type(written)


UNSUPPORTED = [
    ("Essay_upload", 2, "attached files"),
    ("Short_case", 3, "case-sensitive"),
    ("Match_one", 4, "matching"),
    ("Cloze_one", 5, "cloze"),
    ("Drag_one", 6, "drag and drop"),
    ("Intro", 7, "description"),
    ("Units_one", 8, "alternative units"),
    ("Unequal_shares", 9, "unequal credit (50%, 30%, 20%)"),
    ("Mixed_penalties", 10, "different penalties (-25%, 0%)"),
    ("Calc_one", 12, "calculated"),
]


def test_unsupported_questions_refuse_the_file_naming_each() -> None:
    with pytest.raises(ImportRefused) as refused:
        _import("unsupported.xml")
    errors = refused.value.errors
    assert [e["loc"] for e in errors] == [[n, f"quiz/question[{i}]"] for n, i, _ in UNSUPPORTED]
    for error, (_, _, words) in zip(errors, UNSUPPORTED, strict=True):
        assert words in error["msg"]


def test_skip_unsupported_imports_the_rest() -> None:
    imported = import_exam(
        (FIXTURES / "unsupported.xml").read_bytes(),
        filename="unsupported.xml",
        skip_unsupported=True,
    )
    # the picture question is carried whole, with its picture
    assert list(_questions(imported.definition)) == ["ok", "Picture"]
    assert [m.name for m in imported.media] == ["cat.png"]
    assert len(imported.skipped) == len(UNSUPPORTED)
    assert imported.skipped[0].item == "Essay_upload (quiz/question[2])"


def test_an_image_in_the_text_is_refused() -> None:
    picture = _choice("pic", ("100", "x"), ("0", "y")).replace(
        "<text>pic?</text>", "<text><![CDATA[<p>Which? <img src='a.png'></p>]]></text>"
    )
    with pytest.raises(ImportRefused) as refused:
        import_exam(_quiz(picture), filename="pic.xml")
    assert "a picture (a.png)" in refused.value.errors[0]["msg"]


@pytest.mark.parametrize(
    ("name", "loc", "words"),
    [
        ("malformed.xml", ["quiz, line 5"], "not well-formed XML"),
        ("billion_laughs.xml", ["quiz"], "DTD or entity"),
        ("external_entity.xml", ["quiz"], "DTD or entity"),
        ("bad_fraction.xml", ["Odd fraction", "quiz/question[1]"], "'lots' is not a number"),
    ],
)
@pytest.mark.parametrize("skip", [False, True])
def test_malformed_and_unsafe_files_are_refused(
    name: str, loc: list[str], words: str, skip: bool
) -> None:
    with pytest.raises(ImportRefused) as refused:
        _import(name, skip_unsupported=skip)
    assert refused.value.errors[0]["loc"] == loc
    assert words in refused.value.errors[0]["msg"]


def test_a_root_other_than_quiz_is_refused() -> None:
    data = (FIXTURES / "wrong_root.xml").read_bytes()
    with pytest.raises(ImportRefused):
        detect_format("wrong_root.xml", data)
    with pytest.raises(ImportRefused) as refused:
        import_exam(data, filename="wrong_root.xml", fmt="moodle_xml")
    assert "not <quiz>" in refused.value.errors[0]["msg"]


def test_moodle_xml_is_detected_by_its_root() -> None:
    assert detect_format("export.xml", (FIXTURES / "quiz.xml").read_bytes()) == "moodle_xml"


def test_exam_id_comes_from_the_file_name_made_to_fit() -> None:
    data = (FIXTURES / "quiz.xml").read_bytes()
    assert import_exam(data, filename="C:\\exports\\My quiz (v2).xml").definition["id"] == (
        "My_quiz_v2"
    )
    assert import_exam(data, filename="___.xml").definition["id"] == "exam"
