"""What a candidate sees: the attempt view and the result, and nothing else.

Principle 8: answer keys, correctness and scores never reach a candidate before the
result is released. Every candidate-facing document is built here, from an explicit
list of fields, so that a key or a score cannot slip in by serialising a whole object.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import orjson

from examvault.clock import format_time
from examvault.domain import deadlines, exact_json
from examvault.domain.exams import Exam, Question, Shown, candidate_order, option_order
from examvault.domain.marking import round_half_away, score
from examvault.domain.totals import Part, Totals, parse_fraction


@functools.lru_cache(maxsize=4096)
def number(value: Fraction, places: int = 2) -> int | float:
    """An exact value for JSON, rounded half away from zero; integers stay integers.

    Cached: a score is one of few values (sums of a paper's marks), and every submit's
    result repeats the paper's and its sections' maximum. In a burst of 10,000 submits
    the rounding was 7 % of the server's samples (py-spy, docs/performance.md)."""
    rounded = round_half_away(value, places)
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


def decimal_number(text: str | None) -> int | float | None:
    """A stored decimal (a percentile) for JSON."""
    if text is None:
        return None
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def _counts(part: Part) -> dict[str, int]:
    return dict(zip(("correct", "partial", "wrong", "unanswered"), part.counts, strict=True))


def result(exam: Exam, totals: Totals, rank: int | None, percentile: str | None) -> dict[str, Any]:
    """The released result of one attempt (docs/api.md, GET .../result)."""
    return {
        "score": number(totals.whole.score),
        "max_score": number(exam.max_score),
        **_counts(totals.whole),
        "pending_marks": totals.whole.pending,
        "sections": [
            {
                "id": s.id,
                "score": number(totals.sections[s.id].score),
                "max_score": number(s.max_score),
                **_counts(totals.sections[s.id]),
            }
            for s in exam.sections
        ],
        "rank": rank,
        "percentile": decimal_number(percentile),
    }


def waits_for_marks(exam: Exam, totals: Totals) -> bool:
    """Whether the result is held back until marking ends (`release: when_marked`)."""
    return exam.release == "when_marked" and totals.whole.pending > 0


def is_released(exam: Exam, submitted: bool, closed_at: int | None) -> bool:
    """Whether the candidate may see the result now (per `show_result`; marks pending
    under `release: when_marked` hold it back too: `waits_for_marks`)."""
    if exam.show_result == "on_submit":
        return submitted
    if exam.show_result == "after_close":
        return submitted and closed_at is not None
    return False


def released_result(
    exam: Exam, totals: Totals, closed_at: int | None, rank: int | None, percentile: str | None
) -> dict[str, Any] | None:
    """The result for a submit response: only when released, else None."""
    if not is_released(exam, True, closed_at) or waits_for_marks(exam, totals):
        return None
    if closed_at is None:
        rank, percentile = None, None
    return result(exam, totals, rank, percentile)


def _question(q: Question, options: Iterable[tuple[str, Shown]]) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": q.id, "type": q.type, "text": q.text}
    if q.type in ("single", "multiple"):
        doc["options"] = [{"id": oid, "text": text} for oid, text in options]
    if q.type == "text":
        doc["max_chars"] = q.max_chars
    doc["marks"] = dict(q.marks)
    return doc


def review(
    exam: Exam, candidate_id: str, answer_rows: Iterable[Any], *, full: bool
) -> dict[str, Any]:
    """A released attempt question by question (docs/api.md, GET .../review): response,
    outcome, score, the marker's comment, and the key only in a `full` review (never for
    a manual question, which has none)."""
    stored = {a.question_id: a for a in answer_rows}
    sections = []
    for section, questions in candidate_order(exam, candidate_id):
        out = []
        for q in questions:
            a = stored.get(q.id)
            if a is None:
                outcome, marks = score(q.rule, None)
            else:
                outcome, marks = a.outcome, parse_fraction(a.score)
            doc: dict[str, Any] = {"id": q.id, "type": q.type, "text": q.text}
            if q.type in ("single", "multiple"):
                opts = option_order(exam, candidate_id, q)
                doc["options"] = [{"id": oid, "text": text} for oid, text in opts]
            doc |= {
                "response": None
                if a is None or a.response is None
                else orjson.Fragment(a.response),
                "outcome": outcome,
                "score": number(marks),
                "max_score": number(q.rule.marking.correct),
            }
            if a is not None and a.mark_comment is not None:
                doc["comment"] = a.mark_comment
            if full and not q.manual:
                # Exact digits, as the author wrote them (a numeric key holds Decimals).
                doc["key"] = orjson.Fragment(exact_json.dumps(q.answer))
            out.append(doc)
        sections.append({"id": section.id, "title": section.title, "questions": out})
    return {"sections": sections}


class QuestionFragments:
    """Pre-serialised questions per exam version: the view is mostly static text."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], dict[str, orjson.Fragment]] = {}

    def get(self, exam: Exam) -> dict[str, orjson.Fragment]:
        key = (exam.id, exam.version)
        frags = self._cache.get(key)
        if frags is None:
            frags = {
                q.id: orjson.Fragment(orjson.dumps(_question(q, q.options))) for q in exam.questions
            }
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = frags
        return frags


def sections_view(exam: Exam, candidate_id: str, fragments: QuestionFragments) -> list[Any]:
    """Sections and questions in this candidate's order, without keys."""
    frags = None if exam.shuffle_options else fragments.get(exam)
    out = []
    for section, questions in candidate_order(exam, candidate_id):
        doc: dict[str, Any] = {"id": section.id, "title": section.title}
        if section.instructions is not None:
            doc["instructions"] = section.instructions
        out.append(
            doc
            | {
                "questions": [
                    frags[q.id]
                    if frags is not None
                    else _question(q, option_order(exam, candidate_id, q))
                    for q in questions
                ],
            }
        )
    return out


def attempt_view(
    exam: Exam,
    row: Any,
    answer_rows: Iterable[Any],
    now: int,
    fragments: QuestionFragments,
) -> dict[str, Any]:
    """The attempt view of docs/api.md: questions, this candidate's answers, the clock."""
    paused = is_paused(row)
    return {
        "attempt_id": row.id,
        "exam_id": row.exam_id,
        "title": exam.title,
        "status": "paused" if paused else row.status,
        "paused": paused,
        "remaining_seconds": remaining(row, now),
        "started_at": format_time(row.started_at),
        "deadline": format_time(row.deadline),
        "grace_seconds": exam.grace_seconds,
        "server_time": format_time(now),
        "submitted_at": format_time(row.submitted_at),
        "submit_kind": row.submit_kind,
        "show_result": exam.show_result,
        "sections": sections_view(exam, row.candidate_id, fragments),
        # Names only: the page fetches each with the candidate's token (GET …/media/NAME).
        "media": list(exam.media),
        "answers": {
            a.question_id: {
                "response": None if a.response is None else orjson.Fragment(a.response),
                "seq": a.seq,
                "marked_for_review": bool(a.marked),
                "time_spent_ms": a.time_spent_ms,
            }
            for a in answer_rows
        },
        "last_seq": row.last_seq,
    }


def announcements(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Announcement rows as a candidate's view and `live` show them."""
    return [{"id": r.id, "text": r.text, "at": format_time(r.at)} for r in rows]


def is_paused(row: Any) -> bool:
    """Whether an attempt row is paused (an attempt sealed while paused is not)."""
    return row.status == "in_progress" and row.paused_at is not None


def remaining(row: Any, now: int) -> float:
    """`remaining_seconds` of an attempt row: 0 once submitted, frozen while paused."""
    if row.status != "in_progress":
        return 0
    return deadlines.remaining_seconds(row.deadline, now, row.paused_at)


def section_marks(exam: Exam) -> list[dict[str, Any]]:
    """Each section with its question count and distinct marking schemes (for /me).

    A pool counts what each candidate gets (`draw`): its questions share one marking.
    """
    out = []
    for s in exam.sections:
        groups: dict[bytes, tuple[Mapping[str, Any], int]] = {}
        for qid in s.question_ids[: s.draw]:
            marks = exam.by_id[qid].marks
            key = orjson.dumps(marks, option=orjson.OPT_SORT_KEYS)
            groups[key] = (marks, groups.get(key, (marks, 0))[1] + 1)
        out.append(
            {
                "id": s.id,
                "title": s.title,
                **({} if s.instructions is None else {"instructions": s.instructions}),
                "questions": len(s.question_ids[: s.draw]),
                "marks": [dict(m) | {"questions": n} for m, n in groups.values()],
            }
        )
    return out
