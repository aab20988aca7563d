"""Submission is a seal, not a computation: the same SQL for 10 or 300 questions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from tests.helpers import Server, running, small_exam


@contextmanager
def counting(server: Server) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.split()[0].upper())

    engines = {
        server.core.store.write_engine.sync_engine,
        server.core.store.read_engine.sync_engine,
    }
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)


async def statements_of_a_submit(server: Server, exam_id: str, per_type: int) -> list[str]:
    await server.create_exam(small_exam(exam_id, n=per_type))
    token = (await server.register(exam_id, "R1"))["R1"]
    view = await server.start(exam_id, token)
    aid = view["attempt_id"]
    items = [
        {"question_id": q["id"], "seq": i + 1,
         "response": {"single": "B", "multiple": ["A", "C"], "numeric": 2.5}[q["type"]]}
        for i, q in enumerate(q for s in view["sections"] for q in s["questions"])
    ]  # fmt: skip
    assert (await server.save(token, aid, *items)).status_code == 200
    await server.as_(token, "GET", f"/attempts/{aid}")  # warm the caches as a real client would
    with counting(server) as statements:
        r = await server.as_(token, "POST", f"/attempts/{aid}/submit")
    assert r.status_code == 200 and r.json()["result"]["correct"] == 3 * per_type
    return statements


async def test_a_submit_runs_the_same_statements_for_10_and_300_questions(
    database: str, tmp_path: Path
) -> None:
    # No sweeper or job worker: their statements would mix with the submit's.
    async with running(
        database, tmp_path, run_workers=False, sweep_interval_seconds=3600
    ) as server:
        await _compare(server)


async def _compare(server: Server) -> None:
    small = await statements_of_a_submit(server, "ten", per_type=4)  # 12 questions
    large = await statements_of_a_submit(server, "three-hundred", per_type=100)  # 300
    assert small == large
    assert len(small) <= 6, small  # token/attempt lookups are cached; BEGIN, SELECT, UPDATE…
