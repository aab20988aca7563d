"""The figures of docs/api.md "Analytics" against values worked out by hand, and properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from statistics import median as float_median
from statistics import pstdev
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from examvault.domain import item_analysis as ia
from examvault.domain import ranking as a
from examvault.domain.exams import compile_exam, parse_definition, with_key_changes

F = Fraction


def exam_doc(n_questions: int = 3) -> dict[str, Any]:
    opts = [{"id": o} for o in "ABCD"]
    questions: list[dict[str, Any]] = [
        {"id": "q1", "type": "single", "options": opts, "answer": "A", "marking": "plus4_minus1"},
        {"id": "q2", "type": "single", "options": opts, "answer": "B", "marking": "plus4_minus1"},
        {"id": "q3", "type": "numeric", "answer": {"value": 7}, "marking": "plus4"},
    ]
    return {
        "id": "hand",
        "title": "Worked by hand",
        "duration_seconds": 600,
        "sections": [
            {"id": "one", "questions": questions[:2]},
            {"id": "two", "questions": questions[2:n_questions]},
        ],
    }


EXAM = compile_exam(parse_definition(exam_doc()), version=1)

# Five candidates. Marks: q1, q2 +4/−1 (single), q3 +4/0 (numeric, key 7).
#   C1: q1 A (+4), q2 B (+4), q3 7 (+4)          total 12
#   C2: q1 A (+4), q2 C (−1), q3 7 (+4)          total 7
#   C3: q1 B (−1), q2 B (+4), q3 —  (0)          total 3
#   C4: q1 A (+4), q2 C (−1), q3 5  (0)          total 3
#   C5: q1 —  (0), q2 C (−1), q3 —  (0)          total −1
HAND = [
    ("C1", {"q1": ("A", 10_000), "q2": ("B", 20_000), "q3": (Decimal(7), 30_000)}),
    ("C2", {"q1": ("A", 12_000), "q2": ("C", 21_000), "q3": (Decimal(7), 31_000)}),
    ("C3", {"q1": ("B", 15_000), "q2": ("B", 25_000)}),
    ("C4", {"q1": ("A", 11_000), "q2": ("C", 22_000), "q3": (Decimal(5), None)}),
    ("C5", {"q2": ("C", 23_000)}),
]


def hand_figures() -> dict[str, Any]:
    return ia.figures(EXAM, ia.sheet_of(EXAM, HAND))


def test_score_summary_by_hand() -> None:
    """Totals 12, 7, 3, 3, −1: n = 5.

    mean = 24/5 = 4.8; median = 3 (sorted −1, 3, 3, 7, 12);
    var = (12² + 7² + 3² + 3² + 1²)/5 − 4.8² = 212/5 − 23.04 = 42.4 − 23.04 = 19.36; sd = 4.4.
    Histogram: span 13 → width 1 (13 < 20 bins), from −1 to 12: 14 bins, counts add up to 5.
    """
    doc = hand_figures()
    assert {k: v for k, v in doc["score"].items() if k != "histogram"} == {
        "mean": 4.8, "median": 3, "sd": 4.4, "min": -1, "max": 12,
    }  # fmt: skip
    hist = doc["score"]["histogram"]
    assert hist[0] == {"from": -1, "to": 0, "count": 1} and hist[-1] == {
        "from": 12,
        "to": 13,
        "count": 1,
    }
    assert len(hist) == 14 and sum(b["count"] for b in hist) == 5
    assert {b["from"]: b["count"] for b in hist if b["count"]} == {-1: 1, 3: 2, 7: 1, 12: 1}


def test_sections_by_hand() -> None:
    """Section one (q1 + q2): 8, 3, 3, 3, −1 → mean 16/5 = 3.2, median 3,
    var = (64 + 9 + 9 + 9 + 1)/5 − 3.2² = 18.4 − 10.24 = 8.16, sd = 2.8566… → 2.86.
    Section two (q3): 4, 4, 0, 0, 0 → mean 1.6, median 0, var = 32/5 − 2.56 = 3.84, sd 1.9596 → 1.96.
    """
    one, two = hand_figures()["sections"]
    assert one == {"id": "one", "max_score": 8, "mean": 3.2, "median": 3, "sd": 2.86}
    assert two == {"id": "two", "max_score": 4, "mean": 1.6, "median": 0, "sd": 1.96}


def test_item_analysis_by_hand() -> None:
    """n = 5, k = max(1, round-half-up(0.27 × 5 = 1.35)) = 1.

    Order by total, highest first, ties by candidate id: C1 (12), C2 (7), C3 (3), C4 (3), C5 (−1).
    Upper group {C1}, lower group {C5}.

    q1: correct C1 C2 C4 = 3/5 = 0.6; wrong C3 = 0.2; unanswered C5 = 0.2.
        discrimination = (1 − 0)/1 = 1.
        point-biserial: x = 1,1,0,1,0; y = 12,7,3,3,−1. Σx = 3, Σy = 24, Σxy = 22, Σy² = 212.
        n·Σxy − Σx·Σy = 110 − 72 = 38; n·Σx² − (Σx)² = 15 − 9 = 6; n·Σy² − (Σy)² = 1060 − 576 = 484.
        r = 38 / sqrt(6 × 484) = 38 / (22 sqrt 6) = 0.70516… → 0.7052.
        options: A 3, B 1, C 0, D 0. Times of those who answered: 10, 12, 15, 11 s → median 11.5 s.
    q2: correct C1 C3 = 0.4; wrong C2 C4 C5 = 0.6. discrimination (1 − 0)/1 = 1.
        Σxy = 12 + 3 = 15: 75 − 2·24 = 27; 5·2 − 4 = 6; r = 27 / (22 sqrt 6) = 0.50104… → 0.501.
        options A 0, B 2, C 3, D 0; median time of 20, 21, 25, 22, 23 s = 22 s.
    q3: correct C1 C2 = 0.4; wrong C4 = 0.2; unanswered C3 C5 = 0.4. discrimination 1.
        Σxy = 19: 95 − 48 = 47; r = 47 / (22 sqrt 6) = 0.87218… → 0.8722.
        options {} (numeric); times: C1 30 s, C2 31 s (C4 answered without a time) → 30.5 s → 30500.
    """
    q1, q2, q3 = hand_figures()["questions"]
    assert q1 == {
        "id": "q1", "section": "one", "n": 5,
        "outcomes": {"correct": 0.6, "partial": 0, "wrong": 0.2, "unanswered": 0.2},
        "facility": 0.6, "discrimination": 1, "point_biserial": 0.7052,
        "options": {"A": 3, "B": 1, "C": 0, "D": 0}, "median_time_ms": 11500, "flags": [],
    }  # fmt: skip
    assert q2["outcomes"] == {"correct": 0.4, "partial": 0, "wrong": 0.6, "unanswered": 0}
    assert (q2["facility"], q2["discrimination"], q2["point_biserial"]) == (0.4, 1, 0.501)
    assert q2["options"] == {"A": 0, "B": 2, "C": 3, "D": 0} and q2["median_time_ms"] == 22000
    assert q3["outcomes"] == {"correct": 0.4, "partial": 0, "wrong": 0.2, "unanswered": 0.4}
    assert (q3["point_biserial"], q3["options"], q3["median_time_ms"]) == (0.8722, {}, 30500)


def test_cronbach_alpha_by_hand() -> None:
    """Item scores: q1 4,4,−1,4,0; q2 4,−1,4,−1,−1; q3 4,4,0,0,0. m = 3.

    var(q1) = (16+16+1+16+0)/5 − (11/5)² = 9.8 − 4.84 = 4.96
    var(q2) = (16+1+16+1+1)/5 − (5/5)² = 7 − 1 = 6
    var(q3) = 32/5 − 1.6² = 6.4 − 2.56 = 3.84
    Σ = 14.8; var(total) = 19.36; α = 3/2 × (1 − 14.8/19.36) = 1.5 × 0.235537… = 0.353305… → 0.3533.
    """
    assert hand_figures()["cronbach_alpha"] == 0.3533


def test_flags_by_hand() -> None:
    """Three attempts with totals X 10, Y 5, Z 0 (given, not recomputed): k = max(1, round(0.81)) = 1.

    q1 (key A): X chose B, Y and Z chose A. Upper {X} wrong, lower {Z} correct:
    discrimination (0 − 1)/1 = −1 → negative_discrimination; in the upper group B (1) beats
    every key option (A: 0) → distractor_beats_key. Facility 2/3 = 0.6667.
    q2 (key B): everybody B → facility 1 > 0.95 → too_easy; discrimination 0.
    q3 (numeric): nobody answered → facility 0 < 0.05 → too_hard.
    """

    def col(*values: Any) -> list[Any]:
        return list(values)

    sheet = ia.Sheet(
        candidate_ids=["X", "Y", "Z"],
        totals=[F(10), F(5), F(0)],
        sections={"one": [F(10), F(5), F(0)], "two": [F(0)] * 3},
        outcomes={
            "q1": col("wrong", "correct", "correct"),
            "q2": ["correct"] * 3,
            "q3": ["unanswered"] * 3,
        },
        scores={"q1": col(F(-1), F(4), F(4)), "q2": [F(4)] * 3, "q3": [F(0)] * 3},
        responses={"q1": col("B", "A", "A"), "q2": ["B"] * 3, "q3": [None] * 3},
        times={"q1": [None] * 3, "q2": [None] * 3, "q3": [None] * 3},
    )
    q1, q2, q3 = ia.figures(EXAM, sheet)["questions"]
    assert (q1["facility"], q1["discrimination"]) == (0.6667, -1)
    assert set(q1["flags"]) == {"negative_discrimination", "distractor_beats_key"}
    assert q2["flags"] == ["too_easy"] and q2["discrimination"] == 0
    assert q3["flags"] == ["too_hard"] and q3["median_time_ms"] is None


def test_a_dropped_question_stays_marked_and_counts() -> None:
    changed = with_key_changes(EXAM, 2, [{"question_id": "q3", "drop": True, "bonus": "all"}])
    doc = ia.figures(changed, ia.sheet_of(changed, HAND))
    q3 = doc["questions"][2]
    assert q3["dropped"] is True and q3["facility"] == 1 and q3["flags"] == ["too_easy"]
    assert q3["point_biserial"] is None, "no variance in the item"
    assert doc["cronbach_alpha"] is not None


def test_no_submitted_attempt_gives_null_figures() -> None:
    doc = ia.figures(EXAM, ia.sheet_of(EXAM, []))
    assert doc["score"] == {
        "mean": None,
        "median": None,
        "sd": None,
        "min": None,
        "max": None,
        "histogram": [],
    }
    assert doc["cronbach_alpha"] is None
    assert all(q["facility"] is None and q["options"] is None for q in doc["questions"])


def test_ties_in_the_upper_group_go_by_candidate_id_in_code_point_order() -> None:
    """Two attempts, both totals 4: k = round-half-up(0.54) = 1. "Z" < "a" in code points,
    so the upper group is Z (right on q1, blank on q2) and the lower group a (the reverse)."""
    rows = [("a", {"q2": ("B", None)}), ("Z", {"q1": ("A", None)})]
    q1, q2, _ = ia.figures(EXAM, ia.sheet_of(EXAM, rows))["questions"]
    assert (q1["discrimination"], q2["discrimination"]) == (1, -1)


# --- pure helpers -----------------------------------------------------------------------


def test_k_rounds_half_up() -> None:
    # 0.27 × 50 = 13.5 → 14; 0.27 × 150 = 40.5 → 41; 0.27 × 1 → 1 at least.
    assert [a.upper_lower_k(n) for n in (1, 2, 50, 150, 100)] == [1, 1, 14, 41, 27]


def test_rounded_sqrt_rounds_exact_halves_away_from_zero() -> None:
    assert a.rounded_sqrt(F(25, 10000) * F(1, 1), 2) == 0.05  # sqrt exactly 0.05
    assert a.rounded_sqrt(F(1, 400) * F(1, 100), 3) == 0.005
    assert a.rounded_sqrt(F(1225, 10**6), 2) == 0.04  # 0.035 exactly → away from zero
    assert a.rounded_sqrt(F(1225, 10**6), 2, negative=True) == -0.04
    assert a.rounded_sqrt(F(0), 4) == 0


@settings(max_examples=200, deadline=None)
@given(st.fractions(min_value=0, max_value=10**6, max_denominator=10**6), st.integers(0, 6))
def test_rounded_sqrt_matches_a_high_precision_decimal(x: Fraction, places: int) -> None:
    from decimal import ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 80
        root = (Decimal(x.numerator) / Decimal(x.denominator)).sqrt()
        expected = root.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    assert Decimal(str(a.rounded_sqrt(x, places))) == expected


scores = st.lists(
    st.fractions(min_value=-100, max_value=100, max_denominator=6), min_size=1, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(scores)
def test_summary_agrees_with_the_statistics_module(values: list[Fraction]) -> None:
    s = a.summary(values)
    assert abs(s["mean"] - float(sum(values) / len(values))) <= 0.005 + 1e-9
    assert abs(s["median"] - float(float_median(values))) <= 0.005 + 1e-9
    assert abs(s["sd"] - pstdev(float(v) for v in values)) <= 0.005 + 1e-6
    assert a.variance(values) == sum((v - sum(values) / len(values)) ** 2 for v in values) / len(
        values
    )


@settings(max_examples=200, deadline=None)
@given(scores)
def test_histogram_counts_add_up_and_every_value_is_in_its_bin(values: list[Fraction]) -> None:
    hist = a.histogram(values)
    assert sum(b["count"] for b in hist) == len(values)
    assert len(hist) <= 21
    for v in values:
        hits = [b for b in hist if b["from"] <= v < b["to"]]
        assert len(hits) == 1 and hits[0]["count"] > 0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([F(4), F(-1), F(0), F(-1, 3)]), min_size=3, max_size=3),
        min_size=2,
        max_size=30,
    )
)
def test_cronbach_alpha_follows_its_formula(rows: list[list[Fraction]]) -> None:
    items = [list(col) for col in zip(*rows, strict=True)]
    totals = [sum(r, F(0)) for r in rows]
    n = len(totals)

    def var(xs: list[Fraction]) -> Fraction:
        m = sum(xs, F(0)) / n
        return sum(((x - m) ** 2 for x in xs), F(0)) / n

    got = a.cronbach_alpha(items, totals)
    if var(totals) == 0:
        assert got is None
    else:
        assert got == F(3, 2) * (1 - sum(var(c) for c in items) / var(totals))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-50, 50)), min_size=1, max_size=40))
def test_point_biserial_is_pearson(pairs: list[tuple[bool, int]]) -> None:
    xs = [x for x, _ in pairs]
    ys = [y for _, y in pairs]
    got = a.point_biserial_square(xs, ys)
    n = len(pairs)
    mx, my = F(sum(xs), n), F(sum(ys), n)
    cov = sum((F(x) - mx) * (y - my) for x, y in pairs) / n
    vx = sum((F(x) - mx) ** 2 for x in xs) / n
    vy = sum((y - my) ** 2 for y in ys) / n
    if vx == 0 or vy == 0:
        assert got is None
    else:
        assert got == (cov * cov / (vx * vy), cov < 0)
