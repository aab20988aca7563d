"""Regrading equals a from-scratch recomputation (domain/rescoring.py)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain.answers import encode_response
from examvault.domain.exams import compile_exam, parse_definition, with_key_changes
from examvault.domain.marking import score
from examvault.domain.rescoring import Rescored, Scorer, impact
from examvault.domain.totals import Totals
from tests.helpers import small_exam, to_json

EXAM = compile_exam(parse_definition(to_json(small_exam(n=2))), version=1)
GATE = compile_exam(
    parse_definition(
        to_json(
            small_exam(
                n=1,
                sections=[
                    {"id": "g", "questions": [
                        {"id": "g1", "type": "single", "options": [{"id": o} for o in "ABCD"], "answer": "A", "marking": "gate_mcq_1"},
                        {"id": "g2", "type": "multiple", "options": [{"id": o} for o in "ABC"], "answer": ["A", "B", "C"],
                         "marking": {"correct": 2, "partial": "proportional", "unanswered": "-1/7"}},
                    ]},
                ],
            )
        )
    ),
    version=1,
)  # fmt: skip


def responses_for(exam: Any) -> Any:
    """A strategy of {question id: stored response text} for some questions of `exam`."""
    per_question = {}
    for q in exam.questions:
        if q.type == "single":
            per_question[q.id] = st.sampled_from([None, "A", "B", "C", "D"][: 1 + len(q.options)])
        elif q.type == "multiple":
            ids = [o for o, _ in q.options]
            per_question[q.id] = st.one_of(
                st.none(), st.sets(st.sampled_from(ids), min_size=1).map(sorted)
            )
        else:
            per_question[q.id] = st.one_of(
                st.none(), st.sampled_from(["2.5", "2.45", "3", "-1", "2.550"])
            )
    return st.fixed_dictionaries({}, optional=per_question).map(
        lambda d: {
            q: None
            if r is None
            else encode_response(Decimal(r) if isinstance(r, str) and r[0] in "-23" else r)
            for q, r in d.items()
        }
    )


CHANGES = st.lists(
    st.one_of(
        st.builds(
            lambda q, b: {"question_id": q, "drop": True, "bonus": b},
            st.sampled_from(["s0", "m1", "n0"]),
            st.sampled_from(["all", "answered"]),
        ),
        st.builds(
            lambda a: {"question_id": "s0", "answer": a}, st.sampled_from(["A", ["A", "B"], ["C"]])
        ),
        st.builds(
            lambda a: {"question_id": "m0", "answer": a},
            st.sampled_from([["A"], ["A", "B", "C"], ["D"]]),
        ),
        st.builds(
            lambda a: {"question_id": "n1", "answer": a},
            st.sampled_from(
                [{"value": 3}, {"value": "2.5", "tolerance": "0.05"}, {"min": -1, "max": 0}]
            ),
        ),
    ),
    max_size=4,
)


def from_scratch(exam: Any, stored: dict[str, str | None]) -> Totals:
    from examvault.domain.answers import decode_response

    return Totals.of(
        exam,
        {
            q: score(exam.by_id[q].rule, decode_response(exam.by_id[q], t))
            for q, t in stored.items()
        },
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(responses_for(EXAM), min_size=1, max_size=5), CHANGES)
def test_rescoring_equals_recomputing_from_scratch(
    attempts: list[dict[str, str | None]], changes: list[dict[str, Any]]
) -> None:
    changed = with_key_changes(EXAM, 2, changes)
    scorer = Scorer(changed)
    for stored in attempts:
        got = scorer.totals(scorer.entry(q, t) for q, t in stored.items())
        want = from_scratch(changed, stored)
        assert got.dumps() == want.dumps()
        for q, t in stored.items():
            e = scorer.entry(q, t)
            assert (e.outcome, e.score) == from_scratch_item(changed, q, t)


def from_scratch_item(exam: Any, qid: str, text: str | None) -> tuple[str, Fraction]:
    from examvault.domain.answers import decode_response

    return score(exam.by_id[qid].rule, decode_response(exam.by_id[qid], text))


@settings(max_examples=200, deadline=None)
@given(st.lists(responses_for(GATE), min_size=1, max_size=5))
def test_fractional_marks_stay_exact(attempts: list[dict[str, str | None]]) -> None:
    """GATE thirds and a proportional multiple with an unanswered mark of −1/7."""
    for exam in (GATE, with_key_changes(GATE, 2, [{"question_id": "g2", "answer": ["A"]}])):
        scorer = Scorer(exam)
        for stored in attempts:
            assert (
                scorer.totals(scorer.entry(q, t) for q, t in stored.items()).dumps()
                == from_scratch(exam, stored).dumps()
            )


@settings(max_examples=100, deadline=None)
@given(st.lists(responses_for(EXAM), min_size=1, max_size=6), CHANGES)
def test_regrading_twice_is_regrading_once(
    attempts: list[dict[str, str | None]], changes: list[dict[str, Any]]
) -> None:
    once = with_key_changes(EXAM, 2, changes)
    twice = with_key_changes(once, 3, changes)
    a, b = Scorer(once), Scorer(twice)
    for stored in attempts:
        assert (
            a.totals(a.entry(q, t) for q, t in stored.items()).dumps()
            == b.totals(b.entry(q, t) for q, t in stored.items()).dumps()
        )


def test_impact_counts_changes_over_submitted_attempts_only() -> None:
    F = Fraction
    rows = [
        Rescored("a", True, F(10), F(14)),
        Rescored("b", True, F(12), F(11)),
        Rescored("c", True, F(5), F(5)),
        Rescored("d", False, F(0), F(100)),
    ]
    # Ranks before: b 1, a 2, c 3; after: a 1, b 2, c 3 → two moved.
    assert impact(rows, closed=True) == {
        "attempts_rescored": 3, "score_changed": 2, "max_gain": 4, "max_loss": 1, "rank_changed": 2,
    }  # fmt: skip
    assert impact(rows, closed=False)["rank_changed"] is None
    assert impact([Rescored("a", True, F(1, 3), F(1, 3))], True)["max_gain"] == 0
