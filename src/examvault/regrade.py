"""Regrading: rescore every attempt of an exam from its stored responses under a new key.

The `regrade` job (enqueued by `keys.ChangeKey`) works in chunks of attempts, each one
write of its own, so the group-commit writer is never held for long and saves of other
exams keep flowing between chunks. A chunk reads the answers and writes the new scores
in the same transaction (attempts locked on PostgreSQL), so a save landing meanwhile is
either before the chunk (and rescored by it) or after it (and scored under the new key
by the save itself). Every chunk recomputes from scratch: running the job again, after a
worker died halfway, gives the same rows. The impact compares each attempt under the
key before the change with the key after it, both recomputed from the responses, so it
too is the same on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import analytics, results
from examvault.answers import decode_response
from examvault.exams import Exam
from examvault.marking import OUTCOMES, NumericKey, Outcome, score
from examvault.store.tables import answers, attempts, exam_keys, exams
from examvault.totals import Part, Totals

if TYPE_CHECKING:
    from examvault.core import Core
    from examvault.jobs import Finish

CHUNK = 250
_INDEX = {name: i for i, name in enumerate(OUTCOMES)}


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
    _memo: dict[tuple[str, str | None], Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lcd = common_denominator(self.exam)
        self._sections = {s.id: i for i, s in enumerate(self.exam.sections)}
        base = Totals.empty(self.exam)
        self._base = [
            (int(base.sections[s.id].score * self.lcd), list(base.sections[s.id].counts))
            for s in self.exam.sections
        ]

    def entry(self, question_id: str, text: str | None) -> Entry:
        """The outcome and score of a stored response (JSON text) to one question."""
        key = (question_id, text)
        hit = self._memo.get(key)
        if hit is None:
            q = self.exam.by_id[question_id]
            outcome, marks = score(q.rule, decode_response(q, text))
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

    def totals(self, entries: Iterable[Entry]) -> Totals:
        """An attempt's totals from scratch: every question unanswered, then each answer."""
        sums = [s for s, _ in self._base]
        counts = [list(c) for _, c in self._base]
        for e in entries:
            sums[e.section] += e.delta
            counts[e.section][e.default] -= 1
            counts[e.section][e.index] += 1
        sections = {
            s.id: Part(Fraction(sums[i], self.lcd), counts[i])
            for i, s in enumerate(self.exam.sections)
        }
        whole = Part(Fraction(sum(sums), self.lcd), [sum(c[i] for c in counts) for i in range(4)])
        return Totals(whole=whole, sections=sections)


@dataclass(frozen=True, slots=True)
class Rescored:
    """One attempt's total before and after the change."""

    attempt_id: str
    submitted: bool
    before: Fraction
    after: Fraction


@dataclass(eq=False)
class RescoreChunk:
    """Rescore some attempts in one write: answers' outcome and score, attempts' totals."""

    core: Core
    exam_id: str
    attempt_ids: Sequence[str]
    new: Scorer
    old: Scorer

    async def apply(self, conn: AsyncConnection) -> list[Rescored]:
        query = select(attempts.c.id, attempts.c.status).where(
            attempts.c.id.in_(self.attempt_ids), attempts.c.exam_id == self.exam_id
        )
        if self.core.store.is_postgresql:
            query = query.order_by(attempts.c.id).with_for_update()
        status = {r.id: r.status for r in await conn.execute(query)}
        stored: dict[str, list[tuple[str, str | None, str, str]]] = {a: [] for a in status}
        rows = await conn.execute(
            select(
                answers.c.attempt_id,
                answers.c.question_id,
                answers.c.response,
                answers.c.outcome,
                answers.c.score,
            ).where(answers.c.attempt_id.in_(list(status)))
        )
        for r in rows:
            stored[r.attempt_id].append((r.question_id, r.response, r.outcome, r.score))
        changed_answers: list[dict[str, Any]] = []
        attempt_rows: list[dict[str, Any]] = []
        out: list[Rescored] = []
        for attempt_id, items in stored.items():
            new = [self.new.entry(qid, text) for qid, text, _, _ in items]
            old = [self.old.entry(qid, text) for qid, text, _, _ in items]
            for (qid, _, outcome, marks), e in zip(items, new, strict=True):
                if e.outcome != outcome or e.text != marks:
                    changed_answers.append(
                        {"b_a": attempt_id, "b_q": qid, "outcome": e.outcome, "score": e.text}
                    )
            totals = self.new.totals(new)
            attempt_rows.append(
                {
                    "b_id": attempt_id,
                    "totals": totals.dumps(),
                    "key_version": self.new.exam.key_version,
                }
            )
            out.append(
                Rescored(
                    attempt_id,
                    status[attempt_id] == "submitted",
                    self.old.totals(old).whole.score,
                    totals.whole.score,
                )
            )
        if changed_answers:
            await conn.execute(
                update(answers).where(
                    answers.c.attempt_id == bindparam("b_a"),
                    answers.c.question_id == bindparam("b_q"),
                ),
                changed_answers,
            )
        if attempt_rows:
            await conn.execute(
                update(attempts).where(attempts.c.id == bindparam("b_id")), attempt_rows
            )
        return out


