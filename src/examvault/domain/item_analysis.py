"""Item analysis and the analytics document of docs/api.md, pure over a `Sheet`.

A `Sheet` holds, column by question, what n submitted attempts gave: outcome, marks,
response and time; `sheet_of` builds one from raw responses (tests, and the from-scratch
check of a regrade). A `Tally` holds the same aggregated, as the database's GROUP BY
gives it (`reports.py`): every figure is computed from a tally, so both inputs get
exactly the same arithmetic. Nothing here reads a clock or a database, so hypothesis and
hand-worked examples can pin every figure.

Pools (sections with `draw`): each question is counted over the attempts that were given
it. Its `n` is how many; the upper and lower groups are formed from the whole exam's
totals, then restricted to those attempts (`Ranking.without`), so discrimination is the
share correct in the restricted upper group less that in the restricted lower group
(for an exam without pools, (U − L) / k as before). Cronbach's alpha takes m as the
number of questions each candidate has, and each item's variance (over the attempts
that had it) weighted by the share of attempts that had it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from examvault.domain import ranking as a
from examvault.domain.exams import Exam, Question, left_out
from examvault.domain.marking import (
    OUTCOMES,
    Outcome,
    Response,
    is_unanswered,
    round_half_away,
    score,
)

TOO_EASY = Fraction(95, 100)
TOO_HARD = Fraction(5, 100)


@dataclass(frozen=True, slots=True)
class Sheet:
    """The n submitted attempts of one exam, one column per question (index i = attempt i).

    A pool question's column holds a blank for the attempts not given it, outside every
    total; `tally_of` leaves those attempts out of its cells.
    """

    candidate_ids: Sequence[str]
    totals: Sequence[Fraction]
    sections: Mapping[str, Sequence[Fraction]]
    outcomes: Mapping[str, Sequence[Outcome]]
    scores: Mapping[str, Sequence[Fraction]]
    responses: Mapping[str, Sequence[Response]]
    times: Mapping[str, Sequence[int | None]]

    @property
    def n(self) -> int:
        return len(self.totals)


def sheet_of(
    exam: Exam, attempts: Sequence[tuple[str, Mapping[str, tuple[Response, int | None]]]]
) -> Sheet:
    """Score raw responses from scratch: (candidate id, {qid: (response, time_spent_ms)})."""
    outcomes: dict[str, list[Outcome]] = {q.id: [] for q in exam.questions}
    scores: dict[str, list[Fraction]] = {q.id: [] for q in exam.questions}
    responses: dict[str, list[Response]] = {q.id: [] for q in exam.questions}
    times: dict[str, list[int | None]] = {q.id: [] for q in exam.questions}
    totals: list[Fraction] = []
    sections: dict[str, list[Fraction]] = {s.id: [] for s in exam.sections}
    for cid, answered in attempts:
        per_section = dict.fromkeys(sections, Fraction(0))
        gone = left_out(exam, cid)
        for q in exam.questions:
            response, ms = answered.get(q.id, (None, None))
            outcome, marks = score(q.rule, response)
            outcomes[q.id].append(outcome)
            scores[q.id].append(marks)
            responses[q.id].append(response)
            times[q.id].append(None if is_unanswered(response) else ms)
            if q.id not in gone:  # a pool question not given counts nowhere
                per_section[q.section_id] += marks
        for sid, value in per_section.items():
            sections[sid].append(value)
        totals.append(sum(per_section.values(), Fraction(0)))
    return Sheet(
        candidate_ids=[cid for cid, _ in attempts],
        totals=totals,
        sections=sections,
        outcomes=outcomes,
        scores=scores,
        responses=responses,
        times=times,
    )


@dataclass(frozen=True, slots=True)
class Cell:
    """Attempts that left one question the same answer, in the same rank group, counted.

    `upper`/`lower`: whether these attempts are among the first/last k by total (both for
    n = 1). `total`: the sum of their totals times the tally's scale, an exact integer.
    """

    response: Response
    outcome: Outcome
    score: Fraction
    upper: bool
    lower: bool
    count: int
    total: int


@dataclass(frozen=True, slots=True)
class Tally:
    """What the item figures need, aggregated: n attempts × m questions become a few cells.

    Every figure of a question is a sum over attempts, so it can be computed from cells
    (count and Σ total per distinct answer and rank group) instead of per-attempt columns;
    the database builds them with one GROUP BY (`reports.py`), `tally_of` from a `Sheet`.
    Attempts with no cell for a question (no stored answer) count as unanswered under the
    question's rule. `times` holds, per question, the time of each answer that has one.
    """

    candidate_ids: Sequence[str]
    totals: Sequence[Fraction]
    sections: Mapping[str, Sequence[Fraction]]
    cells: Mapping[str, Sequence[Cell]]
    times: Mapping[str, Sequence[int]]

    @property
    def n(self) -> int:
        return len(self.totals)


@dataclass(frozen=True, slots=True)
class Ranking:
    """The attempts ordered for discrimination, with the exact totals scaled to integers."""

    upper: frozenset[int]
    lower: frozenset[int]
    k: int
    scaled: Sequence[int]
    sy: int  # Σ scaled totals, and Σ of their squares: the same for every question
    syy: int
    n: int

    def without(self, out: frozenset[int]) -> Ranking:
        """The groups and sums restricted to the attempts not in `out` (a pool question's
        attempts that were not given it); `k` stays the whole exam's."""
        if not out:
            return self
        return Ranking(
            self.upper - out,
            self.lower - out,
            self.k,
            self.scaled,
            self.sy - sum(self.scaled[i] for i in out),
            self.syy - sum(self.scaled[i] * self.scaled[i] for i in out),
            self.n - len(out),
        )


