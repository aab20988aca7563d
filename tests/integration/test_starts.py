"""The start storm's batch: every candidate starting in the same second.

Starts join the writer's batches like saves (services/starts.py); a batch of starts of
one exam costs the same few statements whether it holds 3 starts or 300.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event

from examvault import errors
from examvault.services import starts
from examvault.services.starts import StartOp
from tests.helpers import Server, running, small_exam


async def _apply_counting(server: Server, ops: list[StartOp]) -> list[str]:
    """Apply `ops` as one batch in one transaction; the statements it sent."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()[:3]).upper())

    async with server.core.store.write() as conn:
        event.listen(conn.sync_connection, "before_cursor_execute", record)
        await starts.apply(conn, ops)
        event.remove(conn.sync_connection, "before_cursor_execute", record)
    return sent


def _ops(server: Server, exam_id: str, ids: list[str]) -> list[StartOp]:
    now = server.core.clock.now()
    return [StartOp(server.core.catalog, exam_id, cid, now) for cid in ids]


async def test_a_batch_of_starts_costs_the_same_statements_for_3_or_300(
    database: str, tmp_path: Path
) -> None:
    async with running(database, tmp_path) as server:
        await server.create_exam(small_exam("storm", n=5))
        ids = [f"C{i:04d}" for i in range(300)]
        await server.register("storm", *ids)

        await _apply_counting(server, _ops(server, "storm", ids[:1]))  # the exam is cached
        few = await _apply_counting(server, _ops(server, "storm", ids[1:4]))
        many_ops = _ops(server, "storm", ids[4:])
        many = await _apply_counting(server, many_ops)

        assert len(many) == len(few) <= 5
        assert all(op.error is None and op.result[0] == 201 for op in many_ops)
        assert len({op.result[1].id for op in many_ops}) == 296
        assert all(op.fresh is not None for op in many_ops)


async def test_a_candidate_starting_twice_in_one_batch_gets_one_attempt(
    database: str, tmp_path: Path
) -> None:
    async with running(database, tmp_path) as server:
        await server.create_exam(small_exam("twice", n=3))
        await server.register("twice", "R1", "R2")
        ops = _ops(server, "twice", ["R1", "R1", "R2"])

        await _apply_counting(server, ops)

        statuses = [op.result[0] for op in ops]
        assert statuses == [201, 200, 201]
        assert ops[0].result[1].id == ops[1].result[1].id
        assert ops[1].fresh is None


async def test_a_batch_resumes_those_who_started_and_refuses_an_unknown_exam(
    database: str, tmp_path: Path
) -> None:
    async with running(database, tmp_path) as server:
        await server.create_exam(small_exam("mixed", n=3))
        tokens = await server.register("mixed", "R1", "R2")
        first = await server.start("mixed", tokens["R1"])
        ops = [*_ops(server, "mixed", ["R1", "R2"]), *_ops(server, "gone", ["R9"])]

        await _apply_counting(server, ops)

        assert ops[0].result[0] == 200 and ops[0].result[1].id == first["attempt_id"]
        assert ops[1].result[0] == 201
        assert isinstance(ops[2].error, errors.NotFound) and ops[2].result is None


async def test_many_candidates_starting_at_once_each_get_their_own_view(
    database: str, tmp_path: Path
) -> None:
    async with running(database, tmp_path) as server:
        await server.create_exam(small_exam("rush", n=4))
        await server.admin(
            "POST", "/exams/rush/announcements", json={"text": "Good luck", "room": None}
        )
        tokens = await server.register("rush", *[f"C{i:03d}" for i in range(60)])

        async def start(token: str) -> Any:
            response = await server.as_(token, "POST", "/exams/rush/attempts")
            return response.status_code, response.json()

        answered = await asyncio.gather(*[start(t) for t in tokens.values()])

        assert [status for status, _ in answered] == [201] * 60
        assert len({view["attempt_id"] for _, view in answered}) == 60
        assert all([n["text"] for n in view["announcements"]] == ["Good luck"]
                   for _, view in answered)  # fmt: skip


async def test_each_new_attempt_shows_what_its_room_was_told(server: Server) -> None:
    await server.create_exam(small_exam("rooms", n=3))
    people = [{"id": "A1", "room": "R1"}, {"id": "B1", "room": "R2"}, {"id": "N1"}]
    r = await server.admin("POST", "/exams/rooms/candidates", json={"candidates": people})
    assert r.status_code == 201, r.text
    for text, room in (("Everyone", None), ("Room one only", "R1")):
        r = await server.admin(
            "POST", "/exams/rooms/announcements", json={"text": text, "room": room}
        )
        assert r.status_code == 201, r.text
    ops = _ops(server, "rooms", ["A1", "B1", "N1"])

    await _apply_counting(server, ops)

    told = {op.candidate_id: [n["text"] for n in op.fresh[2]] for op in ops if op.fresh}
    assert told == {
        "A1": ["Everyone", "Room one only"],
        "B1": ["Everyone"],
        "N1": ["Everyone"],
    }
