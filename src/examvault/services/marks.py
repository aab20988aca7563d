"""Scripts and marks: what a marker reads and gives (docs/api.md, Marking).

A mark is applied like a save: in one transaction of the shared writer, the answer row
gets its mark, outcome and score, and the attempt's totals move by exactly the
difference (domain/totals.py), so results always equal a recomputation from the stored
responses and marks. Nothing heavy happens in the request: once the exam is closed, a
mark enqueues the ranks and analytics jobs in its transaction (the ranks job leaves ranks
null while any mark is pending, so the last mark is what brings them).

Script ids come from a per-exam secret (domain/scripts.py). Listing scripts reads the
script rows (no responses) of the questions asked for and names them through the
process's script index (services/script_index.py), which computes each HMAC once; a PUT
resolves the ids it names through that index and reads every script row only when one
of them is not in it yet (listed by another process, or never listed), before calling it
unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from examvault import errors
from examvault.clock import Clock, format_time
from examvault.domain import scripts
from examvault.domain.answers import decode_response
from examvault.domain.exams import Exam, mark_json
from examvault.domain.marking import Outcome, score
from examvault.domain.totals import Totals, parse_fraction
from examvault.services import audit
from examvault.services.catalog import Catalog
from examvault.services.markers import Marker
from examvault.services.queue import JobQueue
from examvault.services.script_index import ScriptIndex
from examvault.services.writes import Writes
from examvault.store.engine import Store
from examvault.store.queries import answers, attempts, exams, script_keys

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MARK_BATCH = scripts.MAX_MARKS  # marks per op of `mark_all`: PUT .../marks' own limit


@dataclass(frozen=True, slots=True)
class Script:
    """One script as the marker sees it, with the ids it must never show."""

    script_id: str
    attempt_id: str
    question_id: str
    row: Any  # the script row of `answers.scripts`; None when resolved by the index


class Marks:
    """Lists scripts and applies marks, for a marker or the admin."""

    def __init__(
        self, store: Store, writes: Writes, catalog: Catalog, clock: Clock, queue: JobQueue
    ) -> None:
        self._store = store
        self._writes = writes
        self._catalog = catalog
        self._clock = clock
        self._queue = queue
        self._index = ScriptIndex()

    async def _secret(self, exam_id: str) -> str:
        async with self._store.read() as conn:
            secret = await script_keys.get(conn, exam_id)
        if secret is None:  # the admin marking an exam no marker was registered on
            secret = cast(str, await self._writes.run(_EnsureSecret(exam_id)))
        return secret

    async def _questions(
        self, exam_id: str, who: Marker, question_id: str | None
    ) -> tuple[Exam, list[str]]:
        """The exam and the questions the caller marks (one, if asked: 422 if it is not a
        manual question, 403 if the caller does not mark it)."""
        who.check_exam(exam_id)
        async with self._store.read() as conn:
            exam, _ = await self._catalog.exam_of(conn, exam_id)
        questions = [q for q in exam.manual_questions if who.may_mark(q)]
        if question_id is not None:
            if question_id not in exam.manual_questions:
                raise errors.InvalidBody(
                    [
                        {
                            "loc": ["query", "question_id"],
                            "msg": f"{question_id[:64]!r} is not a manual question",
                        }
                    ]
                )
            if question_id not in questions:
                raise errors.Forbidden("this marker does not mark that question")
            questions = [question_id]
        return exam, questions

    async def _scripts(
        self, exam_id: str, who: Marker, question_id: str | None
    ) -> tuple[Exam, list[str], list[Script]]:
        """The exam, the questions the caller marks (one, if asked) and their scripts in
        script-id order (each id named through the index, so computed once a process)."""
        exam, questions = await self._questions(exam_id, who, question_id)
        found = await self._listed(exam_id, await self._secret(exam_id), questions)
        return exam, questions, found

    async def _listed(self, exam_id: str, secret: str, questions: list[str]) -> list[Script]:
        """The scripts of these questions in script-id order, named through the index."""
        async with self._store.read() as conn:
            rows = await answers.scripts(conn, exam_id, questions) if questions else []
        ids = self._index.fill(exam_id, secret, ((r.attempt_id, r.question_id) for r in rows))
        found = [
            Script(sid, r.attempt_id, r.question_id, r) for sid, r in zip(ids, rows, strict=True)
        ]
        found.sort(key=lambda s: s.script_id)
        return found

    async def _resolve(
        self, exam_id: str, who: Marker, ids: Sequence[str]
    ) -> tuple[Exam, dict[str, Script]]:
        """The exam and the scripts of `ids` the caller marks (an id missing is unknown).

        From the index alone when it knows every id; else every script of the caller's
        questions is read and named first (`_scripts`), so an id this process has not
        seen is never refused for that alone.
        """
        exam, questions = await self._questions(exam_id, who, None)
        secret = await self._secret(exam_id)
        known = self._index.exam(exam_id, secret).by_id
        if any(sid not in known for sid in ids):
            found = await self._listed(exam_id, secret, questions)
            known = {s.script_id: (s.attempt_id, s.question_id) for s in found}
        allowed = set(questions)
        out: dict[str, Script] = {}
        for sid in ids:
            pair = known.get(sid)
            if pair is not None and pair[1] in allowed:
                out[sid] = Script(sid, pair[0], pair[1], None)
        return exam, out

    async def scripts(
        self,
        exam_id: str,
        who: Marker,
        *,
        question_id: str | None = None,
        status: scripts.Status = "unmarked",
        limit: int = DEFAULT_LIMIT,
        after: str | None = None,
    ) -> dict[str, Any]:
        """A page of scripts in script-id order (docs/api.md, GET .../scripts)."""
        exam, questions, found = await self._scripts(exam_id, who, question_id)
        page = [
            s
            for s in found
            if (after is None or s.script_id > after)
            and (status == "all" or (s.row.mark is None) == (status == "unmarked"))
        ][:limit]
        async with self._store.read() as conn:
            texts = await answers.responses(conn, [(s.attempt_id, s.question_id) for s in page])
        return {
            "questions": [_question(exam, qid) for qid in questions],
            "scripts": [
                {
                    "script_id": s.script_id,
                    "question_id": s.question_id,
                    "response": decode_response(
                        exam.by_id[s.question_id], texts.get((s.attempt_id, s.question_id))
                    ),
                    "mark": None if s.row.mark is None else mark_json(parse_fraction(s.row.mark)),
                    "comment": s.row.mark_comment,
                    "marked_by": s.row.marked_by,
                    "marked_at": format_time(s.row.marked_at),
                }
                for s in page
            ],
            "next": page[-1].script_id if len(page) == limit else None,
        }

    async def mark(self, exam_id: str, who: Marker, body: Any) -> dict[str, Any]:
        """Apply marks, all or none (docs/api.md, PUT .../marks)."""
        who.check_exam(exam_id)  # 403 comes before the body's 422 (docs/api.md)
        items = scripts.parse_marks(body)
        exam, by_id = await self._resolve(exam_id, who, [item.script_id for item in items])
        faults: list[dict[str, Any]] = []
        resolved: list[tuple[scripts.MarkItem, Script]] = []
        for item in items:
            script = by_id.get(item.script_id)
            if script is None:
                faults.append(
                    {
                        "loc": ["body", "marks", item.index, "script_id"],
                        "msg": f"unknown script {item.script_id[:64]!r}",
                        "script_id": item.script_id,
                    }
                )
                continue
            fault = scripts.check_mark(exam, item, script.question_id)
            if fault is not None:
                faults.append(fault)
                continue
            resolved.append((item, script))
        if faults:
            raise errors.InvalidBody(faults)
        applied: list[str] = await self._writes.run(
            ApplyMarks(exam_id, who, resolved, self._clock.now(), self._catalog, self._queue)
        )
        return {"applied": applied}

    async def mark_all(
        self,
        exam_id: str,
        who: Marker,
        judge: Callable[[str, Any], tuple[Fraction, str | None]],
        batch: int = MARK_BATCH,
    ) -> int:
        """Mark every unmarked script the caller marks with `judge(question_id, response)
        → (mark, comment)`; how many were marked.

        For tools (the analytics benchmark marks a whole exam before its analytics): the
        scripts are listed once, then marked `batch` at a time (PUT's own limit, 500)
        through `mark`, exactly as PUT .../marks does — ids resolved by the index, each
        mark checked, each batch one `ApplyMarks` op of the shared writer, all or nothing.
        """
        exam, _, found = await self._scripts(exam_id, who, None)
        todo = [s for s in found if s.row.mark is None]
        for start in range(0, len(todo), batch):
            chunk = todo[start : start + batch]
            async with self._store.read() as conn:
                texts = await answers.responses(
                    conn, [(s.attempt_id, s.question_id) for s in chunk]
                )
            body: list[dict[str, Any]] = []
            for s in chunk:
                q = exam.by_id[s.question_id]
                response = decode_response(q, texts.get((s.attempt_id, s.question_id)))
                mark, comment = judge(s.question_id, response)
                body.append({"script_id": s.script_id, "mark": mark, "comment": comment})
            await self.mark(exam_id, who, {"marks": body})
        return len(todo)


def _question(exam: Exam, question_id: str) -> dict[str, Any]:
    """What a marking page shows of a question: its text, maximum and step."""
    q = exam.by_id[question_id]
    return {
        "id": q.id,
        "text": q.text,
        "max_mark": mark_json(q.rule.marking.correct),
        "step": mark_json(q.rule.step),
    }


@dataclass(eq=False)
class _EnsureSecret:
    exam_id: str

    async def apply(self, conn: AsyncConnection) -> str:
        if await exams.header(conn, self.exam_id) is None:
            raise errors.NotFound(f"no exam {self.exam_id!r}")
        return await script_keys.ensure(conn, self.exam_id, scripts.new_secret())


@dataclass(eq=False)
class ApplyMarks:
    """Give marks and move each attempt's totals by the difference, in one transaction."""

    exam_id: str
    who: Marker
    items: Sequence[tuple[scripts.MarkItem, Script]]
    now: int
    catalog: Catalog
    queue: JobQueue
    closed: bool = False

    async def apply(self, conn: AsyncConnection) -> list[str]:
        header = await exams.header(conn, self.exam_id)
        assert header is not None  # exams are never deleted
        ids = sorted({s.attempt_id for _, s in self.items})
        rows = {r.id: r for r in await attempts.for_marks(conn, self.exam_id, ids)}
        pairs = sorted({(s.attempt_id, s.question_id) for _, s in self.items})
        stored = {(r.attempt_id, r.question_id): r for r in await answers.for_marks(conn, pairs)}
        faults = [
            {
                "loc": ["body", "marks", item.index, "script_id"],
                "msg": f"script {item.script_id!r} is no longer submitted",
                "script_id": item.script_id,
            }
            for item, s in self.items
            if s.attempt_id not in rows
            or rows[s.attempt_id].status != "submitted"
            or stored.get((s.attempt_id, s.question_id)) is None
            or stored[(s.attempt_id, s.question_id)].response is None
        ]
        if faults:  # reopened between the read and this write
            raise errors.InvalidBody(faults)
        totals: dict[str, Totals] = {}
        exams_of: dict[int, Exam] = {}
        updates: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for item, s in self.items:
            row = rows[s.attempt_id]
            if row.exam_version not in exams_of:
                exams_of[row.exam_version] = await self.catalog.get(
                    conn, self.exam_id, row.exam_version, header.key_version
                )
            exam = exams_of[row.exam_version]
            q = exam.by_id[s.question_id]
            answer = stored[(s.attempt_id, s.question_id)]
            old = (cast(Outcome, answer.outcome), parse_fraction(answer.score))
            new = score(q.rule, decode_response(q, answer.response), item.mark)
            t = totals.setdefault(s.attempt_id, Totals.loads(row.totals))
            t.move(q.section_id, old, new)
            updates.append(
                {
                    "b_a": s.attempt_id,
                    "b_q": s.question_id,
                    "outcome": new[0],
                    "score": str(new[1]),
                    "mark": str(item.mark),
                    "mark_comment": item.comment,
                    "marked_by": self.who.name,
                    "marked_at": self.now,
                }
            )
            entries.append(
                {
                    "script_id": item.script_id,
                    "question_id": s.question_id,
                    "mark": mark_json(item.mark),
                    "comment": item.comment,
                }
            )
        await answers.set_marks(conn, updates)
        await audit.record_many(conn, self.now, self.who.actor, "marked", self.exam_id, entries)
        await attempts.set_totals(
            conn, [{"b_id": aid, "totals": t.dumps()} for aid, t in sorted(totals.items())]
        )
        if header.closed_at is not None:
            self.closed = True
            await self.queue.enqueue(conn, "ranks", self.exam_id)
            await self.queue.enqueue(conn, "analytics", self.exam_id)
        return [item.script_id for item, _ in self.items]

    def after_commit(self) -> None:
        if self.closed:
            self.queue.poke()
