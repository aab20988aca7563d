"""Durable before acknowledged, proven by killing a real server in the middle of a load.

Students save through HTTP to a real `examvault serve`; the process is SIGKILLed while
saves are in flight, then restarted on the same database. Every answer acknowledged
before the kill must be found afterwards, and the students, retrying what was never
acknowledged, must end with every answer stored.
"""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from examvault.loadtest.server import ServerProcess
from tests.helpers import ADMIN, bearer, small_exam, to_json

pytestmark = pytest.mark.slow
STUDENTS = 16
SAVES_EACH = 120


class Student:
    """A client that keeps every change until it is acknowledged, as a real page does."""

    def __init__(self, cid: str, token: str, attempt_id: str, rng: random.Random) -> None:
        self.cid, self.token, self.attempt_id, self.rng = cid, token, attempt_id, rng
        self.acked: dict[str, int] = {}
        self.latest: dict[str, dict[str, Any]] = {}
        self.pending: list[dict[str, Any]] = []

    def change(self, seq: int) -> None:
        qid = self.rng.choice([f"{t}{i}" for t in "smn" for i in range(10)])
        response = {"s": self.rng.choice("ABCD"), "m": self.rng.sample("ABCD", 2),
                    "n": f"{self.rng.uniform(2, 3):.2f}"}[qid[0]]  # fmt: skip
        item = {"question_id": qid, "response": response, "seq": seq}
        self.latest[qid] = item
        self.pending.append(item)

    async def flush(self, client: httpx.AsyncClient) -> bool:
        batch = self.pending[:5]
        try:
            r = await client.put(f"/api/v1/attempts/{self.attempt_id}/answers",
                                 json={"answers": batch}, headers=bearer(self.token))  # fmt: skip
        except httpx.HTTPError:
            await asyncio.sleep(0.05 + self.rng.random() * 0.1)
            return False
        if r.status_code != 200:
            assert r.status_code == 503, r.text
            await asyncio.sleep(float(r.headers.get("retry-after", 1)) * self.rng.random())
            return False
        done = set(r.json()["accepted"]) | set(r.json()["stale"])
        for it in batch:
            if it["seq"] in done:
                self.acked[it["question_id"]] = max(self.acked.get(it["question_id"], 0), it["seq"])
        self.pending = [it for it in self.pending if it["seq"] not in done]
        return True


async def run_students(url: str, students: list[Student], stop: threading.Event) -> None:
    limits = httpx.Limits(max_connections=STUDENTS)
    async with httpx.AsyncClient(base_url=url, timeout=10, limits=limits) as client:

        async def one(s: Student) -> None:
            for seq in range(1, SAVES_EACH + 1):
                s.change(seq)
                if seq % 3 == 0:
                    await s.flush(client)
            while s.pending and not stop.is_set():
                await s.flush(client)

        await asyncio.gather(*(one(s) for s in students))


def stored_answers(url: str, s: Student) -> dict[str, int]:
    r = httpx.get(f"{url}/api/v1/attempts/{s.attempt_id}", headers=bearer(s.token), timeout=10)
    r.raise_for_status()
    return {q: a["seq"] for q, a in r.json()["answers"].items()}


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_every_acknowledged_answer_survives_a_kill(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database = f"sqlite:///{tmp_path / 'crash.db'}" if store == "sqlite" else _fresh_pg(request)
    server = ServerProcess("examvault", database, tmp_path, admin_token=ADMIN)
    server.start()
    try:
        admin = httpx.Client(base_url=server.url, headers=bearer(ADMIN), timeout=10)
        assert admin.post("/api/v1/exams", json=to_json(small_exam(n=10))).status_code == 201
        ids = [f"S{i:03d}" for i in range(STUDENTS)]
        reg = admin.post("/api/v1/exams/mock-1/candidates",
                         json={"candidates": [{"id": i} for i in ids]}).json()  # fmt: skip
        students = []
        for c in reg["candidates"]:
            r = httpx.post(f"{server.url}/api/v1/exams/mock-1/attempts",
                           headers=bearer(c["token"]), timeout=10)  # fmt: skip
            students.append(Student(c["id"], c["token"], r.json()["attempt_id"],
                                    random.Random(c["id"])))  # fmt: skip

        stop = threading.Event()
        load = threading.Thread(
            target=lambda: asyncio.run(run_students(server.url, students, stop)), daemon=True
        )
        load.start()
        # kill once a good share of the saves has been acknowledged
        for _ in range(300):
            if sum(len(s.acked) for s in students) >= STUDENTS * 10:
                break
            threading.Event().wait(0.02)
        server.kill()
        acked_at_kill = {s.cid: dict(s.acked) for s in students}
        assert sum(len(a) for a in acked_at_kill.values()) > 0
        server.start()
        for s in students:
            stored = stored_answers(server.url, s)
            for qid, seq in acked_at_kill[s.cid].items():
                assert stored.get(qid, 0) >= seq, f"{s.cid} lost {qid} seq {seq} in the crash"
        load.join(120)
        stop.set()
        assert not load.is_alive(), "students could not deliver their answers after the restart"
        for s in students:
            assert not s.pending
            stored = stored_answers(server.url, s)
            assert stored == {q: it["seq"] for q, it in s.latest.items()}
    finally:
        server.stop()


def _fresh_pg(request: pytest.FixtureRequest) -> str:
    import asyncio as aio

    from tests.conftest import _truncate

    url: str = request.getfixturevalue("pg_url")
    aio.run(_truncate(url))
    return url
