"""An attempt's running totals (src/examvault/domain/totals.py), and how views.py reports them.

`number`, `decimal_number`, `result` and `is_released` of views.py are checked at the end
of this file: they are the edge where these exact totals are rounded for the API.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain.exams import Exam, compile_exam, parse_definition
from examvault.domain.marking import OUTCOMES, Outcome, Response, score
from examvault.domain.totals import Part, Totals, parse_fraction
from examvault.domain.views import decimal_number, is_released, number, result
from examvault.services.catalog import Catalog

D = Decimal
F = Fraction
OPTIONS = [{"id": o, "text": o} for o in "ABCD"]


def _exam(show_result: str = "after_close") -> Exam:
    doc: dict[str, Any] = {
        "id": "mock-1",
        "title": "Mock",
        "duration_seconds": 3600,
        "show_result": show_result,
        "sections": [
            {
                "id": "phy",
                "questions": [
                    {
                        "id": "p1",
                        "type": "single",
                        "options": OPTIONS,
                        "answer": "B",
                        "marking": "plus4_minus1",
                    },
                    {
                        "id": "p2",
                        "type": "multiple",
                        "options": OPTIONS,
                        "answer": ["A", "C", "D"],
                        "marking": "jee_advanced_multi",
                    },
                    {
                        "id": "p3",
                        "type": "numeric",
                        "answer": {"min": D("2.45"), "max": D("2.55")},
                        "marking": {"correct": 2, "wrong": "-1/3", "unanswered": "-1/6"},
                    },
                ],
            },
            {
                "id": "math",
                "questions": [
                    {
                        "id": "m1",
                        "type": "single",
                        "options": OPTIONS,
                        "answer": ["A", "C"],
                        "marking": "gate_mcq_1",
                    },
                    {
                        "id": "m2",
                        "type": "multiple",
                        "options": OPTIONS,
                        "answer": ["B", "D"],
                        "marking": {"correct": 3, "wrong": -1, "partial": "proportional"},
                    },
                    {
                        "id": "m3",
                        "type": "single",
                        "options": OPTIONS,
                        "answer": "D",
                        "marking": {"correct": 1, "wrong": "-1/3", "unanswered": "-1/4"},
                    },
                ],
            },
        ],
    }
    return compile_exam(parse_definition(doc), version=1)


EXAM = _exam()


def outcome(qid: str, response: Response) -> tuple[Outcome, Fraction]:
    return score(EXAM.by_id[qid].rule, response)


def counts(**named: int) -> list[int]:
    return [named.get(name, 0) for name in OUTCOMES]


def answer(totals: Totals, current: dict[str, Response], qid: str, response: Response) -> None:
    """Save one answer the way the attempt does: move from the old outcome to the new."""
    q = EXAM.by_id[qid]
    totals.move(q.section_id, outcome(qid, current.get(qid)), outcome(qid, response))
    current[qid] = response


# --- empty --------------------------------------------------------------------------------


def test_empty_totals_count_every_question_unanswered() -> None:
    totals = Totals.empty(EXAM)
    assert totals.whole.counts == counts(unanswered=6)
    assert totals.sections["phy"].counts == counts(unanswered=3)
    assert totals.sections["math"].counts == counts(unanswered=3)


def test_empty_totals_score_the_unanswered_marks() -> None:
    totals = Totals.empty(EXAM)
    assert totals.sections["phy"].score == F(-1, 6)
    assert totals.sections["math"].score == F(-1, 4)
    assert totals.whole.score == F(-5, 12)
    assert totals.check() == totals.whole.score


def test_empty_totals_have_every_section_of_the_exam() -> None:
    assert list(Totals.empty(EXAM).sections) == ["phy", "math"]


# --- move ---------------------------------------------------------------------------------


def test_a_move_changes_the_whole_and_its_section_only() -> None:
    totals = Totals.empty(EXAM)
    current: dict[str, Response] = {}
    answer(totals, current, "p1", "B")
    assert totals.whole.score == F(-5, 12) + 4
    assert totals.sections["phy"].score == F(-1, 6) + 4
    assert totals.sections["math"].score == F(-1, 4)
    assert totals.sections["phy"].counts == counts(correct=1, unanswered=2)
    assert totals.whole.counts == counts(correct=1, unanswered=5)


def test_changing_and_clearing_an_answer_moves_it_back() -> None:
    totals = Totals.empty(EXAM)
    current: dict[str, Response] = {}
    answer(totals, current, "p3", D("2.5"))
    answer(totals, current, "p3", D("9"))
    assert totals.sections["phy"].score == F(-1, 3)
    assert totals.sections["phy"].counts == counts(wrong=1, unanswered=2)
    answer(totals, current, "p3", None)
    assert totals == Totals.empty(EXAM)


def test_an_answer_saved_again_or_swapped_for_an_equal_one_moves_nothing() -> None:
    totals = Totals.empty(EXAM)
    current: dict[str, Response] = {}
    answer(totals, current, "m3", "A")  # wrong: -1/3
    assert outcome("m3", "A") == outcome("m3", "B") == ("wrong", F(-1, 3))
    answer(totals, current, "m3", "A")  # the same answer again
    answer(totals, current, "m3", "B")  # another wrong one: the same score and outcome
    assert totals == Totals.of(EXAM, {"m3": outcome("m3", "B")})
    assert totals.sections["math"].counts == counts(wrong=1, unanswered=2)


def test_stored_scores_read_back_once_are_shared_and_exact() -> None:
    assert parse_fraction("-17/6") == F(-17, 6) and parse_fraction("-17/6") is parse_fraction(
        "-17/6"
    )
    assert parse_fraction("4") == 4 and parse_fraction("0") == 0


def test_three_gate_thirds_cancel_exactly() -> None:
    totals = Totals.empty(EXAM)
    current: dict[str, Response] = {}
    answer(totals, current, "m1", "B")  # -1/3
    answer(totals, current, "m3", "A")  # -1/3
    answer(totals, current, "m2", frozenset("B"))  # 3/2
    assert totals.sections["math"].score == F(5, 6)
    assert totals.sections["math"].counts == counts(partial=1, wrong=2)


def test_every_answer_right_scores_max_score() -> None:
    totals = Totals.empty(EXAM)
    current: dict[str, Response] = {}
    every_right: list[tuple[str, Response]] = [
        ("p1", "B"),
        ("p2", frozenset("ACD")),
        ("p3", D("2.45")),
        ("m1", "C"),
        ("m2", frozenset("BD")),
        ("m3", "D"),
    ]
    for qid, response in every_right:
        answer(totals, current, qid, response)
    assert totals.whole.score == EXAM.max_score == 15
    assert totals.whole.counts == counts(correct=6)
    assert totals.check() == totals.whole.score


def test_part_as_dict_names_each_count() -> None:
    part = Part(F(7, 2), [1, 2, 3, 4])
    assert part.as_dict() == {
        "correct": 1,
        "partial": 2,
        "wrong": 3,
        "unanswered": 4,
        "score": F(7, 2),
    }


# --- storage ------------------------------------------------------------------------------


def test_totals_round_trip_through_their_stored_json_exactly() -> None:
    totals = Totals.empty(EXAM)
    current: dict[str, Response] = {}
    answer(totals, current, "m1", "B")
    answer(totals, current, "m2", frozenset("B"))
    answer(totals, current, "p2", frozenset("AC"))
    text = totals.dumps()
    assert Totals.loads(text) == totals
    assert Totals.loads(text).whole.score == F(-5, 12) + F(-1, 3) + F(3, 2) + 2
    assert Totals.loads(Totals.loads(text).dumps()) == totals


def test_stored_scores_are_exact_fractions_never_floats() -> None:
    totals = Totals.empty(EXAM)
    assert '"-5/12"' in totals.dumps()


# --- the incremental totals equal the totals from scratch -----------------------------------


RESPONSES: dict[str, st.SearchStrategy[Response]] = {
    "p1": st.none() | st.sampled_from("ABCD"),
    "p2": st.none() | st.frozensets(st.sampled_from("ABCD")),
    "p3": st.none()
    | st.decimals(min_value=D("2.4"), max_value=D("2.6"), places=3)
    | st.sampled_from([D("2.45"), D("2.55"), D("2.5500000000000000001")]),
    "m1": st.none() | st.sampled_from("ABCD"),
    "m2": st.none() | st.frozensets(st.sampled_from("ABCD")),
    "m3": st.none() | st.sampled_from("ABCD"),
}

changes = st.lists(
    st.sampled_from(sorted(RESPONSES)).flatmap(lambda qid: st.tuples(st.just(qid), RESPONSES[qid])),
    max_size=40,
)


@given(changes)
@settings(max_examples=150, deadline=None, derandomize=True)
def test_moving_through_any_changes_equals_totals_from_the_final_responses(
    sequence: list[tuple[str, Response]],
) -> None:
    totals = Totals.empty(EXAM)
    current: dict[str, Response] = {}
    for qid, response in sequence:
        answer(totals, current, qid, response)
        assert totals.check() == totals.whole.score
        assert sum(totals.whole.counts) == len(EXAM.questions)
    final = {qid: outcome(qid, r) for qid, r in current.items()}
    assert totals == Totals.of(EXAM, final)
    assert totals.whole.score == sum((s for _, s in final.values()), F(0)) + sum(
        (outcome(q.id, None)[1] for q in EXAM.questions if q.id not in current), F(0)
    )
    assert Totals.loads(totals.dumps()) == totals


# --- views: the totals at the edge ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (F(4), 4),
        (F(-1), -1),
        (F(0), 0),
        (F(16), 16),
        (F(-1, 3), -0.33),
        (F(1, 3), 0.33),
        (F(2, 3), 0.67),
        (F(3, 2), 1.5),
        (F(-5, 1000), -0.01),
        (F(5, 1000), 0.01),
        (F(-1, 1000), 0),
        (F(799, 100), 7.99),
        (F(1999, 200), 10),  # 9.995 rounds to the integer 10
    ],
)
def test_number_rounds_half_away_from_zero_and_keeps_integers_integers(
    value: Fraction, expected: int | float
) -> None:
    got = number(value)
    assert got == expected
    assert type(got) is type(expected)


def test_number_rounds_to_the_places_asked() -> None:
    assert number(F(500, 6), 7) == 83.3333333
    assert number(F(-1, 3), 0) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [(None, None), ("100", 100), ("83.3333333", 83.3333333), ("16.6666667", 16.6666667)],
)
def test_decimal_number_reads_a_stored_percentile(
    text: str | None, expected: int | float | None
) -> None:
    got = decimal_number(text)
    assert got == expected
    assert type(got) is type(expected)


def test_decimal_number_keeps_an_integral_value_an_integer() -> None:
    assert decimal_number("100.0000000") == 100
    assert type(decimal_number("100.0000000")) is int


def test_result_reports_rounded_totals_section_by_section() -> None:
    totals = Totals.empty(EXAM)
    current: dict[str, Response] = {}
    answer(totals, current, "p1", "B")
    answer(totals, current, "m1", "B")
    answer(totals, current, "m2", frozenset("B"))
    assert result(EXAM, totals, 3, "83.3333333") == {
        "score": 4.75,  # 4 - 1/6 - 1/3 + 3/2 - 1/4, exactly
        "max_score": 15,
        "correct": 1,
        "partial": 1,
        "wrong": 1,
        "unanswered": 3,
        "pending_marks": 0,
        "sections": [
            {
                "id": "phy",
                "score": 3.83,  # 23/6
                "max_score": 10,
                "correct": 1,
                "partial": 0,
                "wrong": 0,
                "unanswered": 2,
            },
            {
                "id": "math",
                "score": 0.92,  # 11/12
                "max_score": 5,
                "correct": 0,
                "partial": 1,
                "wrong": 1,
                "unanswered": 1,
            },
        ],
        "rank": 3,
        "percentile": 83.3333333,
    }


def test_result_before_close_has_no_rank_or_percentile() -> None:
    doc = result(EXAM, Totals.empty(EXAM), None, None)
    assert doc["rank"] is None
    assert doc["percentile"] is None
    assert doc["score"] == -0.42  # -5/12


def test_counts_in_a_result_add_up_to_the_number_of_questions() -> None:
    doc = result(EXAM, Totals.empty(EXAM), None, None)
    assert sum(doc[o] for o in OUTCOMES) == len(EXAM.questions)
    for sec, part in zip(doc["sections"], EXAM.sections, strict=True):
        assert sum(sec[o] for o in OUTCOMES) == len(part.question_ids)


CLOSED_AT = 1_800_000_000_000_000


@pytest.mark.parametrize(
    ("show_result", "submitted", "closed_at", "released"),
    [
        ("on_submit", False, None, False),
        ("on_submit", True, None, True),
        ("on_submit", True, CLOSED_AT, True),
        ("after_close", False, None, False),
        ("after_close", True, None, False),
        ("after_close", True, CLOSED_AT, True),
        ("never", False, None, False),
        ("never", True, None, False),
        ("never", True, CLOSED_AT, False),
    ],
)
def test_a_result_is_released_per_show_result(
    show_result: str, submitted: bool, closed_at: int | None, released: bool
) -> None:
    assert is_released(_exam(show_result), submitted, closed_at) is released


@given(st.fractions())
def test_a_stored_score_reads_back_exactly(value: Fraction) -> None:
    assert parse_fraction(str(value)) == value


def test_an_attempt_starts_from_empty_totals_computed_once_per_exam_version_and_key() -> None:
    catalog = Catalog()
    assert catalog.empty_totals(EXAM, "c1") == Totals.empty(EXAM).dumps()
    assert catalog.empty_totals(EXAM, "c1") is catalog.empty_totals(EXAM, "c1")
    rekeyed = dataclasses.replace(EXAM, key_version=EXAM.key_version + 1, questions=())
    assert catalog.empty_totals(rekeyed, "c1") == Totals.empty(rekeyed).dumps(), "a new key"
