"""The exam definition document of docs/api.md: read, check, compile (src/examvault/domain/exams.py)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain.exams import (
    DefinitionError,
    Exam,
    ExamDef,
    candidate_order,
    compile_exam,
    fingerprint,
    option_order,
    parse_definition,
    with_key_changes,
)
from examvault.domain.marking import PRESETS, Marking, NumericKey
from examvault.formats import native


def load_document(data: bytes, filename: str = "") -> Any:
    """Our own exam files are read by formats.native (JSON or YAML, numbers exact)."""
    text = data.decode("utf-8-sig").lstrip()
    is_json = filename.endswith(".json") or (not filename and text.startswith("{"))
    return native.load(data, "json" if is_json else "yaml")


D = Decimal
F = Fraction
Doc = dict[str, Any]

# docs/api.md's example, with the elided options of p2 filled in so that its answer is valid.
API_EXAMPLE = """{
  "id": "mock-1",
  "title": "Mock test 1",
  "duration_seconds": 10800,
  "opens_at": null,
  "closes_at": null,
  "grace_seconds": 30,
  "show_result": "on_submit",
  "shuffle": {"questions": false, "options": false},
  "sections": [
    {"id": "physics", "title": "Physics", "questions": [
      {"id": "p1", "type": "single", "text": "…",
       "options": [{"id": "A", "text": "…"}, {"id": "B", "text": "…"}],
       "answer": "B", "marking": {"correct": 4, "wrong": -1, "unanswered": 0}},
      {"id": "p2", "type": "multiple", "text": "…",
       "options": [{"id": "A", "text": "…"}, {"id": "B", "text": "…"},
                   {"id": "C", "text": "…"}, {"id": "D", "text": "…"}],
       "answer": ["A", "C"], "marking": {"correct": 4, "wrong": -2, "partial": "jee_advanced"}},
      {"id": "p3", "type": "numeric", "text": "…",
       "answer": {"min": 2.45, "max": 2.55}, "marking": {"correct": 4, "wrong": 0}}
    ]}
  ]
}"""

API_EXAMPLE_YAML = """\
id: mock-1
title: Mock test 1
duration_seconds: 10800
opens_at: null
closes_at: null
grace_seconds: 30
show_result: on_submit
shuffle: {questions: false, options: false}
sections:
  - id: physics
    title: Physics
    questions:
      - id: p1
        type: single
        text: "…"
        options: [{id: A, text: "…"}, {id: B, text: "…"}]
        answer: B
        marking: {correct: 4, wrong: -1, unanswered: 0}
      - id: p2
        type: multiple
        text: "…"
        options:
          - {id: A, text: "…"}
          - {id: B, text: "…"}
          - {id: C, text: "…"}
          - {id: D, text: "…"}
        answer: [A, C]
        marking: {correct: 4, wrong: -2, partial: jee_advanced}
      - id: p3
        type: numeric
        text: "…"
        answer: {min: 2.45, max: 2.55}
        marking: {correct: 4, wrong: 0}
