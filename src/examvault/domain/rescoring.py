"""Rescoring under a changed key, exactly: pure, over stored responses and totals.

An attempt moves from one key to another by the difference: each answer row moves from
the score it stores to the new key's score, which is nothing the second time, and an
attempt records the key version its totals are at, so the blank marks of unanswered
questions move once. `Scorer` scores each distinct stored response once, in integers of
the exam's common denominator, so 10,000 attempts rescore in seconds. The regrade job
(jobs/handlers/regrade.py) reads the rows and writes the results.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import Any, cast

from examvault.domain import ranking
from examvault.domain.answers import decode_response
from examvault.domain.exams import Exam
from examvault.domain.marking import OUTCOMES, NumericKey, Outcome, score
from examvault.domain.totals import PENDING, Part, Totals, parse_fraction

_INDEX = {name: i for i, name in enumerate((*OUTCOMES, "pending"))}


@dataclass(frozen=True, slots=True)
class Entry:
    """One question's response scored under one key, with what it adds to the totals."""

    outcome: Outcome
    score: Fraction
    text: str
    section: int
    default: int
    index: int
    delta: int  # (score − the unanswered score) × the exam's common denominator


def common_denominator(exam: Exam) -> int:
    """A multiple of every score's denominator the exam can give, so sums are integers."""
    lcd = 1
    for q in exam.questions:
        mk = q.rule.marking
        dens = [mk.correct.denominator, mk.wrong.denominator, mk.unanswered.denominator]
        dens.append(mk.partial_per_option.denominator)
        dens.append(q.rule.step.denominator)  # a person's marks are multiples of the step
        if not isinstance(q.rule.key, NumericKey):
            dens.append(mk.correct.denominator * max(1, len(q.rule.key)))
        for d in dens:
            lcd = lcd * d // gcd(lcd, d)
    return lcd