def impact(rescored: Sequence[Rescored], closed: bool) -> dict[str, Any]:
    """The effect over the submitted attempts (API-ADMIN.md, GET .../key)."""
    done = [r for r in rescored if r.submitted]
    gains = [r.after - r.before for r in done]
    rank_changed = None
    if closed:
        before = analytics.competition_ranks([r.before for r in done])
        after = analytics.competition_ranks([r.after for r in done])
        rank_changed = sum(b != a for b, a in zip(before, after, strict=True))
    return {
        "attempts_rescored": len(done),
        "score_changed": sum(g != 0 for g in gains),
        "max_gain": analytics.rounded(max([g for g in gains if g > 0], default=Fraction(0)), 2),
        "max_loss": analytics.rounded(-min([g for g in gains if g < 0], default=Fraction(0)), 2),
        "rank_changed": rank_changed,
    }


async def handle(core: Core, job: dict[str, Any]) -> Finish:
    """The `regrade` job: rescore every attempt, then mark the key change done."""
    exam_id = job["exam_id"]
    async with core.store.read() as conn:
        row = (
            await conn.execute(
                select(exams.c.version, exams.c.key_version, exams.c.closed_at).where(
                    exams.c.id == exam_id
                )
            )
        ).one()
        pending = [
            v
            for v in (
                await conn.execute(
                    select(exam_keys.c.key_version).where(
                        exam_keys.c.exam_id == exam_id,
                        exam_keys.c.status == "regrading",
                        exam_keys.c.key_version <= row.key_version,
                    )
                )
            ).scalars()
        ]
        target = row.key_version
        base = min(pending, default=target) - 1 if target > 1 else 1
        new = Scorer(await core.catalog.get(conn, exam_id, row.version, target))
        old = Scorer(await core.catalog.get(conn, exam_id, row.version, max(base, 1)))
        ids = list(
            (
                await conn.execute(
                    select(attempts.c.id)
                    .where(attempts.c.exam_id == exam_id)
                    .order_by(attempts.c.id)
                )
            ).scalars()
        )
    rescored: list[Rescored] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rescored += await core.write(RescoreChunk(core, exam_id, chunk, new, old))
    effect = orjson.dumps(impact(rescored, row.closed_at is not None)).decode()
    # Ranks are rewritten in the transaction that marks the change done, so that once the
    # history says "done" the results already show the new key's ranks (API-ADMIN.md).
    ranks = await results.compute_ranks(core, exam_id) if row.closed_at is not None else []

    async def finish(conn: AsyncConnection) -> None:
        if pending:
            await conn.execute(
                update(exam_keys)
                .where(exam_keys.c.exam_id == exam_id, exam_keys.c.key_version.in_(pending))
                .values(status="done", impact=effect)
            )
        await results.write_ranks(conn, ranks)
        await core.jobs.enqueue(conn, "analytics", exam_id)

    return finish