def ranking(totals: Sequence[Fraction], candidate_ids: Sequence[str]) -> Ranking:
    """Upper and lower groups (attempt indexes) and the scaled totals (docs/api.md)."""
    n = len(totals)
    order = a.order_by_total(totals, candidate_ids)
    k = a.upper_lower_k(n) if n else 0
    scaled, _ = a.scaled(totals)
    lower = frozenset(order[n - k :]) if k else frozenset()
    return Ranking(
        frozenset(order[:k]), lower, k, scaled, sum(scaled), sum(y * y for y in scaled), n
    )


def not_given(exam: Exam, candidate_ids: Sequence[str]) -> dict[str, frozenset[int]]:
    """Per pool question, the indexes of the attempts that were not given it."""
    if not exam.has_draw:
        return {}
    out: dict[str, set[int]] = {}
    for i, cid in enumerate(candidate_ids):
        for qid in left_out(exam, cid):
            out.setdefault(qid, set()).add(i)
    return {qid: frozenset(ids) for qid, ids in out.items()}


def tally_of(exam: Exam, sheet: Sheet) -> Tally:
    """The tally of a sheet: one cell per attempt and question, grouped (slow; tests)."""
    rk = ranking(sheet.totals, sheet.candidate_ids)
    absent = not_given(exam, sheet.candidate_ids)
    cells: dict[str, list[Cell]] = {}
    for q in exam.questions:
        groups: dict[tuple[Response, Outcome, Fraction, bool, bool], list[int]] = {}
        out = absent.get(q.id, frozenset())
        for i, (response, outcome, marks) in enumerate(
            zip(sheet.responses[q.id], sheet.outcomes[q.id], sheet.scores[q.id], strict=True)
        ):
            if i in out:
                continue
            g = groups.setdefault((response, outcome, marks, i in rk.upper, i in rk.lower), [0, 0])
            g[0] += 1
            g[1] += rk.scaled[i]
        cells[q.id] = [Cell(*key, count=c, total=t) for key, (c, t) in groups.items()]
    return Tally(
        candidate_ids=sheet.candidate_ids,
        totals=sheet.totals,
        sections=sheet.sections,
        cells=cells,
        times={
            qid: [t for i, t in enumerate(ts) if t is not None and i not in absent.get(qid, ())]
            for qid, ts in sheet.times.items()
        },
    )


def figures(exam: Exam, sheet: Sheet) -> dict[str, Any]:
    """Every figure of the analytics document but the header, from per-attempt columns."""
    return figures_of(exam, tally_of(exam, sheet))


def figures_of(exam: Exam, tally: Tally) -> dict[str, Any]:
    """Every figure of the analytics document but the header (exam id, times, counts)."""
    rk = ranking(tally.totals, tally.candidate_ids)
    absent = not_given(exam, tally.candidate_ids)
    items = [
        _Item.of(q, tally.cells.get(q.id, ()), rk.without(absent.get(q.id, frozenset())))
        for q in exam.questions
    ]
    # Without pools every item has n = tally.n and this is the plain Σ var(item).
    var_items = sum((it.variance() * Fraction(it.n, tally.n) for it in items if it.n), Fraction(0))
    m = sum(len(s.question_ids[: s.draw]) for s in exam.sections)
    alpha = a.alpha_of(m, var_items, a.variance(tally.totals)) if tally.n else None
    return {
        "score": a.summary(tally.totals) | {"histogram": a.histogram(tally.totals)},
        "cronbach_alpha": a.rounded(alpha, a.SHARE_PLACES),
        "sections": [
            {"id": s.id, "max_score": a.rounded(s.max_score, a.SCORE_PLACES)}
            | {k: v for k, v in a.summary(tally.sections[s.id]).items() if k in _SECTION}
            for s in exam.sections
        ],
        "questions": [
            it.document(tally.times.get(it.question.id, ()), it.rk) if it.n else _empty(it.question)
            for it in items
        ],
    }


_SECTION = ("mean", "median", "sd")


