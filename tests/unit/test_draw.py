"""Question pools (src/examvault/domain/draw.py and the `draw` of domain/exams.py)."""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain import draw, item_analysis, ranking, views
from examvault.domain.exams import (
    DefinitionError,
    candidate_order,
    compile_exam,
    fingerprint,
    left_out,
    normalized,
    parse_definition,
)
from examvault.domain.totals import Totals

IDS = st.text(alphabet="abcdefghij0123456789_-", min_size=1, max_size=12)


def single(qid: str, marking: Any = "plus4_minus1") -> dict[str, Any]:
    return {
        "id": qid,
        "type": "single",
        "options": [{"id": o} for o in "ABCD"],
        "answer": "B",
        "marking": marking,
    }


def pool_exam(pool: int = 6, k: int = 2, shuffle: bool = False, **section: Any) -> dict[str, Any]:
    """A fixed section of two questions and a pool of `pool` drawing `k`."""
    return {
        "id": "pools",
        "title": "Pools",
        "duration_seconds": 600,
        "shuffle": {"questions": shuffle},
        "sections": [
            {"id": "fixed", "questions": [single("f1"), single("f2")]},
            {"id": "pool", "draw": k, "questions": [single(f"p{i}") for i in range(pool)]}
            | section,
        ],
    }


@settings(max_examples=200)
@given(
    exam_id=IDS,
    version=st.integers(1, 10_000),
    candidate=IDS,
    n=st.integers(1, 40),
    data=st.data(),
)
def test_a_draw_is_k_questions_of_the_pool_in_its_order_and_stable(
    exam_id: str, version: int, candidate: str, n: int, data: st.DataObject
) -> None:
    ids = [f"q{i}" for i in range(n)]
    k = data.draw(st.integers(1, n))
    got = draw.pick(exam_id, version, candidate, "sec", ids, k)
    assert len(got) == k and len(set(got)) == k
    assert set(got) <= set(ids)
    assert list(got) == [q for q in ids if q in got], "the definition's order"
    assert got == draw.pick(exam_id, version, candidate, "sec", list(ids), k)


@settings(max_examples=100)
@given(exam_id=IDS, version=st.integers(1, 10_000), n=st.integers(2, 30), data=st.data())
def test_different_candidates_mostly_get_different_questions(
    exam_id: str, version: int, n: int, data: st.DataObject
) -> None:
    k = data.draw(st.integers(1, n - 1))
    ids = [f"q{i}" for i in range(n)]
    draws = {draw.pick(exam_id, version, f"C{c}", "sec", ids, k) for c in range(40)}
    # With at least n ≥ 2 possible draws, 40 candidates all drawing the same one has a
    # chance of at most 2^-39.
    assert len(draws) > 1


def test_the_draw_is_pinned_across_versions_of_python_and_of_this_code() -> None:
    """SHA-256 of fixed strings: a change here would move every candidate of a running
    exam to other questions after an upgrade."""
    ids = [f"q{i}" for i in range(10)]
    assert draw.pick("mock-1", 1, "C001", "pool", ids, 3) == ("q2", "q5", "q6")
    assert draw.pick("mock-1", 2, "C001", "pool", ids, 3) != draw.pick(
        "mock-1", 1, "C001", "pool", ids, 3
    ), "the version is part of the seed"


def test_a_candidate_sees_only_the_drawn_questions_shuffled_among_themselves() -> None:
    exam = compile_exam(parse_definition(pool_exam(shuffle=True)), version=1)
    for cid in ("A", "B", "C", "D"):
        (_, fixed), (section, pooled) = candidate_order(exam, cid)
        assert sorted(q.id for q in fixed) == ["f1", "f2"]
        expected = draw.pick("pools", 1, cid, "pool", section.question_ids, 2)
        assert sorted(q.id for q in pooled) == sorted(expected)
        assert left_out(exam, cid) == frozenset(section.question_ids) - set(expected)
    orders = {tuple(q.id for q in candidate_order(exam, f"S{i}")[1][1]) for i in range(40)}
    assert any(list(o) != sorted(o) for o in orders), "the drawn questions are shuffled"


def test_max_score_is_the_same_for_everyone_and_only_drawn_questions_count() -> None:
    doc = pool_exam(k=3)
    for q in doc["sections"][1]["questions"]:
        q["marking"] = {"correct": 4, "wrong": -1, "unanswered": "-1/4"}
    exam = compile_exam(parse_definition(doc), version=1)
    assert exam.sections[1].max_score == 12 and exam.max_score == 4 + 4 + 12
    totals = Totals.empty(exam, left_out(exam, "A"))
    assert totals.sections["pool"].counts == [0, 0, 0, 3]
    assert totals.sections["pool"].score == Fraction(-3, 4)
    assert totals.whole.counts == [0, 0, 0, 5]
    me = views.section_marks(exam)
    assert me[1]["questions"] == 3 and me[1]["marks"][0]["questions"] == 3