@dataclass
class Scorer:
    """Scores stored responses under one key, each distinct response once (memoised)."""

    exam: Exam
    lcd: int = 0
    _memo: dict[tuple[str, str | None, str | None], Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lcd = common_denominator(self.exam)
        self._sections = {s.id: i for i, s in enumerate(self.exam.sections)}
        base = Totals.empty(self.exam)
        self._base = [
            (
                int(base.sections[s.id].score * self.lcd),
                [*base.sections[s.id].counts, base.sections[s.id].pending],
            )
            for s in self.exam.sections
        ]

    def entry(self, question_id: str, text: str | None, mark: str | None = None) -> Entry:
        """The outcome and score of a stored response (JSON text) to one question, with
        the person's mark of a manual question ("n/d" as stored; None: not marked)."""
        key = (question_id, text, mark)
        hit = self._memo.get(key)
        if hit is None:
            q = self.exam.by_id[question_id]
            given = None if mark is None else parse_fraction(mark)
            outcome, marks = score(q.rule, decode_response(q, text), given)
            blank = score(q.rule, None)
            hit = Entry(
                outcome=outcome,
                score=marks,
                text=str(marks),
                section=self._sections[q.section_id],
                default=_INDEX[blank[0]],
                index=_INDEX[outcome],
                delta=int((marks - blank[1]) * self.lcd),
            )
            self._memo[key] = hit
        return hit

    def totals(self, entries: Iterable[Entry], left_out: Iterable[str] = ()) -> Totals:
        """An attempt's totals from scratch: every question unanswered, then each answer.

        `left_out`: the pool questions the candidate was not given, taken out of the
        blank base (they count nowhere).
        """
        sums = [s for s, _ in self._base]
        counts = [list(c) for _, c in self._base]
        for qid in left_out:
            b = self.entry(qid, None)
            sums[b.section] -= int(b.score * self.lcd)
            counts[b.section][b.default] -= 1
        for e in entries:
            sums[e.section] += e.delta
            counts[e.section][e.default] -= 1
            counts[e.section][e.index] += 1
        sections = {
            s.id: Part(Fraction(sums[i], self.lcd), counts[i][:PENDING], counts[i][PENDING])
            for i, s in enumerate(self.exam.sections)
        }
        every = [sum(c[i] for c in counts) for i in range(PENDING + 1)]
        whole = Part(Fraction(sum(sums), self.lcd), every[:PENDING], every[PENDING])
        return Totals(whole=whole, sections=sections)


def touched(versions: Sequence[Exam]) -> frozenset[str]:
    """Questions whose rule differs between consecutive key versions of an exam.

    Only these can score differently, so a regrade reads only their answers: a key change
    to two questions of 200 touches 1 % of the rows. Consecutive, not first against last,
    because a save under a middle version may have scored with a rule the last one undid.
    """
    out: set[str] = set()
    for before, after in itertools.pairwise(versions):
        out.update(q.id for q in after.questions if before.by_id[q.id].rule != q.rule)
    return frozenset(out)


def rescore(
    totals: Totals,
    stored: Iterable[tuple[Any, ...]],
    questions: Iterable[str],
    new: Scorer,
    old: Scorer,
    blank: Scorer | None,
    left_out: frozenset[str] = frozenset(),
) -> tuple[Fraction, list[tuple[str, Entry]]]:
    """Move one attempt's totals to the new key by the difference; its total before.

    `stored` are the attempt's answer rows (question, response, outcome, score, and
    maybe a manual question's mark) among `questions`; each is moved from what it stored
    to what the new key gives, so a row a save already scored under the new key moves by
    nothing, and so does every row on a second run. A question without a row counts in
    the totals with the blank marks of the key the attempt started or was last regraded
    under (`blank`; None when that is the new key already). The total before is
    recomputed from the responses under `old`, the key before the change, so the impact
    is the same on every run. Questions in `left_out` (pools: not given to this
    candidate) are not the attempt's and move nothing.
    """
    changed: list[tuple[str, Entry]] = []
    seen: set[str] = set()
    delta = Fraction(0)
    for qid, text, outcome, marks, *rest in stored:
        mark = rest[0] if rest else None
        seen.add(qid)
        e = new.entry(qid, text, mark)
        delta += e.score - old.entry(qid, text, mark).score
        if e.outcome != outcome or e.text != marks:
            section = new.exam.by_id[qid].section_id
            totals.move(section, (cast(Outcome, outcome), Fraction(marks)), (e.outcome, e.score))
            changed.append((qid, e))
    for qid in questions:
        if qid in seen or qid in left_out:
            continue
        e = new.entry(qid, None)
        delta += e.score - old.entry(qid, None).score
        if blank is not None:
            b = blank.entry(qid, None)
            if (b.outcome, b.score) != (e.outcome, e.score):
                section = new.exam.by_id[qid].section_id
                totals.move(section, (b.outcome, b.score), (e.outcome, e.score))
    return totals.whole.score - delta, changed


@dataclass(frozen=True, slots=True)
class Rescored:
    """One attempt's total before and after the change.

    `had`: whether the attempt was given any of the changed questions (pools); one that
    was not is not counted as rescored, though its rank may still move.
    """

    attempt_id: str
    submitted: bool
    before: Fraction
    after: Fraction
    had: bool = True


def impact(rescored: Sequence[Rescored], closed: bool) -> dict[str, Any]:
    """The effect over the submitted attempts (docs/api.md, GET .../key)."""
    submitted = [r for r in rescored if r.submitted]
    done = [r for r in submitted if r.had]
    gains = [r.after - r.before for r in done]
    rank_changed = None
    if closed:
        before = ranking.competition_ranks([r.before for r in submitted])
        after = ranking.competition_ranks([r.after for r in submitted])
        rank_changed = sum(b != a for b, a in zip(before, after, strict=True))
    return {
        "attempts_rescored": len(done),
        "score_changed": sum(g != 0 for g in gains),
        "max_gain": ranking.rounded(max([g for g in gains if g > 0], default=Fraction(0)), 2),
        "max_loss": ranking.rounded(-min([g for g in gains if g < 0], default=Fraction(0)), 2),
        "rank_changed": rank_changed,
    }