@dataclass(frozen=True, slots=True)
class _Item:
    """One question's cells, completed with the unanswered attempts that have no cell."""

    question: Question
    cells: Sequence[Cell]
    rk: Ranking  # restricted to the attempts given the question

    @property
    def n(self) -> int:
        return self.rk.n

    @classmethod
    def of(cls, q: Question, cells: Sequence[Cell], rk: Ranking) -> _Item:
        n = rk.n
        count = sum(c.count for c in cells)
        if count == n:
            return cls(q, cells, rk)
        # Attempts without a stored answer: unanswered, scored by the rule like a blank.
        outcome, marks = score(q.rule, None)
        upper = len(rk.upper) - sum(c.count for c in cells if c.upper)
        lower = len(rk.lower) - sum(c.count for c in cells if c.lower)
        both = len(rk.upper & rk.lower) - sum(c.count for c in cells if c.upper and c.lower)
        rest = n - count - upper - lower + both
        total = rk.sy - sum(c.total for c in cells)
        missing = [
            # Only the counts per group matter for these; Σ total goes on one cell.
            Cell(None, outcome, marks, True, True, both, 0),
            Cell(None, outcome, marks, True, False, upper - both, 0),
            Cell(None, outcome, marks, False, True, lower - both, 0),
            Cell(None, outcome, marks, False, False, rest, total),
        ]
        return cls(q, [*cells, *(c for c in missing if c.count or c.total)], rk)

    def variance(self) -> Fraction:
        """The population variance of the marks awarded for this question."""
        if not self.n:
            return Fraction(0)
        s1 = sum((c.score * c.count for c in self.cells), Fraction(0))
        s2 = sum((c.score * c.score * c.count for c in self.cells), Fraction(0))
        return (self.n * s2 - s1 * s1) / (self.n * self.n)

    def document(self, times: Sequence[int], rk: Ranking) -> dict[str, Any]:
        q, n = self.question, self.n
        # "pending": answered manual questions not marked yet, in no reported outcome.
        counts = dict.fromkeys((*OUTCOMES, "pending"), 0)
        for c in self.cells:
            counts[c.outcome] += c.count
        right = [c for c in self.cells if c.outcome == "correct"]
        facility = Fraction(counts["correct"], n)
        upper = sum(c.count for c in right if c.upper)
        lower = sum(c.count for c in right if c.lower)
        # (U − L) / k when both groups are whole; shares of the restricted groups otherwise.
        discrimination = (
            Fraction(upper, len(rk.upper)) - Fraction(lower, len(rk.lower))
            if rk.upper and rk.lower
            else None
        )
        pb = a.point_biserial_of(n, counts["correct"], sum(c.total for c in right), rk.sy, rk.syy)
        flags: list[str] = []
        if discrimination is not None and discrimination < 0:
            flags.append("negative_discrimination")
        if _distractor_beats_key(q, [c for c in self.cells if c.upper]):
            flags.append("distractor_beats_key")
        if facility > TOO_EASY:
            flags.append("too_easy")
        if facility < TOO_HARD:
            flags.append("too_hard")
        doc: dict[str, Any] = {
            "id": q.id,
            "section": q.section_id,
            "n": n,
            "outcomes": {o: a.rounded(Fraction(counts[o], n), a.SHARE_PLACES) for o in OUTCOMES},
            "facility": a.rounded(facility, a.SHARE_PLACES),
            "discrimination": None
            if discrimination is None
            else a.rounded(discrimination, a.SHARE_PLACES),
            "point_biserial": None if pb is None else a.rounded_sqrt(pb[0], a.SHARE_PLACES, pb[1]),
            "options": _option_counts(q, self.cells),
            "median_time_ms": median_time(times),
            "flags": flags,
        }
        if q.rule.dropped:
            doc["dropped"] = True
        return doc


def _empty(q: Question) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": q.id,
        "section": q.section_id,
        "n": 0,
        "outcomes": None,
        "facility": None,
        "discrimination": None,
        "point_biserial": None,
        "options": None,
        "median_time_ms": None,
        "flags": [],
    }
    if q.rule.dropped:
        doc["dropped"] = True
    return doc


def _option_counts(q: Question, cells: Sequence[Cell]) -> dict[str, int]:
    """How many attempts chose each option (every option listed); {} for a numeric or text
    question."""
    if q.type in ("numeric", "text"):
        return {}
    counts = dict.fromkeys((oid for oid, _ in q.options), 0)
    for c in cells:
        if isinstance(c.response, str):
            counts[c.response] += c.count
        elif isinstance(c.response, frozenset):
            for oid in c.response:
                counts[oid] += c.count
    return counts


def _distractor_beats_key(q: Question, upper: Sequence[Cell]) -> bool:
    """In the upper group, an option outside the key chosen more often than every key option."""
    key = q.rule.key
    if q.type in ("numeric", "text") or not isinstance(key, frozenset):
        return False
    counts = _option_counts(q, upper)
    best_key = max(counts.get(oid, 0) for oid in key)
    return any(c > best_key for oid, c in counts.items() if oid not in key)


def median_time(times: Sequence[int | None]) -> int | None:
    """The median time_spent_ms of the attempts that answered, rounded half away from zero."""
    values = sorted(t for t in times if t is not None)
    if not values:
        return None
    mid = len(values) // 2
    middle = (
        Fraction(values[mid]) if len(values) % 2 else Fraction(values[mid - 1] + values[mid], 2)
    )
    return int(round_half_away(middle, 0))
