"""Submission is a seal, not a computation: the same SQL for 12 or 300 questions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.util import await_

from tests.helpers import Server, running, small_exam


class Counter:
    """Records the statements the database receives while `on`.

    The hot path runs its statements on the driver connection, past SQLAlchemy's
    events (store/batch_sql.py), so the count is taken from the drivers themselves:
    SQLite's trace callback sees every statement; asyncpg's query logger sees those sent
    directly, and SQLAlchemy's event those SQLAlchemy prepares. Listeners are added
    before any connection exists: a connection only has the events of when it opened.
    """

    def __init__(self, server: Server) -> None:
        self.on = False
        self.statements: list[str] = []
        self.postgresql = server.core.store.is_postgresql
        assert server.core.writes.writer.engine is not None
        for engine in (server.core.writes.writer.engine, server.core.store.read_engine):
            event.listen(engine.sync_engine, "connect", self._connect)
            if self.postgresql:
                event.listen(engine.sync_engine, "before_cursor_execute", self._before)

    def _connect(self, dbapi_connection: Any, _record: Any) -> None:
        driver = dbapi_connection.driver_connection
        if self.postgresql:
            driver.add_query_logger(lambda logged: self._record(logged.query))
        else:
            await_(driver.set_trace_callback(self._record))

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self._record(statement)

    def _record(self, statement: str) -> None:
        words = statement.split()
        if self.on and words[0].upper().rstrip(";") not in ("BEGIN", "COMMIT", "PRAGMA"):
            self.statements.append(" ".join(words[:3]).upper())


def written_section(per_type: int) -> dict[str, Any]:
    """Matched and manual text questions (docs/exam-format.md), per_type of each."""
    questions: list[dict[str, Any]] = []
    for i in range(per_type):
        questions += [
            {"id": f"t{i}", "type": "text", "answer": ["b"], "marking": {"correct": 1}},
            {"id": f"e{i}", "type": "text", "marking": {"correct": 5, "manual": True}},
        ]
    return {"id": "written", "questions": questions}


async def statements_of_a_submit(
    server: Server, counter: Counter, exam_id: str, per_type: int, written: bool = False
) -> list[str]:
    exam = small_exam(exam_id, n=per_type)
    if written:  # manual questions pending at submit: still nothing per question
        exam["sections"].append(written_section(per_type))
        exam["release"] = "immediately"
    await server.create_exam(exam)
    token = (await server.register(exam_id, "R1"))["R1"]
    view = await server.start(exam_id, token)
    aid = view["attempt_id"]
    items = [
        {"question_id": q["id"], "seq": i + 1,
         "response": {"single": "B", "multiple": ["A", "C"], "numeric": 2.5,
                      "text": "B"}[q["type"]]}
        for i, q in enumerate(q for s in view["sections"] for q in s["questions"])
    ]  # fmt: skip
    assert (await server.save(token, aid, *items)).status_code == 200
    await server.as_(token, "GET", f"/attempts/{aid}")  # warm the caches as a real client would
    counter.statements.clear()
    counter.on = True
    r = await server.as_(token, "POST", f"/attempts/{aid}/submit")
    counter.on = False
    result = r.json()["result"]
    assert r.status_code == 200 and result["correct"] == (4 if written else 3) * per_type
    assert result["pending_marks"] == (per_type if written else 0)
    return list(counter.statements)


async def test_a_submit_runs_the_same_statements_for_12_and_300_questions(
    database: str, tmp_path: Path
) -> None:
    # No sweeper or job worker: their statements would mix with the submit's.
    async with running(
        database, tmp_path, run_workers=False, sweep_interval_seconds=3600
    ) as server:
        counter = Counter(server)
        small = await statements_of_a_submit(server, counter, "twelve", per_type=4)
        large = await statements_of_a_submit(server, counter, "three-hundred", per_type=100)
    assert small == large
    # read (and on PostgreSQL lock) the attempt, then seal it: nothing per question
    assert [s.split()[0] for s in small] == ["SELECT", "UPDATE"]


async def test_a_submit_with_manual_questions_runs_the_same_statements(
    database: str, tmp_path: Path
) -> None:
    """Marking happens after submission, never in it: the same statements as without."""
    async with running(
        database, tmp_path, run_workers=False, sweep_interval_seconds=3600
    ) as server:
        counter = Counter(server)
        plain = await statements_of_a_submit(server, counter, "plain", per_type=4)
        small = await statements_of_a_submit(server, counter, "w-small", 4, written=True)
        large = await statements_of_a_submit(server, counter, "w-large", 100, written=True)
    assert plain == small == large


async def test_a_save_runs_a_fixed_set_of_statements_whatever_it_holds(
    database: str, tmp_path: Path
) -> None:
    """A save of 1 answer or of 12 sends the same statements; on PostgreSQL its journal
    rows, answers and save counts go in one statement (one round trip, not three).
    SQLite's trace sees an executemany once a row, so there the statements are compared
    as the distinct ones, in order."""
    async with running(
        database, tmp_path, run_workers=False, sweep_interval_seconds=3600
    ) as server:
        counter = Counter(server)
        await server.create_exam(small_exam("saves", n=4))
        token = (await server.register("saves", "R1"))["R1"]
        view = await server.start("saves", token)
        aid = view["attempt_id"]
        questions = [q for s in view["sections"] for q in s["questions"]]
        responses = {"single": "B", "multiple": ["A", "C"], "numeric": 2.5, "text": "B"}
        seen = []
        # the first saves fill the caches, and connect each writer task (PostgreSQL has
        # two, taking turns) with its driver's type cache: not compared
        for seq, chosen in ((1, questions), (2, questions), (3, questions[:1]), (4, questions)):
            items = [{"question_id": q["id"], "seq": seq, "response": responses[q["type"]]}
                     for q in chosen]  # fmt: skip
            counter.statements.clear()
            counter.on = True
            r = await server.save(token, aid, *items)
            counter.on = False
            assert r.status_code == 200 and r.json()["accepted"] == [seq] * len(items)
            statements = counter.statements
            seen.append(list(statements) if counter.postgresql else list(dict.fromkeys(statements)))
    assert seen[2] == seen[3]
    kinds = [s.split()[0] for s in seen[2]]
    if server.core.store.is_postgresql:
        assert kinds == ["SELECT", "SELECT", "WITH", "UPDATE"]
    else:
        assert kinds == ["SELECT", "SELECT", "INSERT", "INSERT", "INSERT", "UPDATE"]
