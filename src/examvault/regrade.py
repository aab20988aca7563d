"""Regrading: move every attempt of an exam to a new key, from its stored responses.

The `regrade` job (enqueued by `keys.ChangeKey`) reads only the answers to the questions
whose rule changed (`touched`) and moves each attempt's totals by the difference, exactly
(Fractions), in chunks of attempts that are each one write of their own, so the
group-commit writer is never held for long and saves of other exams keep flowing between
chunks. A chunk reads the answers and writes the new scores in the same transaction
(attempts locked on PostgreSQL), so a save landing meanwhile is either before the chunk
(and moved by it) or after it (and scored under the new key by the save itself).

Moving by the difference is idempotent: each answer row moves from the score it stores
to the new key's score, which is nothing the second time, and an attempt records the key
version its totals are at, so the blank marks of unanswered questions move once. The
impact compares each attempt under the key before the change with the key after it,
recomputed from the responses, so it too is the same on every run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import gcd
from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import analytics, results
from examvault.answers import decode_response
from examvault.clock import MICROS
from examvault.exams import Exam
from examvault.marking import OUTCOMES, NumericKey, Outcome, score
from examvault.store.tables import answers, attempts, exam_keys, exams
from examvault.totals import Part, Totals

if TYPE_CHECKING:
    from examvault.core import Core
    from examvault.jobs import Finish

CHUNK = 250  # attempts per write at most
CHUNK_ROWS = 2000  # answer rows per write, about
CHUNK_FLOOR = 25  # attempts per write at least
SAVE_CLOCK_MARGIN = 300 * MICROS
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
    stored: Iterable[tuple[str, str | None, str, str]],
    questions: Iterable[str],
    new: Scorer,
    old: Scorer,
    blank: Scorer | None,
) -> tuple[Fraction, list[tuple[str, Entry]]]:
    """Move one attempt's totals to the new key by the difference; its total before.

    `stored` are the attempt's answer rows (question, response, outcome, score) among
    `questions`; each is moved from what it stored to what the new key gives, so a row a
    save already scored under the new key moves by nothing, and so does every row on a
    second run. A question without a row counts in the totals with the blank marks of
    the key the attempt started or was last regraded under (`blank`; None when that is
    the new key already). The total before is recomputed from the responses under `old`,
    the key before the change, so the impact is the same on every run.
    """
    changed: list[tuple[str, Entry]] = []
    seen: set[str] = set()
    delta = Fraction(0)
    for qid, text, outcome, marks in stored:
        seen.add(qid)
        e = new.entry(qid, text)
        delta += e.score - old.entry(qid, text).score
        if e.outcome != outcome or e.text != marks:
            section = new.exam.by_id[qid].section_id
            totals.move(section, (cast(Outcome, outcome), Fraction(marks)), (e.outcome, e.score))
            changed.append((qid, e))
    for qid in questions:
        if qid in seen:
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
    """One attempt's total before and after the change."""

    attempt_id: str
    submitted: bool
    before: Fraction
    after: Fraction


