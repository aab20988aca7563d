"""docs/api.md's save item rules, item by item (src/examvault/domain/answers.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from examvault.domain.answers import Item, decode_response, encode_response, parse_items
from examvault.domain.exams import Exam, compile_exam, parse_definition
from examvault.errors import InvalidBody

D = Decimal
ASCII_NUMERIC = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"


def _exam() -> Exam:
    options = [{"id": o, "text": o} for o in "ABCD"]
    doc = {
        "id": "mock-1",
        "title": "Mock",
        "duration_seconds": 3600,
        "sections": [
            {
                "id": "phy",
                "questions": [
                    {
                        "id": "s1",
                        "type": "single",
                        "options": options,
                        "answer": "B",
                        "marking": "plus4_minus1",
                    },
                    {
                        "id": "m1",
                        "type": "multiple",
                        "options": options,
                        "answer": ["A", "C"],
                        "marking": "jee_advanced_multi",
                    },
                ],
            },
            {
                "id": "math",
                "questions": [
                    {
                        "id": "n1",
                        "type": "numeric",
                        "answer": {"min": D("2.45"), "max": D("2.55")},
                        "marking": "gate_nat_2",
                    }
                ],
            },
        ],
    }
    return compile_exam(parse_definition(doc), version=1)


EXAM = _exam()
MAX_ITEMS = 50


def item(
    question_id: str = "s1", response: Any = "B", seq: Any = 1, **extra: Any
) -> dict[str, Any]:
    return {"question_id": question_id, "response": response, "seq": seq, **extra}


def parse(*items: Any, max_items: int = MAX_ITEMS) -> list[Item]:
    return parse_items(EXAM, {"answers": list(items)}, required=True, max_items=max_items)


def faults(body: Any, *, required: bool = True, max_items: int = MAX_ITEMS) -> list[dict[str, Any]]:
    with pytest.raises(InvalidBody) as caught:
        parse_items(EXAM, body, required=required, max_items=max_items)
    assert caught.value.status == 422
    errors: list[dict[str, Any]] = caught.value.extra["errors"]
    assert errors
    return errors


def fault_locs(*items: Any) -> list[list[Any]]:
    return [e["loc"] for e in faults({"answers": list(items)})]


def one(raw: dict[str, Any]) -> Item:
    (parsed,) = parse(raw)
    return parsed


# --- a valid item -------------------------------------------------------------------------


def test_a_single_item_is_read_with_every_field() -> None:
    got = one(item("s1", "B", 8, marked_for_review=True, time_spent_ms=41000))
    assert got == Item(
        question_id="s1",
        seq=8,
        response="B",
        response_json='"B"',
        marked=True,
        time_spent_ms=41000,
    )


def test_optional_fields_default() -> None:
    got = one(item("s1", "B", 1))
    assert got.marked is False
    assert got.time_spent_ms is None


def test_a_multiple_item_is_a_set_of_option_ids() -> None:
    got = one(item("m1", ["C", "A"], 2))
    assert got.response == frozenset({"A", "C"})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (D("2.5"), D("2.5")),
        (3, D(3)),
        (-3, D(-3)),
        ("2.50", D("2.5")),
        (".5", D("0.5")),
        ("5.", D(5)),
        ("+1e-3", D("0.001")),
        ("-2.5E+0", D("-2.5")),
        (D("1E+2"), D(100)),
    ],
)
def test_a_numeric_item_is_a_number_or_a_numeric_string(raw: Any, expected: Decimal) -> None:
    got = one(item("n1", raw, 3))
    assert got.response == expected
    assert isinstance(got.response, Decimal)


def test_items_keep_their_order_in_the_body() -> None:
    got = parse(item("n1", "2.5", 9), item("s1", "A", 4), item("s1", "B", 5))
    assert [(i.question_id, i.seq) for i in got] == [("n1", 9), ("s1", 4), ("s1", 5)]


@pytest.mark.parametrize("seq", [1, 2, 10**6, 2**53, 2**63 - 1])
def test_seq_is_a_positive_integer(seq: int) -> None:
    assert one(item(seq=seq)).seq == seq


# --- seq --------------------------------------------------------------------------------


@pytest.mark.parametrize("seq", [0, -1, 1.5, D("1.5"), D("2.0"), "3", True, False, None, [1]])
def test_seq_that_is_not_a_positive_integer_is_refused(seq: Any) -> None:
    assert fault_locs(item(seq=seq)) == [["body", "answers", 0, "seq"]]


def test_a_missing_seq_is_refused() -> None:
    raw = item()
    del raw["seq"]
    assert fault_locs(raw) == [["body", "answers", 0, "seq"]]


# --- clearing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qid", "clear"),
    [("s1", None), ("s1", ""), ("m1", None), ("m1", ""), ("m1", []), ("n1", None), ("n1", "")],
)
def test_null_and_empty_string_clear_any_question_and_empty_list_a_multiple(
    qid: str, clear: Any
) -> None:
    got = one(item(qid, clear, 4))
    assert got.response is None
    assert got.response_json is None


@pytest.mark.parametrize("qid", ["s1", "n1"])
def test_an_empty_list_clears_only_a_multiple(qid: str) -> None:
    assert fault_locs(item(qid, [], 4)) == [["body", "answers", 0, "response"]]


# --- response shapes ----------------------------------------------------------------------


@pytest.mark.parametrize("response", [["B"], 1, D(1), True, {"id": "B"}, "E", "b", " B"])
def test_a_single_response_is_one_known_option_id(response: Any) -> None:
    assert fault_locs(item("s1", response)) == [["body", "answers", 0, "response"]]


@pytest.mark.parametrize(
    "response",
    ["A", ["A", "A"], ["A", "C", "A"], ["A", 1], [["A"]], ["E"], ["A", "E"], {"A": True}, 1, True],
)
def test_a_multiple_response_is_a_list_of_distinct_known_option_ids(response: Any) -> None:
    assert fault_locs(item("m1", response)) == [["body", "answers", 0, "response"]]


def test_an_unknown_option_is_named() -> None:
    (fault,) = faults({"answers": [item("s1", "E")]})
    assert "E" in fault["msg"]


@pytest.mark.parametrize(
    "response",
    [
        " 1",
        "1 ",
        "1_0",
        "1_000.5",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "0x10",
        "0b1",
        "1e",
        "e3",
        ".",
        "-",
        "1.2.3",
        "1,5",
        "½",
        "\u0661\u0662",
        "\uff11",
        True,
        False,
        [1],
        ["2.5"],
        {"value": 1},
        2.5,
    ],
)
def test_a_numeric_response_is_a_number_or_a_numeric_string_only(response: Any) -> None:
    # (A JSON number arrives as int or Decimal: the body is read with parse_float=Decimal.)
    assert fault_locs(item("n1", response)) == [["body", "answers", 0, "response"]]


def test_a_numeric_string_too_large_for_a_decimal_is_refused() -> None:
    assert fault_locs(item("n1", "1e1000000000000000000")) == [["body", "answers", 0, "response"]]


@given(st.from_regex(ASCII_NUMERIC, fullmatch=True))
@settings(max_examples=100, deadline=None, derandomize=True)
def test_every_numeric_string_the_regex_matches_is_accepted(text: str) -> None:
    exponent = text.lower().partition("e")[2]
    assume(not exponent or abs(int(exponent)) < 10**17)
    assert one(item("n1", text)).response == D(text)


# --- the item's other fields ---------------------------------------------------------------


def test_an_unknown_question_is_refused() -> None:
    (fault,) = faults({"answers": [item("zz", "B")]})
    assert fault["loc"] == ["body", "answers", 0, "question_id"]
    assert "zz" in fault["msg"]


@pytest.mark.parametrize("qid", [None, 1, ["s1"]])
def test_a_question_id_that_is_not_a_string_is_refused(qid: Any) -> None:
    assert fault_locs(item(qid)) == [["body", "answers", 0, "question_id"]]


def test_a_missing_question_id_is_refused() -> None:
    raw = item()
    del raw["question_id"]
    assert fault_locs(raw) == [["body", "answers", 0, "question_id"]]


def test_a_missing_response_is_refused() -> None:
    raw = item()
    del raw["response"]
    assert fault_locs(raw) == [["body", "answers", 0, "response"]]


def test_an_unknown_item_field_is_refused_by_name() -> None:
    assert fault_locs(item(score=4, answer="B")) == [
        ["body", "answers", 0, "answer"],
        ["body", "answers", 0, "score"],
    ]


@pytest.mark.parametrize("marked", [1, 0, "true", None])
def test_marked_for_review_is_true_or_false(marked: Any) -> None:
    assert fault_locs(item(marked_for_review=marked)) == [
        ["body", "answers", 0, "marked_for_review"]
    ]


@pytest.mark.parametrize("spent", [-1, 1.5, D("10.5"), True, "100"])
def test_time_spent_ms_is_a_non_negative_integer(spent: Any) -> None:
    assert fault_locs(item(time_spent_ms=spent)) == [["body", "answers", 0, "time_spent_ms"]]


@pytest.mark.parametrize("spent", [0, 41000, None])
def test_time_spent_ms_may_be_zero_or_absent(spent: int | None) -> None:
    assert one(item(time_spent_ms=spent)).time_spent_ms == spent


@pytest.mark.parametrize("raw", [None, "s1", ["s1", "B", 1], 3])
def test_an_item_that_is_not_an_object_is_refused(raw: Any) -> None:
    assert fault_locs(raw) == [["body", "answers", 0]]


# --- the body -----------------------------------------------------------------------------


def test_one_bad_item_refuses_the_whole_body_listing_every_fault() -> None:
    errors = faults(
        {
            "answers": [
                item("s1", "B", 1),
                item("s1", "B", 0),
                item("m1", ["A", "A"], 3),
                item("n1", "2.5", 4),
                item("zz", "B", 5),
                item("n1", True, -1, extra=1),
            ]
        }
    )
    # Every fault, item by item (the order of faults within one item is not a rule).
    assert sorted(e["loc"] for e in errors) == [
        ["body", "answers", 1, "seq"],
        ["body", "answers", 2, "response"],
        ["body", "answers", 4, "question_id"],
        ["body", "answers", 5, "extra"],
        ["body", "answers", 5, "response"],
        ["body", "answers", 5, "seq"],
    ]
    assert all(e["msg"] for e in errors)


def test_the_refusal_names_its_first_fault() -> None:
    with pytest.raises(InvalidBody) as caught:
        parse(item("s1", "B", 1), item("s1", "Z", 2))
    assert "answers.1.response" in caught.value.detail


@pytest.mark.parametrize("body", [[], "answers", 3, [item()]])
def test_a_body_that_is_not_an_object_is_refused(body: Any) -> None:
    assert [e["loc"] for e in faults(body)] == [["body"]]


def test_a_required_body_must_be_there() -> None:
    assert [e["loc"] for e in faults(None)] == [["body"]]
    assert [e["loc"] for e in faults({})] == [["body", "answers"]]


def test_an_optional_body_may_be_absent_or_without_answers() -> None:
    assert parse_items(EXAM, None, required=False, max_items=MAX_ITEMS) == []
    assert parse_items(EXAM, {}, required=False, max_items=MAX_ITEMS) == []


def test_an_optional_body_is_still_checked() -> None:
    errors = faults({"answers": [item(seq=0)]}, required=False)
    assert [e["loc"] for e in errors] == [["body", "answers", 0, "seq"]]


def test_an_empty_list_of_answers_is_nothing_to_save() -> None:
    assert parse() == []


@pytest.mark.parametrize("answers", [None, {"s1": "B"}, "s1"])
def test_answers_must_be_a_list(answers: Any) -> None:
    assert [e["loc"] for e in faults({"answers": answers})] == [["body", "answers"]]


def test_an_unknown_body_field_is_refused() -> None:
    errors = faults({"answers": [item()], "seq": 4})
    assert [e["loc"] for e in errors] == [["body", "seq"]]


def test_at_most_max_items_in_one_body() -> None:
    assert len(parse(*[item(seq=i + 1) for i in range(5)], max_items=5)) == 5
    errors = faults({"answers": [item(seq=i + 1) for i in range(6)]}, max_items=5)
    assert [e["loc"] for e in errors] == [["body", "answers"]]


# --- repeats and the stored form -------------------------------------------------------------


@pytest.mark.parametrize("spelling", [D("2.5"), D("2.50"), "2.5", "2.50", "+2.5", "2.5e0", ".25E1"])
def test_numbers_are_compared_as_decimals_for_a_repeat(spelling: Any) -> None:
    stored = one(item("n1", D("2.5"), 7))
    again = one(item("n1", spelling, 7))
    assert stored.same_content(again.response, again.marked)


def test_a_different_number_is_not_a_repeat() -> None:
    stored = one(item("n1", "2.5", 7))
    assert not stored.same_content(one(item("n1", "2.51", 7)).response, False)


def test_a_different_review_mark_is_not_a_repeat() -> None:
    stored = one(item("s1", "B", 7))
    assert stored.same_content("B", False)
    assert not stored.same_content("B", True)


def test_a_multiple_repeat_ignores_the_order_of_options() -> None:
    stored = one(item("m1", ["A", "C"], 7))
    assert stored.same_content(one(item("m1", ["C", "A"], 7)).response, False)
    assert not stored.same_content(frozenset({"A"}), False)


def test_every_way_of_clearing_is_the_same_content() -> None:
    stored = one(item("m1", [], 7))
    for clear in (None, ""):
        assert stored.same_content(one(item("m1", clear, 7)).response, False)


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        (D("2.50"), "2.50"),
        (D("1E+3"), "1E+3"),
        (3, "3"),
        ("2.50", '"2.50"'),
        ("+1e-3", '"+1e-3"'),
    ],
)
def test_a_numeric_response_is_stored_with_the_digits_received(raw: Any, written: str) -> None:
    assert one(item("n1", raw)).response_json == written


def test_choice_responses_are_stored_as_json() -> None:
    assert one(item("s1", "B")).response_json == '"B"'
    assert one(item("m1", ["C", "A"])).response_json == '["C","A"]'


@pytest.mark.parametrize(
    "raw", [D("2.50"), D("-0.000"), D("1E+3"), 12, "2.50", ".5", "+1e-3", "B", ["C", "A"]]
)
def test_a_stored_response_reads_back_to_the_same_normal_form(raw: Any) -> None:
    qid = "s1" if raw == "B" else "m1" if isinstance(raw, list) else "n1"
    got = one(item(qid, raw))
    assert decode_response(EXAM.by_id[qid], got.response_json) == got.response


def test_a_cleared_response_reads_back_as_none() -> None:
    assert decode_response(EXAM.by_id["n1"], None) is None


@given(st.decimals(allow_nan=False, allow_infinity=False) | st.integers())
@settings(max_examples=150, deadline=None, derandomize=True)
def test_any_json_number_round_trips_through_storage(number: Decimal | int) -> None:
    got = one(item("n1", number))
    assert got.response_json == encode_response(number)
    assert decode_response(EXAM.by_id["n1"], got.response_json) == got.response == D(number)
