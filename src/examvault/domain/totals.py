"""An attempt's running totals, kept current with every saved answer.

Submission is a seal, not a computation (docs/architecture.md): the totals a submit returns must
already be in the attempt row. Each saved answer moves its question from one outcome
and score to another; `Totals.move` applies that difference exactly, for the whole
attempt and for the question's section. The row stores them as compact JSON with
scores as "n/d" strings, so no rounding ever happens in storage.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import orjson

from examvault.domain.exams import Exam
from examvault.domain.marking import OUTCOMES, Outcome, score, total

_ZERO = Fraction(0)
# The four reported outcomes, then "pending": answered manual questions not yet marked.
_INDEX = {name: i for i, name in enumerate((*OUTCOMES, "pending"))}
PENDING = _INDEX["pending"]


@dataclass(slots=True)
class Part:
    """Score and outcome counts of an attempt or of one section of it."""

    score: Fraction = Fraction(0)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    # Answered manual questions no one has marked yet: in none of the four counts.
    pending: int = 0

    def shift(self, delta: Fraction, old: Outcome, new: Outcome) -> None:
        """Add `delta` to the score (when it is not 0) and move one question from the
        `old` outcome's count to the `new` one's."""
        if delta:
            self.score += delta
        if old != new:
            self.count(old, -1)
            self.count(new, 1)

    def count(self, outcome: Outcome, by: int) -> None:
        """Add `by` questions to an outcome's count."""
        if outcome == "pending":
            self.pending += by
        else:
            self.counts[_INDEX[outcome]] += by

    def as_dict(self) -> dict[str, Any]:
        pending = {"pending": self.pending} if self.pending else {}
        return dict(zip(OUTCOMES, self.counts, strict=True)) | pending | {"score": self.score}


@dataclass(slots=True)
class Totals:
    """Mutable while a batch is applied; stored as JSON in the attempt row."""

    whole: Part
    sections: dict[str, Part]

    @classmethod
    def empty(cls, exam: Exam, left_out: frozenset[str] = frozenset()) -> Totals:
        """Every question unanswered: unanswered marks may be non-zero.

        `left_out`: the questions of pools the candidate was not given
        (`exams.left_out`), which count nowhere, not even as unanswered.
        """
        sections = {s.id: Part() for s in exam.sections}
        whole = Part()
        for q in exam.questions:
            if q.id in left_out:
                continue
            outcome = score(q.rule, None)
            sections[q.section_id].score += outcome[1]
            sections[q.section_id].count(outcome[0], 1)
            whole.score += outcome[1]
            whole.count(outcome[0], 1)
        return cls(whole=whole, sections=sections)

    @classmethod
    def of(
        cls,
        exam: Exam,
        outcomes: dict[str, tuple[Outcome, Fraction]],
        left_out: frozenset[str] = frozenset(),
    ) -> Totals:
        """Totals from scratch, from the outcome of each answered question."""
        totals = cls.empty(exam, left_out)
        for qid, outcome in outcomes.items():
            q = exam.by_id[qid]
            totals.move(q.section_id, score(q.rule, None), outcome)
        return totals

    def move(
        self, section_id: str, old: tuple[Outcome, Fraction], new: tuple[Outcome, Fraction]
    ) -> None:
        """Move one question of a section from its old outcome to its new one.

        Python's `Fraction` arithmetic is slow (a gcd and several objects an operation),
        and every save moves one question: the difference is taken once for both parts,
        and not added at all when the score does not change (an answer saved again, one
        wrong answer for another). In the writer's batch, Fraction work was ~40 % of
        `Journal.apply` (cProfile, docs/performance.md)."""
        delta = new[1] - old[1] if new[1] != old[1] else _ZERO
        self.whole.shift(delta, old[0], new[0])
        self.sections[section_id].shift(delta, old[0], new[0])

    def dumps(self) -> str:
        """Compact JSON for the attempt row; the pending count only when there is one, so
        an exam without manual questions stores what it always did."""
        return orjson.dumps(
            {
                "s": _frac(self.whole.score),
                "c": _counts(self.whole),
                "x": {sid: [_frac(p.score), *_counts(p)] for sid, p in self.sections.items()},
            }
        ).decode()

    @classmethod
    def loads(cls, text: str) -> Totals:
        data = orjson.loads(text)
        return cls(
            whole=_part(data["s"], data["c"]),
            sections={sid: _part(v[0], v[1:]) for sid, v in data["x"].items()},
        )

    def check(self) -> Fraction:
        """The sum of the section scores, which must equal the whole score."""
        return total(p.score for p in self.sections.values())


def _counts(part: Part) -> list[int]:
    return [*part.counts, part.pending] if part.pending else part.counts


def _part(score: str, counts: list[int]) -> Part:
    pending = counts[PENDING] if len(counts) > PENDING else 0
    return Part(parse_fraction(score), list(counts[:PENDING]), pending)


def _frac(value: Fraction) -> str:
    return str(value)


@functools.lru_cache(maxsize=4096)
def parse_fraction(text: str) -> Fraction:
    """Read back what `str(Fraction)` wrote ("n" or "n/d"), in half the time of
    `Fraction(text)`, which runs a general regular expression for every stored score.
    Cached: every save reads its attempt's three or more stored scores back, and an
    exam's scores are few distinct values (a Fraction is immutable, so one can be
    shared)."""
    numerator, _, denominator = text.partition("/")
    return Fraction(int(numerator), int(denominator) if denominator else 1)