"""


def api_example() -> Doc:
    doc: Doc = load_document(API_EXAMPLE.encode(), "mock-1.json")
    return doc


def question(qid: str, **fields: Any) -> Doc:
    doc: Doc = {
        "id": qid,
        "type": "single",
        "options": [{"id": o, "text": o} for o in "ABCD"],
        "answer": "A",
        "marking": "plus4_minus1",
    }
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not None}


def numeric_question(qid: str, answer: Any, **fields: Any) -> Doc:
    return question(qid, type="numeric", options=None, answer=answer, **fields)


def section(sid: str, *questions: Doc) -> Doc:
    return {"id": sid, "questions": list(questions)}


def exam_doc(*sections: Doc, **fields: Any) -> Doc:
    doc: Doc = {
        "id": "e1",
        "title": "An exam",
        "duration_seconds": 3600,
        "sections": list(sections) or [section("s1", question("q1"))],
    }
    doc.update(fields)
    return doc


def refusal(doc: Any) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(doc)
    assert caught.value.errors, "a refusal lists at least one fault"
    return caught.value.errors


def locs(doc: Any) -> list[list[Any]]:
    return [e["loc"] for e in refusal(doc)]


def names(loc: list[Any], prefix: list[Any]) -> bool:
    return loc[: len(prefix)] == prefix


def compiled(doc: Doc) -> Exam:
    return compile_exam(parse_definition(doc), version=1)


# --- accepting a definition --------------------------------------------------------------


def test_the_api_example_is_accepted() -> None:
    exam = parse_definition(api_example())
    assert exam.id == "mock-1"
    assert exam.title == "Mock test 1"
    assert exam.duration_seconds == 10800
    assert exam.show_result == "on_submit"
    assert [q.id for q in exam.sections[0].questions] == ["p1", "p2", "p3"]


def test_the_api_example_compiles_to_the_rules_it_states() -> None:
    exam = compiled(api_example())
    p1, p2, p3 = (exam.by_id[q] for q in ("p1", "p2", "p3"))
    assert p1.rule.key == frozenset({"B"})
    assert p1.rule.marking == Marking(correct=F(4), wrong=F(-1))
    assert p2.rule.key == frozenset({"A", "C"})
    assert p2.rule.marking == PRESETS["jee_advanced_multi"]
    assert p3.rule.key == NumericKey(low=D("2.45"), high=D("2.55"))
    assert p3.rule.marking == PRESETS["plus4"]
    assert exam.max_score == 12
    assert [(s.id, s.title, s.max_score) for s in exam.sections] == [("physics", "Physics", F(12))]


def test_defaults_are_filled_in() -> None:
    exam = parse_definition(exam_doc())
    assert exam.opens_at is None
    assert exam.closes_at is None
    assert exam.grace_seconds == 30
    assert exam.show_result == "after_close"
    assert exam.shuffle.questions is False
    assert exam.shuffle.options is False


def test_a_marking_object_fills_its_own_defaults() -> None:
    exam = compiled(exam_doc(section("s1", question("q1", marking={"correct": "2/3"}))))
    assert exam.by_id["q1"].rule.marking == Marking(
        correct=F(2, 3), wrong=F(0), unanswered=F(0), partial="none", partial_per_option=F(1)
    )


def test_marks_may_be_fraction_strings_and_are_kept_exact() -> None:
    marking = {"correct": 1, "wrong": "-1/3", "unanswered": "-1/6", "partial_per_option": "1/2"}
    rule = compiled(exam_doc(section("s1", question("q1", marking=marking)))).by_id["q1"].rule
    assert (rule.marking.wrong, rule.marking.unanswered) == (F(-1, 3), F(-1, 6))
    assert rule.marking.partial_per_option == F(1, 2)


def test_a_single_answer_may_be_a_list_of_accepted_options() -> None:
    exam = compiled(exam_doc(section("s1", question("q1", answer=["A", "C"]))))
    assert exam.by_id["q1"].rule.key == frozenset({"A", "C"})


def test_a_numeric_value_and_tolerance_becomes_an_inclusive_range() -> None:
    answer = {"value": D("2.5"), "tolerance": D("0.05")}
    exam = compiled(exam_doc(section("s1", numeric_question("n1", answer))))
    assert exam.by_id["n1"].rule.key == NumericKey(low=D("2.45"), high=D("2.55"))


def test_a_numeric_value_alone_has_no_tolerance() -> None:
    exam = compiled(exam_doc(section("s1", numeric_question("n1", {"value": D("0.1")}))))
    assert exam.by_id["n1"].rule.key == NumericKey(low=D("0.1"), high=D("0.1"))


def test_a_range_whose_bounds_are_equal_is_accepted() -> None:
    exam = compiled(exam_doc(section("s1", numeric_question("n1", {"min": 3, "max": 3}))))
    assert exam.by_id["n1"].rule.key == NumericKey(low=D(3), high=D(3))


def test_max_score_is_the_sum_of_correct_over_the_questions() -> None:
    exam = compiled(
        exam_doc(
            section("a", question("q1", marking="gate_mcq_2"), question("q2", marking="cat_mcq")),
            section("b", question("q3", marking={"correct": "1/3"})),
        )
    )
    assert [s.max_score for s in exam.sections] == [5, F(1, 3)]
    assert exam.max_score == F(16, 3)


@pytest.mark.parametrize("ident", ["a", "A", "9", "A0_.-", "a" * 64, "R0001", "x.y-z_1"])
def test_good_ids_are_accepted_everywhere(ident: str) -> None:
    doc = exam_doc(
        section(ident, question(ident, options=[{"id": ident}, {"id": "Z"}], answer=ident)),
        id=ident,
    )
    parse_definition(doc)


# --- refusing a definition, with a loc naming the fault ------------------------------------


def test_a_question_id_used_in_two_sections_is_refused_at_the_second() -> None:
    doc = exam_doc(section("a", question("q1")), section("b", question("q2"), question("q1")))
    errors = refusal(doc)
    assert any(names(e["loc"], ["sections", 1, "questions", 1]) for e in errors), errors
    assert any("q1" in e["msg"] for e in errors)


def test_a_question_id_used_twice_in_one_section_is_refused() -> None:
    doc = exam_doc(section("a", question("q1"), question("q1")))
    errors = refusal(doc)
    assert any(names(e["loc"], ["sections", 0, "questions", 1]) for e in errors), errors


def test_a_section_id_used_twice_is_refused_at_the_second() -> None:
    doc = exam_doc(section("a", question("q1")), section("a", question("q2")))
    errors = refusal(doc)
    assert any(names(e["loc"], ["sections", 1]) for e in errors), errors


def test_an_option_id_used_twice_is_refused() -> None:
    doc = exam_doc(section("s1", question("q1", options=[{"id": "A"}, {"id": "A"}])))
    errors = refusal(doc)
    assert any(names(e["loc"], ["sections", 0, "questions", 0]) for e in errors), errors
    assert any("option" in e["msg"] for e in errors)


@pytest.mark.parametrize(
    ("qtype", "answer"), [("single", "E"), ("single", ["A", "E"]), ("multiple", ["A", "E"])]
)
def test_an_answer_naming_an_unknown_option_is_refused(qtype: str, answer: Any) -> None:
    doc = exam_doc(section("s1", question("q0"), question("q1", type=qtype, answer=answer)))
    errors = refusal(doc)
    assert any(names(e["loc"], ["sections", 0, "questions", 1]) for e in errors), errors
    assert any("E" in e["msg"] for e in errors)


@pytest.mark.parametrize(
    ("qtype", "answer"),
    [
        ("single", []),
        ("single", 1),
        ("single", None),
        ("multiple", []),
        ("multiple", "A"),
        ("multiple", ["A", "A"]),
        ("single", ["A", "A"]),
    ],
)
def test_a_choice_answer_of_the_wrong_shape_is_refused(qtype: str, answer: Any) -> None:
    # question() leaves out a field given as None: a missing answer.
    doc = exam_doc(section("s1", question("q1", type=qtype, answer=answer)))
    assert any(names(loc, ["sections", 0, "questions", 0]) for loc in locs(doc))


def test_a_numeric_question_with_options_is_refused() -> None:
    doc = exam_doc(
        section("s1", question("n1", type="numeric", answer={"value": 1}, options=[{"id": "A"}]))
    )
    assert any(names(loc, ["sections", 0, "questions", 0]) for loc in locs(doc))


@pytest.mark.parametrize("qtype", ["single", "multiple"])
@pytest.mark.parametrize("options", [None, []])
def test_a_choice_question_without_options_is_refused(qtype: str, options: Any) -> None:
    answer = "A" if qtype == "single" else ["A"]
    doc = exam_doc(section("s1", question("q1", type=qtype, options=options, answer=answer)))
    assert any(names(loc, ["sections", 0, "questions", 0]) for loc in locs(doc))


def test_an_unknown_preset_is_refused_at_the_marking() -> None:
    doc = exam_doc(section("s1", question("q1", marking="plus5")))
    assert any(names(loc, ["sections", 0, "questions", 0, "marking"]) for loc in locs(doc))


@pytest.mark.parametrize("mark", ["abc", "1/0", True, False, None, [], "1/3/4", "NaN"])
def test_a_mark_that_is_not_an_exact_number_is_refused(mark: Any) -> None:
    doc = exam_doc(section("s1", question("q1", marking={"correct": 4, "wrong": mark})))
    assert any(names(loc, ["sections", 0, "questions", 0, "marking"]) for loc in locs(doc))


def test_an_unknown_partial_rule_is_refused() -> None:
    doc = exam_doc(section("s1", question("q1", marking={"correct": 4, "partial": "some"})))
    assert any(names(loc, ["sections", 0, "questions", 0, "marking"]) for loc in locs(doc))


def test_a_marking_without_correct_is_refused() -> None:
    doc = exam_doc(section("s1", question("q1", marking={"wrong": -1})))
    assert any(names(loc, ["sections", 0, "questions", 0, "marking"]) for loc in locs(doc))


BAD_IDS = ["", "-a", "_a", ".a", "a b", "a/b", "a:b", "é", "a" * 65, "q1\n", " q1", "q1 "]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_bad_question_id_is_refused(bad: str) -> None:
    doc = exam_doc(section("s1", question("q0"), question(bad)))
    assert ["sections", 0, "questions", 1, "id"] in locs(doc)


@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_bad_exam_section_or_option_id_is_refused(bad: str) -> None:
    assert ["id"] in locs(exam_doc(id=bad))
    assert ["sections", 0, "id"] in locs(exam_doc(section(bad, question("q1"))))
    bad_option = question("q1", options=[{"id": "A"}, {"id": bad}])
    assert ["sections", 0, "questions", 0, "options", 1, "id"] in locs(
        exam_doc(section("s1", bad_option))
    )


def test_a_range_with_min_above_max_is_refused() -> None:
    doc = exam_doc(section("s1", numeric_question("n1", {"min": D("2.55"), "max": D("2.45")})))
    errors = refusal(doc)
    assert any(names(e["loc"], ["sections", 0, "questions", 0]) for e in errors), errors
    assert any("min" in e["msg"] for e in errors)


def test_a_negative_tolerance_is_refused() -> None:
    doc = exam_doc(
        section("s1", numeric_question("n1", {"value": D("2.5"), "tolerance": D("-0.01")}))
    )
    errors = refusal(doc)
    assert any(names(e["loc"], ["sections", 0, "questions", 0]) for e in errors), errors
    assert any("tolerance" in e["msg"] for e in errors)


def test_a_zero_tolerance_is_accepted() -> None:
    doc = exam_doc(section("s1", numeric_question("n1", {"value": D("2.5"), "tolerance": 0})))
    assert compile_exam(parse_definition(doc), version=1).by_id["n1"].rule.key == NumericKey(
        D("2.5"), D("2.5")
    )


@pytest.mark.parametrize(
    "answer",
    [
        {},
        {"min": 1},
        {"max": 1},
        {"tolerance": 1},
        {"value": 1, "min": 0, "max": 2},
        {"min": 0, "max": 2, "tolerance": 1},
        {"value": 1, "extra": 2},
        {"value": "NaN"},
        {"value": "Infinity"},
        {"min": "-Infinity", "max": 2},
        {"value": "two"},
        "2.5",
        [1, 2],
    ],
)
def test_a_numeric_answer_of_another_form_is_refused(answer: Any) -> None:
    doc = exam_doc(section("s1", numeric_question("n1", answer)))
    assert any(names(loc, ["sections", 0, "questions", 0]) for loc in locs(doc))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["duration_seconds"], True),
        (["grace_seconds"], False),
        (["duration_seconds"], D("3600.5")),
        (["grace_seconds"], "30"),
    ],
)
def test_a_bool_or_non_integer_where_an_int_is_required_is_refused(
    path: list[str], value: Any
) -> None:
    doc = exam_doc()
    doc[path[0]] = value
    assert path in locs(doc)


@pytest.mark.parametrize("field", ["value", "min"])
def test_a_bool_is_not_a_numeric_answer(field: str) -> None:
    answer: Doc = {"value": True} if field == "value" else {"min": True, "max": 3}
    doc = exam_doc(section("s1", numeric_question("n1", answer)))
    assert any(names(loc, ["sections", 0, "questions", 0]) for loc in locs(doc))


def test_a_bool_is_not_a_mark() -> None:
    doc = exam_doc(section("s1", question("q1", marking={"correct": True})))
    assert any(names(loc, ["sections", 0, "questions", 0, "marking"]) for loc in locs(doc))


def test_an_int_is_not_a_shuffle_flag() -> None:
    assert ["shuffle", "questions"] in locs(exam_doc(shuffle={"questions": 1}))


@pytest.mark.parametrize(
    ("where", "loc"),
    [
        ("exam", ["colour"]),
        ("section", ["sections", 0, "colour"]),
        ("question", ["sections", 0, "questions", 0, "colour"]),
        ("option", ["sections", 0, "questions", 0, "options", 0, "colour"]),
        ("marking", ["sections", 0, "questions", 0, "marking", "MarkingDef", "colour"]),
        ("shuffle", ["shuffle", "colour"]),
    ],
)
def test_an_unknown_field_is_refused_where_it_is(where: str, loc: list[Any]) -> None:
    doc = exam_doc(shuffle={"questions": False})
    target: Doc = {
        "exam": doc,
        "section": doc["sections"][0],
        "question": doc["sections"][0]["questions"][0],
        "option": doc["sections"][0]["questions"][0]["options"][0],
        "shuffle": doc["shuffle"],
    }.get(where, doc)
    if where == "marking":
        target = doc["sections"][0]["questions"][0]
        target["marking"] = {"correct": 4}
        target = target["marking"]
    target["colour"] = "blue"
    found = locs(doc)
    # The marking is `preset | object`, so its loc may name the union branch.
    assert loc in found or [x for x in loc if x != "MarkingDef"] in found, found


@pytest.mark.parametrize("missing", ["id", "title", "duration_seconds", "sections"])
def test_a_required_field_is_required(missing: str) -> None:
    doc = exam_doc()
    del doc[missing]
    assert [missing] in locs(doc)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("duration_seconds", 0),
        ("duration_seconds", -1),
        ("grace_seconds", -1),
        ("show_result", "sometimes"),
        ("sections", []),
        ("title", ""),
        ("opens_at", "2026-12-01T03:30:00"),
    ],
)
def test_other_out_of_range_fields_are_refused(field: str, value: Any) -> None:
    assert [field] == locs(exam_doc(**{field: value}))[0][:1]


@pytest.mark.parametrize("document", [None, [], "exam", 3])
def test_a_document_that_is_not_an_object_is_refused(document: Any) -> None:
    refusal(document)


def test_every_fault_is_listed() -> None:
    doc = exam_doc(
        section("s1", question("-bad"), question("q2", marking="nope")), duration_seconds=True
    )
    found = locs(doc)
    assert ["duration_seconds"] in found
    assert ["sections", 0, "questions", 0, "id"] in found
    assert any(names(loc, ["sections", 0, "questions", 1, "marking"]) for loc in found)


# --- fingerprint: "the same definition" ----------------------------------------------------


def with_explicit_defaults(doc: Doc) -> Doc:
    full = copy.deepcopy(doc)
    full.update(
        opens_at=None,
        closes_at=None,
        grace_seconds=30,
        show_result="after_close",
        shuffle={"questions": False, "options": False},
    )
    return full


def test_a_definition_with_and_without_explicit_defaults_is_the_same() -> None:
    doc = exam_doc(section("s1", question("q1"), numeric_question("n1", {"value": 2})))
    assert fingerprint(parse_definition(doc)) == fingerprint(
        parse_definition(with_explicit_defaults(doc))
    )


def test_a_marking_with_and_without_explicit_defaults_is_the_same() -> None:
    short = exam_doc(section("s1", question("q1", marking={"correct": 4})))
    full = exam_doc(
        section(
            "s1",
            question(
                "q1",
                marking={
                    "correct": 4,
                    "wrong": 0,
                    "unanswered": 0,
                    "partial": "none",
                    "partial_per_option": 1,
                },
            ),
        )
    )
    assert fingerprint(parse_definition(short)) == fingerprint(parse_definition(full))


def test_posting_the_api_example_twice_is_the_same_definition() -> None:
    assert fingerprint(parse_definition(api_example())) == fingerprint(
        parse_definition(api_example())
    )


def test_the_yaml_and_json_forms_of_one_definition_are_the_same() -> None:
    from_yaml = load_document(API_EXAMPLE_YAML.encode(), "mock-1.yaml")
    assert fingerprint(parse_definition(from_yaml)) == fingerprint(parse_definition(api_example()))


def test_equal_numbers_written_differently_are_the_same_definition() -> None:
    # 2.45 and 2.450 are the same JSON number; re-serialising a document must not make it
    # "a different definition" (docs/api.md: 409 once attempts have started).
    a = exam_doc(section("s1", numeric_question("n1", {"min": D("2.45"), "max": D("2.55")})))
    b = exam_doc(section("s1", numeric_question("n1", {"min": D("2.450"), "max": D("2.550")})))
    assert fingerprint(parse_definition(a)) == fingerprint(parse_definition(b))


def test_one_instant_in_two_offsets_is_the_same_definition() -> None:
    a = exam_doc(opens_at="2026-12-01T09:00:00+05:30")
    b = exam_doc(opens_at="2026-12-01T03:30:00Z")
    assert fingerprint(parse_definition(a)) == fingerprint(parse_definition(b))


def _changed(path: str) -> Doc:
    doc = api_example()
    p1 = doc["sections"][0]["questions"][0]
    p3 = doc["sections"][0]["questions"][2]
    if path == "title":
        doc["title"] = "Mock test 2"
    elif path == "grace_seconds":
        doc["grace_seconds"] = 31
    elif path == "show_result":
        doc["show_result"] = "never"
    elif path == "shuffle":
        doc["shuffle"] = {"questions": True, "options": False}
    elif path == "duration_seconds":
        doc["duration_seconds"] = 10801
    elif path == "closes_at":
        doc["closes_at"] = "2030-01-01T00:00:00Z"
    elif path == "answer":
        p1["answer"] = "A"
    elif path == "marking":
        p1["marking"] = {"correct": 4, "wrong": "-1/3"}
    elif path == "numeric key":
        p3["answer"] = {"min": D("2.45"), "max": D("2.56")}
    elif path == "question text":
        p1["text"] = "another text"
    elif path == "option text":
        p1["options"][0]["text"] = "another text"
    elif path == "option order":
        p1["options"].reverse()
    elif path == "question order":
        doc["sections"][0]["questions"].reverse()
    elif path == "section title":
        doc["sections"][0]["title"] = "Physics II"
    elif path == "question type":
        doc["sections"][0]["questions"][1]["type"] = "single"
    return doc


@pytest.mark.parametrize(
    "change",
    [
        "title",
        "grace_seconds",
        "show_result",
        "shuffle",
        "duration_seconds",
        "closes_at",
        "answer",
        "marking",
        "numeric key",
        "question text",
        "option text",
        "option order",
        "question order",
        "section title",
        "question type",
    ],
)
def test_any_change_makes_a_different_definition(change: str) -> None:
    before = fingerprint(parse_definition(api_example()))
    assert fingerprint(parse_definition(_changed(change))) != before


# --- the candidate's order -----------------------------------------------------------------


def shuffled_exam(*, questions: bool = True, options: bool = True) -> Exam:
    sections = [
        section(
            sid,
            *[
                question(f"{sid}{i}", options=[{"id": o, "text": o} for o in "ABCDEF"])
                for i in range(8)
            ],
        )
        for sid in ("a", "b", "c")
    ]
    return compiled(exam_doc(*sections, shuffle={"questions": questions, "options": options}))


def question_ids(exam: Exam, candidate: str) -> list[list[str]]:
    return [[q.id for q in qs] for _, qs in candidate_order(exam, candidate)]


CANDIDATES = [f"R{i:04d}" for i in range(20)]


def test_the_same_candidate_gets_the_same_order_every_time() -> None:
    exam = shuffled_exam()
    first = question_ids(exam, "R0001")
    assert all(question_ids(exam, "R0001") == first for _ in range(5))


def test_the_order_survives_a_recompile() -> None:
    # Stable across resumes and restarts: nothing may depend on the process.
    a, b = shuffled_exam(), shuffled_exam()
    assert question_ids(a, "R0001") == question_ids(b, "R0001")
    qa, qb = a.questions[0], b.questions[0]
    assert option_order(a, "R0001", qa) == option_order(b, "R0001", qb)


def test_candidates_get_different_orders_when_shuffling() -> None:
    exam = shuffled_exam()
    orders = {json.dumps(question_ids(exam, c)) for c in CANDIDATES}
    assert len(orders) > len(CANDIDATES) // 2


def test_a_shuffled_order_is_a_permutation_of_each_section() -> None:
    exam = shuffled_exam()
    for candidate in CANDIDATES:
        ordered = candidate_order(exam, candidate)
        assert [s.id for s, _ in ordered] == ["a", "b", "c"]
        for sec, qs in ordered:
            assert sorted(q.id for q in qs) == sorted(sec.question_ids)
            assert all(q.section_id == sec.id for q in qs)


def test_without_shuffling_everyone_gets_the_definition_order() -> None:
    exam = shuffled_exam(questions=False, options=False)
    expected = [list(s.question_ids) for s in exam.sections]
    for candidate in CANDIDATES:
        assert question_ids(exam, candidate) == expected
        for q in exam.questions:
            assert option_order(exam, candidate, q) == list(q.options)


def test_shuffling_options_only_keeps_the_question_order() -> None:
    exam = shuffled_exam(questions=False, options=True)
    expected = [list(s.question_ids) for s in exam.sections]
    assert all(question_ids(exam, c) == expected for c in CANDIDATES)


def test_option_order_is_stable_and_a_permutation() -> None:
    exam = shuffled_exam()
    for q in exam.questions[:5]:
        first = option_order(exam, "R0001", q)
        assert option_order(exam, "R0001", q) == first
        assert sorted(first) == sorted(q.options)


def test_option_order_differs_across_candidates_when_shuffling() -> None:
    exam = shuffled_exam()
    q = exam.questions[0]
    orders = {tuple(option_order(exam, c, q)) for c in CANDIDATES}
    assert len(orders) > len(CANDIDATES) // 2


def test_option_order_differs_across_questions_for_one_candidate() -> None:
    exam = shuffled_exam()
    orders = {tuple(oid for oid, _ in option_order(exam, "R0001", q)) for q in exam.questions}
    assert len(orders) > 1


SHUFFLED = shuffled_exam()


@given(st.text(min_size=1, max_size=20))
@settings(max_examples=60, deadline=None, derandomize=True)
def test_any_candidate_gets_a_stable_permutation(candidate: str) -> None:
    first = question_ids(SHUFFLED, candidate)
    assert question_ids(SHUFFLED, candidate) == first
    assert [sorted(ids) for ids in first] == [sorted(s.question_ids) for s in SHUFFLED.sections]


# --- key changes (docs/marking.md) -------------------------------------------------------------


def test_a_dropped_question_defaults_to_bonus_all() -> None:
    exam = compiled(api_example())
    changed = with_key_changes(exam, 2, [{"question_id": "p1", "drop": True}])
    assert changed.by_id["p1"].rule.dropped == "all"
    assert changed.key_version == 2
    assert exam.by_id["p1"].rule.dropped is None


def test_a_key_change_replaces_the_key_of_each_type() -> None:
    exam = compiled(api_example())
    changed = with_key_changes(
        exam,
        2,
        [
            {"question_id": "p1", "answer": ["A", "B"]},
            {"question_id": "p2", "answer": ["A"]},
            {"question_id": "p3", "answer": {"value": D("2.5"), "tolerance": D("0.1")}},
        ],
    )
    assert changed.by_id["p1"].rule.key == frozenset({"A", "B"})
    assert changed.by_id["p2"].rule.key == frozenset({"A"})
    assert changed.by_id["p3"].rule.key == NumericKey(D("2.4"), D("2.6"))


def test_a_bonus_answered_drop_is_kept() -> None:
    exam = compiled(api_example())
    changed = with_key_changes(exam, 2, [{"question_id": "p2", "drop": True, "bonus": "answered"}])
    assert changed.by_id["p2"].rule.dropped == "answered"


# --- load_document ----------------------------------------------------------------------


def test_json_numbers_are_read_exactly() -> None:
    assert load_document(b'{"a": 2.45, "b": 0.1, "c": 3, "d": 1e-3}', "x.json") == {
        "a": D("2.45"),
        "b": D("0.1"),
        "c": 3,
        "d": D("0.001"),
    }


def test_yaml_numbers_are_read_exactly() -> None:
    doc = load_document(b"a: 2.45\nb: 0.1\nc: 3\nd: -0.5\n", "x.yaml")
    assert doc == {"a": D("2.45"), "b": D("0.1"), "c": 3, "d": D("-0.5")}
    assert isinstance(doc["a"], Decimal)
    assert isinstance(doc["c"], int)


def test_a_json_document_is_recognised_without_its_file_name() -> None:
    assert load_document(b'  {"a": 2.45}') == {"a": D("2.45")}


def test_a_byte_order_mark_is_ignored() -> None:
    assert load_document('\ufeff{"a": 2.45}'.encode(), "x.json") == {"a": D("2.45")}
    assert load_document("\ufeffa: 2.45\n".encode(), "x.yml") == {"a": D("2.45")}


def test_the_api_example_in_yaml_keeps_its_bounds_exact() -> None:
    exam = compiled(load_document(API_EXAMPLE_YAML.encode(), "mock-1.yaml"))
    assert exam.by_id["p3"].rule.key == NumericKey(low=D("2.45"), high=D("2.55"))


def test_a_loaded_definition_is_an_exam_def() -> None:
    assert isinstance(parse_definition(api_example()), ExamDef)