def test_no_pool_means_nothing_left_out_and_the_stored_form_unchanged() -> None:
    doc = pool_exam()
    del doc["sections"][1]["draw"]
    exam = compile_exam(parse_definition(doc), version=1)
    assert left_out(exam, "A") == frozenset() and not exam.has_draw
    assert all("draw" not in s for s in normalized(parse_definition(doc))["sections"])
    assert normalized(parse_definition(pool_exam()))["sections"][1]["draw"] == 2
    assert fingerprint(parse_definition(doc)) != fingerprint(parse_definition(pool_exam()))
    whole = compile_exam(parse_definition(pool_exam(k=6)), version=1)
    assert left_out(whole, "A") == frozenset(), "draw = n gives every question"


@pytest.mark.parametrize("k", [0, -1, 7])
def test_a_draw_out_of_range_is_refused_naming_the_section(k: int) -> None:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(pool_exam(k=k))
    assert caught.value.errors == [
        {
            "loc": ["sections", 1, "draw"],
            "msg": "section 'pool': draw must be 1..6 (its number of questions)",
        }
    ]


def test_a_pool_with_mixed_markings_is_refused_naming_the_section() -> None:
    doc = pool_exam()
    doc["sections"][1]["questions"][3]["marking"] = {"correct": 4, "wrong": 0}
    with pytest.raises(DefinitionError) as caught:
        parse_definition(doc)
    assert caught.value.errors[0]["loc"] == ["sections", 1, "draw"]
    assert "'pool'" in caught.value.errors[0]["msg"]


def test_the_same_marking_written_two_ways_is_one_marking() -> None:
    doc = pool_exam()
    doc["sections"][1]["questions"][3]["marking"] = {"correct": "4", "wrong": "-1.0"}
    parse_definition(doc)  # the preset plus4_minus1, spelled out


def test_item_analysis_counts_each_pool_question_over_the_attempts_given_it() -> None:
    exam = compile_exam(parse_definition(pool_exam(pool=3, k=1)), version=1)
    cids = [f"C{i}" for i in range(12)]
    attempts = []
    for i, cid in enumerate(cids):
        (pq,) = draw.pick("pools", 1, cid, "pool", ("p0", "p1", "p2"), 1)
        right = "B" if i % 2 else "A"
        attempts.append((cid, {"f1": ("B", 1000), "f2": (right, 1000), pq: (right, 500 + i)}))
    doc = item_analysis.figures(exam, item_analysis.sheet_of(exam, attempts))
    by_id = {q["id"]: q for q in doc["questions"]}
    assert by_id["f1"]["n"] == 12
    given_ = {q: [c for c in cids if q not in left_out(exam, c)] for q in ("p0", "p1", "p2")}
    assert sum(by_id[q]["n"] for q in given_) == 12
    for qid, who in given_.items():
        assert by_id[qid]["n"] == len(who)
        if who:
            right = sum(int(c[1:]) % 2 for c in who)
            assert by_id[qid]["facility"] == round(right / len(who), 4)
            assert sum(by_id[qid]["options"].values()) == len(who)
    # Every score counts only the given questions: 4 (f1) + 2 × (4 or −1).
    assert doc["score"]["max"] == 12 and doc["score"]["min"] == 2


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 40))
def test_pool_item_figures_equal_a_direct_count_over_the_attempts_given_it(
    seed: int, n: int
) -> None:
    """Facility, discrimination and point-biserial of each pool question, recomputed here
    the long way: rank the whole exam, keep the attempts given the question, count."""
    rng = random.Random(seed)
    exam = compile_exam(parse_definition(pool_exam(pool=4, k=2)), version=1)
    cids = [f"K{seed}-{i}" for i in range(n)]
    attempts = []
    for cid in cids:
        mine = {q.id for _, qs in candidate_order(exam, cid) for q in qs}
        attempts.append((cid, {q: (rng.choice("ABCD"), 1000) for q in sorted(mine)}))
    doc = item_analysis.figures(exam, item_analysis.sheet_of(exam, attempts))
    totals = [sum(4 if r == "B" else -1 for r, _ in answered.values()) for _, answered in attempts]
    order = sorted(range(n), key=lambda i: (-totals[i], cids[i]))
    k = ranking.upper_lower_k(n)
    upper, lower = set(order[:k]), set(order[n - k :])
    for q in doc["questions"]:
        had = [i for i, (_, answered) in enumerate(attempts) if q["id"] in answered]
        assert q["n"] == len(had)
        if not had:
            assert q["facility"] is None
            continue
        right = {i for i in had if attempts[i][1][q["id"]][0] == "B"}
        assert q["facility"] == ranking.rounded(Fraction(len(right), len(had)), 4)
        up, low = upper.intersection(had), lower.intersection(had)
        if up and low:
            share = Fraction(len(right & up), len(up)) - Fraction(len(right & low), len(low))
            assert q["discrimination"] == ranking.rounded(share, 4)
        else:
            assert q["discrimination"] is None
        xs = [1.0 if i in right else 0.0 for i in had]
        ys = [float(totals[i]) for i in had]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
        sxx = sum((x - mx) ** 2 for x in xs)
        syy = sum((y - my) ** 2 for y in ys)
        if sxx == 0 or syy == 0:
            assert q["point_biserial"] is None
        else:
            assert math.isclose(q["point_biserial"], sxy / math.sqrt(sxx * syy), abs_tol=1e-4)
