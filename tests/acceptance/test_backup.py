"""`examvault backup` of a live server is a snapshot, and `examvault restore` brings it back.

A real server takes saves from students without a pause; in the middle of that load the
backup command runs as a separate process. Every answer acknowledged before the command
was started must be in the backup, as that answer or a later one the same student sent
before the backup ended (never one sent after), with the score the marking code gives
it; every attempt's totals in the backup must equal the totals recomputed from the
answers the backup holds, which a copy torn between two commits would not. The backup
is restored into a fresh database (refused a second time without --force), which a new
server then serves to the same candidates. Every wait is on an event or a process; none
assumes how long anything takes.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from examvault.domain.answers import decode_response, normal_form
from examvault.domain.marking import score
from examvault.domain.totals import Totals
from examvault.loadtest.server import ServerProcess
from examvault.loadtest.verify import compiled
from examvault.store import tables
from examvault.store.engine import open_store
from tests.conftest import PG_HOST, PG_PORT, PG_USER, _blocking, _truncate
from tests.helpers import bearer, small_exam, to_json

pytestmark = pytest.mark.slow
STUDENTS = 12
QUESTIONS = [f"{t}{i}" for t in "smn" for i in range(10)]  # small_exam(n=10)
ACKS_BEFORE_BACKUP = STUDENTS * 25
UNLIMITED = {"EXAMVAULT_RATE_BURST": "1000000", "EXAMVAULT_RATE_PER_SECOND": "1000000"}


class Student:
    """Saves one change after another, each with the next seq, until told to stop."""

    def __init__(self, token: str, attempt_id: str, rng: random.Random) -> None:
        self.token, self.attempt_id, self.rng = token, attempt_id, rng
        self.seq = 0
        self.history: dict[int, dict[str, Any]] = {}  # every item sent, by seq
        self.acked: dict[str, int] = {}  # question → highest seq acknowledged

    def change(self) -> dict[str, Any]:
        self.seq += 1
        qid = self.rng.choice(QUESTIONS)
        response = {"s": self.rng.choice("ABCD"), "m": sorted(self.rng.sample("ABCD", 2)),
                    "n": f"{self.rng.uniform(2, 3):.2f}"}[qid[0]]  # fmt: skip
        if self.rng.random() < 0.05:
            response = None  # cleared
        item = {"question_id": qid, "response": response, "seq": self.seq}
        self.history[self.seq] = item
        return item

    async def run(self, client: httpx.AsyncClient, stop: asyncio.Event, acked: Counter) -> None:
        while not stop.is_set():
            item = self.change()
            r = await client.put(f"/api/v1/attempts/{self.attempt_id}/answers",
                                 json={"answers": [item]}, headers=bearer(self.token))  # fmt: skip
            if r.status_code == 503:  # the server pushing back: wait as it says, then go on
                await asyncio.sleep(float(r.headers.get("retry-after", 1)) * self.rng.random())
                continue
            assert r.status_code == 200, r.text
            if item["seq"] in set(r.json()["accepted"]) | set(r.json()["stale"]):
                qid = item["question_id"]
                self.acked[qid] = max(self.acked.get(qid, 0), item["seq"])
                acked.add()


class Counter:
    """Acknowledged saves so far, and an event set once they reach `target`."""

    def __init__(self, target: int) -> None:
        self.n, self.target, self.reached = 0, target, asyncio.Event()

    def add(self) -> None:
        self.n += 1
        if self.n >= self.target:
            self.reached.set()


async def examvault(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "examvault", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def pg_target() -> Iterator[str]:
    """A fresh, empty PostgreSQL database to restore into, dropped afterwards."""
    name = f"examvault_restore_{uuid.uuid4().hex[:8]}"
    _blocking(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        _blocking(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
async def test_a_backup_taken_under_load_holds_every_acknowledged_answer(
    store: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if store == "sqlite":
        live, target = f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'back.db'}"
    else:
        live = request.getfixturevalue("pg_url")
        await _truncate(live)
        target = request.getfixturevalue("pg_target")
    backup_file = tmp_path / f"examvault-{store}.backup"
    exam = small_exam(n=10)

    server = ServerProcess("examvault", live, tmp_path, UNLIMITED)
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            students = await _students(client, server.admin_token, exam)
            stop, acked = asyncio.Event(), Counter(ACKS_BEFORE_BACKUP)
            load = [asyncio.create_task(s.run(client, stop, acked)) for s in students]
            await _first(acked.reached.wait(), load)
            # Everything acknowledged by now was committed before the backup process
            # exists, so before its snapshot: it must all be in the backup.
            before = {s.attempt_id: dict(s.acked) for s in students}
            acks_at_start = acked.n
            rc, out, err = await _first(examvault("backup", str(backup_file), "--database", live),
                                        load)  # fmt: skip
            # Nothing sent after this can be in the backup.
            sent_by_end = {s.attempt_id: s.seq for s in students}
            acks_during = acked.n - acks_at_start
            stop.set()
            await asyncio.gather(*load)
    finally:
        await asyncio.to_thread(server.stop)
    assert rc == 0, err
    print(f"{store}: {acks_at_start} saves acknowledged before the backup, {acks_during} while "
          f"it ran; {out.strip()}")  # fmt: skip
    assert re.search(rf"\b{STUDENTS} attempts\b", out) and "1 exams" in out, out
    assert backup_file.stat().st_mode & 0o777 == 0o600

    rc, out, err = await examvault("restore", str(backup_file), "--database", target)
    assert rc == 0, err
    assert re.search(rf"\b{STUDENTS} attempts\b", out), out
    rc, _, err = await examvault("restore", str(backup_file), "--database", target)
    assert rc == 2 and "already holds data" in err, err
    rc, _, err = await examvault("restore", str(backup_file), "--database", target, "--force")
    assert rc == 0, err

    stored = await _read(target)
    check_snapshot(exam, students, before, sent_by_end, stored)
    await _served_again(target, tmp_path, students, stored)


async def _students(client: httpx.AsyncClient, admin: str, exam: dict[str, Any]) -> list[Student]:
    r = await client.post("/api/v1/exams", json=to_json(exam), headers=bearer(admin))
    assert r.status_code == 201, r.text
    ids = [f"S{i:03d}" for i in range(STUDENTS)]
    r = await client.post(f"/api/v1/exams/{exam['id']}/candidates", headers=bearer(admin),
                          json={"candidates": [{"id": i} for i in ids]})  # fmt: skip
    assert r.status_code == 201, r.text
    students = []
    for c in r.json()["candidates"]:
        started = await client.post(f"/api/v1/exams/{exam['id']}/attempts",
                                    headers=bearer(c["token"]))  # fmt: skip
        assert started.status_code == 201, started.text
        students.append(Student(c["token"], started.json()["attempt_id"], random.Random(c["id"])))
    return students


async def _first(awaitable: Any, load: list[asyncio.Task[None]]) -> Any:
    """Await `awaitable`, failing at once if a student's loop fails meanwhile."""
    waiting = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait([waiting, *load], return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not waiting:
            waiting.cancel()
            task.result()  # raises the student's failure
            raise AssertionError("a student stopped saving before being told to")
    return waiting.result()


async def _read(url: str) -> dict[str, Any]:
    """The answers and attempts of a database, read directly through the store layer."""
    store = open_store(url)
    try:
        async with store.read() as conn:
            answers = (await conn.execute(select(tables.answers))).mappings().all()
            attempts = (await conn.execute(select(tables.attempts))).mappings().all()
    finally:
        await store.dispose()
    by_attempt: dict[str, dict[str, Any]] = {}
    for row in answers:
        by_attempt.setdefault(row["attempt_id"], {})[row["question_id"]] = dict(row)
    return {"answers": by_attempt, "attempts": {a["id"]: dict(a) for a in attempts}}


def check_snapshot(
    exam_doc: dict[str, Any],
    students: list[Student],
    before: dict[str, dict[str, int]],
    sent_by_end: dict[str, int],
    stored: dict[str, Any],
) -> None:
    exam = compiled(exam_doc)
    assert set(stored["attempts"]) == {s.attempt_id for s in students}
    checked = 0
    for s in students:
        rows = stored["answers"].get(s.attempt_id, {})
        for qid, seq in before[s.attempt_id].items():
            row = rows.get(qid)
            assert row is not None, f"{s.attempt_id}: acknowledged {qid} seq {seq} is missing"
            assert seq <= row["seq"] <= sent_by_end[s.attempt_id], (qid, seq, row["seq"])
            mine = s.history[row["seq"]]
            assert mine["question_id"] == qid
            q = exam.by_id[qid]
            assert decode_response(q, row["response"]) == normal_form(q, mine["response"])
            checked += 1
        outcomes = {}
        for qid, row in rows.items():
            assert row["seq"] <= sent_by_end[s.attempt_id], (qid, row["seq"])
            q = exam.by_id[qid]
            outcome, points = score(q.rule, decode_response(q, row["response"]))
            assert (row["outcome"], Fraction(row["score"])) == (outcome, points), (qid, row)
            outcomes[qid] = (outcome, points)
        held = Totals.loads(stored["attempts"][s.attempt_id]["totals"])
        expected = Totals.of(exam, outcomes)
        assert held.whole.as_dict() == expected.whole.as_dict(), s.attempt_id
        assert {k: p.as_dict() for k, p in held.sections.items()} == {
            k: p.as_dict() for k, p in expected.sections.items()
        }, s.attempt_id
    assert checked >= len(QUESTIONS)  # the load did acknowledge answers before the backup


async def _served_again(
    url: str, tmp_path: Path, students: list[Student], stored: dict[str, Any]
) -> None:
    """A server on the restored database shows each candidate the answers it holds."""
    data = tmp_path / "restored-server"
    data.mkdir()
    server = ServerProcess("examvault", url, data, UNLIMITED)
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for s in students:
                r = await client.get(f"/api/v1/attempts/{s.attempt_id}", headers=bearer(s.token))
                assert r.status_code == 200, r.text
                seqs = {q: a["seq"] for q, a in r.json()["answers"].items()}
                assert seqs == {q: a["seq"] for q, a in stored["answers"][s.attempt_id].items()}
    finally:
        await asyncio.to_thread(server.stop)
