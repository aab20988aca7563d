"""Item analysis and the analytics document of API-ADMIN.md, pure over a `Sheet`.

A `Sheet` holds, column by question, what n submitted attempts gave: outcome, marks,
response and time. It is built by `reports.py` from the stored answers, or from raw
responses by `sheet_of` (tests, and the from-scratch check of a regrade). Nothing here
reads a clock or a database, so hypothesis and hand-worked examples can pin every figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from examvault import analytics as a
from examvault.exams import Exam, Question
from examvault.marking import OUTCOMES, Outcome, Response, is_unanswered, round_half_away, score

TOO_EASY = Fraction(95, 100)
TOO_HARD = Fraction(5, 100)


@dataclass(frozen=True, slots=True)
class Sheet:
    """The n submitted attempts of one exam, one column per question (index i = attempt i)."""

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
    for _, answered in attempts:
        per_section = dict.fromkeys(sections, Fraction(0))
        for q in exam.questions:
            response, ms = answered.get(q.id, (None, None))
            outcome, marks = score(q.rule, response)
            outcomes[q.id].append(outcome)
            scores[q.id].append(marks)
            responses[q.id].append(response)
            times[q.id].append(None if is_unanswered(response) else ms)
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


def figures(exam: Exam, sheet: Sheet) -> dict[str, Any]:
    """Every figure of the analytics document but the header (exam id, times, counts)."""
    n = sheet.n
    alpha = a.cronbach_alpha([sheet.scores[q.id] for q in exam.questions], sheet.totals)
    return {
        "score": a.summary(sheet.totals) | {"histogram": a.histogram(sheet.totals)},
        "cronbach_alpha": a.rounded(alpha, a.SHARE_PLACES),
        "sections": [
            {"id": s.id, "max_score": a.rounded(s.max_score, a.SCORE_PLACES)}
            | {k: v for k, v in a.summary(sheet.sections[s.id]).items() if k in _SECTION}
            for s in exam.sections
        ],
        "questions": questions(exam, sheet) if n else [_empty(q) for q in exam.questions],
    }


_SECTION = ("mean", "median", "sd")


def questions(exam: Exam, sheet: Sheet) -> list[dict[str, Any]]:
    """Item analysis of every question, in the exam's order."""
    order = a.order_by_total(sheet.totals, sheet.candidate_ids)
    k = a.upper_lower_k(sheet.n)
    scaled, _ = a.scaled(sheet.totals)
    return [_question(q, sheet, order, k, scaled) for q in exam.questions]


def _empty(q: Question) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": q.id,
        "section": q.section_id,
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


def _question(
    q: Question, sheet: Sheet, order: Sequence[int], k: int, scaled: Sequence[int]
) -> dict[str, Any]:
    n = sheet.n
    outcomes = sheet.outcomes[q.id]
    counts = Counter(outcomes)
    correct = [o == "correct" for o in outcomes]
    facility = Fraction(counts["correct"], n)
    upper, lower = order[:k], order[n - k :]
    discrimination = Fraction(sum(correct[i] for i in upper) - sum(correct[i] for i in lower), k)
    pb = a.point_biserial_square(correct, scaled)
    flags: list[str] = []
    if discrimination < 0:
        flags.append("negative_discrimination")
    if _distractor_beats_key(q, sheet.responses[q.id], upper):
        flags.append("distractor_beats_key")
    if facility > TOO_EASY:
        flags.append("too_easy")
    if facility < TOO_HARD:
        flags.append("too_hard")
    doc: dict[str, Any] = {
        "id": q.id,
        "section": q.section_id,
        "outcomes": {o: a.rounded(Fraction(counts[o], n), a.SHARE_PLACES) for o in OUTCOMES},
        "facility": a.rounded(facility, a.SHARE_PLACES),
        "discrimination": a.rounded(discrimination, a.SHARE_PLACES),
        "point_biserial": None if pb is None else a.rounded_sqrt(pb[0], a.SHARE_PLACES, pb[1]),
        "options": option_counts(q, sheet.responses[q.id]),
        "median_time_ms": median_time(sheet.times[q.id]),
        "flags": flags,
    }
    if q.rule.dropped:
        doc["dropped"] = True
    return doc


def option_counts(q: Question, responses: Sequence[Response]) -> dict[str, int]:
    """How many attempts chose each option (every option listed); {} for a numeric question."""
    if q.type == "numeric":
        return {}
    counts = dict.fromkeys((oid for oid, _ in q.options), 0)
    for response, c in Counter(responses).items():
        if isinstance(response, str):
            counts[response] += c
        elif isinstance(response, frozenset):
            for oid in response:
                counts[oid] += c
    return counts


def _distractor_beats_key(q: Question, responses: Sequence[Response], upper: Sequence[int]) -> bool:
    """In the upper group, an option outside the key chosen more often than every key option."""
    key = q.rule.key
    if q.type == "numeric" or not isinstance(key, frozenset):
        return False
    counts = option_counts(q, [responses[i] for i in upper])
    best_key = max(counts.get(oid, 0) for oid in key)
    return any(c > best_key for oid, c in counts.items() if oid not in key)


def median_time(times: Sequence[int | None]) -> int | None:
    """The median time_spent_ms of the attempts that answered, rounded half away from zero."""
    values = sorted(t for t in times if t is not None)  # ints: sorting Fractions is slow
    if not values:
        return None
    mid = len(values) // 2
    middle = (
        Fraction(values[mid]) if len(values) % 2 else Fraction(values[mid - 1] + values[mid], 2)
    )
    return int(round_half_away(middle, 0))
