"""An attempt's running totals, kept current with every saved answer.

Submission is a seal, not a computation (docs/architecture.md): the totals a submit returns must
already be in the attempt row. Each saved answer moves its question from one outcome
and score to another; `Totals.move` applies that difference exactly, for the whole
attempt and for the question's section. The row stores them as compact JSON with
scores as "n/d" strings, so no rounding ever happens in storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import orjson

from examvault.domain.exams import Exam
from examvault.domain.marking import OUTCOMES, Outcome, score, total

_INDEX = {name: i for i, name in enumerate(OUTCOMES)}


@dataclass(slots=True)
class Part:
    """Score and outcome counts of an attempt or of one section of it."""

    score: Fraction = Fraction(0)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def move(self, old: tuple[Outcome, Fraction], new: tuple[Outcome, Fraction]) -> None:
        self.score += new[1] - old[1]
        self.counts[_INDEX[old[0]]] -= 1
        self.counts[_INDEX[new[0]]] += 1

    def as_dict(self) -> dict[str, Any]:
        return dict(zip(OUTCOMES, self.counts, strict=True)) | {"score": self.score}


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
            sections[q.section_id].counts[_INDEX[outcome[0]]] += 1
            whole.score += outcome[1]
            whole.counts[_INDEX[outcome[0]]] += 1
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
        """Move one question of a section from its old outcome to its new one."""
        self.whole.move(old, new)
        self.sections[section_id].move(old, new)

    def dumps(self) -> str:
        """Compact JSON for the attempt row."""
        return orjson.dumps(
            {
                "s": _frac(self.whole.score),
                "c": self.whole.counts,
                "x": {sid: [_frac(p.score), *p.counts] for sid, p in self.sections.items()},
            }
        ).decode()

    @classmethod
    def loads(cls, text: str) -> Totals:
        data = orjson.loads(text)
        return cls(
            whole=Part(parse_fraction(data["s"]), list(data["c"])),
            sections={sid: Part(parse_fraction(v[0]), list(v[1:])) for sid, v in data["x"].items()},
        )

    def check(self) -> Fraction:
        """The sum of the section scores, which must equal the whole score."""
        return total(p.score for p in self.sections.values())


def _frac(value: Fraction) -> str:
    return str(value)


def parse_fraction(text: str) -> Fraction:
    """Read back what `str(Fraction)` wrote ("n" or "n/d"), in half the time of
    `Fraction(text)`, which runs a general regular expression for every stored score."""
    numerator, _, denominator = text.partition("/")
    return Fraction(int(numerator), int(denominator) if denominator else 1)