@dataclass(eq=False)
class RescoreChunk:
    """Rescore some attempts in one write: the changed answers, the totals by the difference.

    `questions`: the questions whose rule changed (by default, between `old` and `new`);
    `blanks`: a scorer per key version attempts may still be at (by default `old`);
    `since`: attempts still in progress, or submitted at or after this time, are rescored
    from scratch instead (see `from_scratch`).
    """

    core: Core
    exam_id: str
    attempt_ids: Sequence[str]
    new: Scorer
    old: Scorer
    questions: frozenset[str] | None = None
    blanks: Mapping[int, Scorer] = field(default_factory=dict)
    since: int | None = None

    def from_scratch(self, row: Any) -> bool:
        """Whether a save may have landed on this attempt between the change and now.

        A save that gives a question its first answer moves the totals from the blank
        marks of the key it runs under (journal.py), not of the key the attempt's totals
        were at; when a change altered those blank marks (a drop with a bonus) the
        difference is not in the rows. Such an attempt is recomputed from all its rows,
        as before; a closed exam's attempts, the usual case, take the fast path.
        """
        if row.key_version == self.new.exam.key_version:
            return False
        if row.status != "submitted":
            return True
        return self.since is not None and (row.submitted_at or 0) >= self.since

    async def _answers(
        self, conn: AsyncConnection, ids: list[str], qids: frozenset[str] | None
    ) -> Any:
        query = select(
            answers.c.attempt_id,
            answers.c.question_id,
            answers.c.response,
            answers.c.outcome,
            answers.c.score,
        ).where(answers.c.attempt_id.in_(ids))
        if qids is not None:
            query = query.where(answers.c.question_id.in_(sorted(qids)))
        return await conn.execute(query)

    async def apply(self, conn: AsyncConnection) -> list[Rescored]:
        target = self.new.exam.key_version
        qids = touched([self.old.exam, self.new.exam]) if self.questions is None else self.questions
        query = select(
            attempts.c.id,
            attempts.c.status,
            attempts.c.totals,
            attempts.c.key_version,
            attempts.c.submitted_at,
        ).where(attempts.c.id.in_(self.attempt_ids), attempts.c.exam_id == self.exam_id)
        if self.core.store.is_postgresql:
            query = query.order_by(attempts.c.id).with_for_update()
        rows = (await conn.execute(query)).all()
        full = {r.id for r in rows if self.from_scratch(r)}
        stored: dict[str, list[tuple[str, str | None, str, str]]] = {r.id: [] for r in rows}
        fast = [r.id for r in rows if r.id not in full]
        for ids, only in ((fast, qids), (sorted(full), None)):
            if ids and (only is None or only):
                for r in await self._answers(conn, ids, only):
                    stored[r.attempt_id].append((r.question_id, r.response, r.outcome, r.score))
        changed_answers: list[dict[str, Any]] = []
        attempt_rows: list[dict[str, Any]] = []
        out: list[Rescored] = []
        for row in rows:
            if row.id in full:
                items = stored[row.id]
                totals = self.new.totals(self.new.entry(q, t) for q, t, _, _ in items)
                before = self.old.totals(self.old.entry(q, t) for q, t, _, _ in items).whole.score
                changed = [
                    (q, e)
                    for q, t, outcome, marks in items
                    if (e := self.new.entry(q, t)).outcome != outcome or e.text != marks
                ]
            else:
                totals = Totals.loads(row.totals)
                blank = None
                if row.key_version != target:
                    blank = self.blanks.get(row.key_version, self.old)
                before, changed = rescore(totals, stored[row.id], qids, self.new, self.old, blank)
            for qid, e in changed:
                changed_answers.append(
                    {"b_a": row.id, "b_q": qid, "outcome": e.outcome, "score": e.text}
                )
            text = totals.dumps()
            if text != row.totals or row.key_version != target:
                attempt_rows.append({"b_id": row.id, "totals": text, "key_version": target})
            out.append(Rescored(row.id, row.status == "submitted", before, totals.whole.score))
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
    """The `regrade` job: rescore the changed questions of every attempt, then mark done."""
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
        base = max(min(pending, default=target) - 1 if target > 1 else 1, 1)
        changed_at = (
            await conn.execute(
                select(func.min(exam_keys.c.at)).where(
                    exam_keys.c.exam_id == exam_id, exam_keys.c.key_version.in_(pending or [0])
                )
            )
        ).scalar_one()
        lowest = (
            await conn.execute(
                select(func.min(attempts.c.key_version)).where(attempts.c.exam_id == exam_id)
            )
        ).scalar_one()
        first = min(base, lowest or target)
        versions = [
            await core.catalog.get(conn, exam_id, row.version, v) for v in range(first, target + 1)
        ]
        ids = list(
            (
                await conn.execute(
                    select(attempts.c.id)
                    .where(attempts.c.exam_id == exam_id)
                    .order_by(attempts.c.id)
                )
            ).scalars()
        )
    scorers = {e.key_version: Scorer(e) for e in versions}
    new, old = scorers[target], scorers[base]
    questions = touched(versions)
    # Attempts submitted after the change (less a margin for clocks of other hosts) may
    # have been saved under the new key before their chunk: `RescoreChunk.from_scratch`.
    since = None if changed_at is None else changed_at - SAVE_CLOCK_MARGIN
    # Each chunk is one write in the shared writer: keep it to about CHUNK_ROWS answer
    # rows so the saves of other exams batched behind it wait milliseconds, not seconds.
    # An exam closed before `since` has only attempts moved by the difference; otherwise
    # count on reading every answer (from scratch), with a floor so the writes stay few.
    settled = row.closed_at is not None and since is not None and row.closed_at < since
    per_attempt = len(questions) if settled else len(new.exam.questions)
    size = max(CHUNK_FLOOR, min(CHUNK, CHUNK_ROWS // max(1, per_attempt)))
    rescored: list[Rescored] = []
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        rescored += await core.write(
            RescoreChunk(core, exam_id, chunk, new, old, questions, scorers, since)
        )
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
