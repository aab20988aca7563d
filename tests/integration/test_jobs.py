"""Jobs survive a dead worker, and two workers on one PostgreSQL never share a job."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.clock import MICROS, ManualClock
from examvault.core import Core
from examvault.domain.rescoring import Scorer
from examvault.jobs.handlers.regrade import RescoreChunk
from examvault.jobs.queue import Claim, Complete
from examvault.jobs.runner import Worker
from examvault.store.tables import attempts, jobs
from tests import helpers
from tests.helpers import running
from tests.integration.test_key_changes import ANSWERS, from_journal, results, sit_exam


@dataclass(eq=False)
class Enqueue:
    """Jobs added through the writer, as the server adds them."""

    core: Core
    exam_ids: list[str]
    kind: str

    async def apply(self, conn: AsyncConnection) -> None:
        for exam_id in self.exam_ids:
            await self.core.queue.enqueue(conn, self.kind, exam_id)


def another_worker(core: Core) -> Worker:
    """A second worker of the same process (its own id, the same handlers)."""
    return Worker(
        core.worker.handlers,
        writes=core.writes,
        queue=core.queue,
        clock=core.clock,
        metrics=core.metrics,
        settings=core.settings,
    )


async def test_a_job_whose_worker_died_runs_again_with_the_same_result(
    database: str, tmp_path: Path
) -> None:
    async with running(database, tmp_path, run_workers=False, job_lease_seconds=30) as server:
        core = server.core
        await sit_exam(server, close=False)
        assert (await server.admin("POST", "/exams/mock-1/close")).status_code == 200
        first = another_worker(core)
        while await first.run_once():  # the ranks and analytics jobs of the close
            pass
        body = {
            "changes": [
                {"question_id": "s0", "answer": ["A", "C"]},
                {"question_id": "m0", "drop": True},
            ]
        }
        assert (await server.admin("PUT", "/exams/mock-1/key", json=body)).status_code == 202

        # Worker "dead" claims the regrade and rescores one attempt, then dies.
        lease = int(core.settings.job_lease_seconds * MICROS)
        job = await core.writes.run(Claim("dead", core.clock.now(), lease))
        assert job is not None and job["kind"] == "regrade"
        async with core.store.read() as conn:
            exam = await core.catalog.current(conn, "mock-1")
            old = await core.catalog.get(conn, "mock-1", 1, 1)
            ids = sorted((await conn.execute(select(attempts.c.id))).scalars())
        assert exam is not None
        await core.writes.run(RescoreChunk("mock-1", ids[:1], Scorer(exam), Scorer(old)))

        # Before the lease runs out nobody else may take it.
        second = another_worker(core)
        assert not await second.run_once()
        server.clock.advance(core.settings.job_lease_seconds + 1)
        assert await second.run_once(), "the expired lease is claimed again"

        async def noop(_: object) -> None:
            raise AssertionError("a worker that lost its lease must not finish the job")

        assert await core.writes.run(Complete(job["id"], "dead", core.clock.now(), noop)) is False
        while await second.run_once():  # ranks and analytics that the regrade enqueued
            pass
        after = await results(server)
        history = (await server.admin("GET", "/exams/mock-1/key")).json()["history"]
        expected = await from_journal(server)
        for cid in ANSWERS:
            assert after[cid]["score"] == expected[cid].whole.score
        assert history[-1]["status"] == "done"

        # Running the same regrade once more changes nothing, impact included.
        await core.writes.run(Enqueue(core, ["mock-1"], "regrade"))
        while await second.run_once():
            pass
        assert await results(server) == after
        assert (await server.admin("GET", "/exams/mock-1/key")).json()["history"] == history
        async with core.store.read() as conn:
            rows = (
                await conn.execute(
                    select(jobs.c.kind, jobs.c.status, jobs.c.tries).order_by(jobs.c.id)
                )
            ).all()
        assert all(r.status == "done" for r in rows)
        assert [r.tries for r in rows if r.kind == "regrade"] == [2, 1]


async def test_two_workers_on_one_postgresql_never_claim_the_same_job(
    database: str, tmp_path: Path
) -> None:
    if not database.startswith("postgresql"):
        pytest.skip("SQLite has one writer: claims are serialised by BEGIN IMMEDIATE")
    clock = ManualClock()
    settings = helpers.test_settings(database, tmp_path, writers=2)
    cores = [Core.create(settings, clock) for _ in range(2)]
    for c in cores:
        await c.start(background=False)
    try:
        await cores[0].writes.run(Enqueue(cores[0], [f"exam-{i}" for i in range(200)], "noop"))
        claimed: dict[str, list[int]] = {"a": [], "b": [], "c": [], "d": []}
        lease = 3600 * MICROS

        async def worker(core: Core, name: str) -> None:
            while True:
                job = await core.writes.run(Claim(name, clock.now(), lease))
                if job is None:
                    return
                claimed[name].append(job["id"])

        await asyncio.gather(
            worker(cores[0], "a"),
            worker(cores[1], "b"),
            worker(cores[0], "c"),
            worker(cores[1], "d"),
        )
        every = [j for ids in claimed.values() for j in ids]
        assert len(every) == 200 and len(set(every)) == 200, "each job claimed exactly once"
        assert claimed["a"] + claimed["c"] and claimed["b"] + claimed["d"], (
            "both processes took part"
        )
    finally:
        for c in cores:
            await c.stop()
