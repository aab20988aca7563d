"""Analytics and regrade at scale: 10,000 attempts × 200 questions, on SQLite and PostgreSQL.

Rows are generated straight into the database (multi-row inserts, not HTTP), scored by
the same code the server uses, so the stored totals are exactly what saves would have
left. Then it times the analytics document (`reports.compute`) and a regrade after a key
change that moves two questions (`regrade.handle` and its finish), while 20 students of
another exam keep saving through the in-process app, and prints a table with the save
p99 of that other exam before (idle) and while each job runs.

The exam also has a drawn section (a pool, docs/exam-format.md): `--pool 40 --draw 20`
by default, so each candidate answers 200 + 20 questions and the analytics restrict
each pool question to the attempts given it; the key change moves a pool question too.
`--pool 0` gives the set without a pool that the first figures were measured on.

A share of the 200 questions are written answers marked by a person (`--manual 0.2` by
default: every fifth question is a manual `text` question of 10 marks). They are loaded
unmarked (pending, as submitted attempts leave them), then the bench marks every script
before the analytics, through the service PUT .../marks uses (`Marks.mark_all`: the same
checks and the same write op, 500 marks a transaction), as the admin, and times it.
`--manual 0` gives the set without written answers.

    .venv/bin/python bench/bench_analytics.py [--attempts 10000] [--questions 200]
        [--pool 40] [--draw 20] [--manual 0.2]
        [--sqlite PATH] [--pg postgresql://postgres@127.0.0.1:5432/examvault_bench]
"""

# Row literals are spelled out one per line where that reads best, as in tests.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from examvault.clock import MICROS, SystemClock
from examvault.core import Core
from examvault.domain.exams import given, left_out, parse_definition
from examvault.domain.key_changes import parse_key_change
from examvault.domain.rescoring import Scorer
from examvault.services.markers import ADMIN_MARKER
from examvault.settings import Settings
from examvault.store.migrate import upgrade
from examvault.store.tables import answers, attempts, candidates, exams
from examvault.web.app import create_app

EXAM = "bench-1"
ROWS_PER_INSERT = 2000


MANUAL_MARKS = 10  # the maximum of a written answer; marks go in steps of 1/2


def is_manual(i: int, share: float) -> bool:
    """Whether question i is a written answer: spread evenly, `share` of them (0.2: every
    fifth)."""
    return int((i + 1) * share) > int(i * share)


def definition(questions: int, pool: int = 0, draw: int = 0, manual: float = 0) -> dict[str, Any]:
    opts = [{"id": o, "text": o} for o in "ABCD"]
    qs: list[dict[str, Any]] = []
    for i in range(questions):
        kind = i % 4
        if is_manual(i, manual):
            qs.append(
                {
                    "id": f"q{i}",
                    "type": "text",
                    "text": f"Explain topic {i}.",
                    "marking": {"correct": MANUAL_MARKS, "manual": True},
                }
            )
        elif kind in (0, 1):
            qs.append(
                {
                    "id": f"q{i}",
                    "type": "single",
                    "options": opts,
                    "answer": "ABCD"[i % 4],
                    "marking": "plus4_minus1",
                }
            )
        elif kind == 2:
            qs.append(
                {
                    "id": f"q{i}",
                    "type": "multiple",
                    "options": opts,
                    "answer": ["A", "C"],
                    "marking": "jee_advanced_multi",
                }
            )
        else:
            qs.append(
                {
                    "id": f"q{i}",
                    "type": "numeric",
                    "answer": {"min": 2, "max": 3},
                    "marking": "gate_nat_2",
                }
            )
    half = questions // 2
    sections: list[dict[str, Any]] = [
        {"id": "one", "questions": qs[:half]},
        {"id": "two", "questions": qs[half:]},
    ]
    if pool:
        sections.append({"id": "pool", "draw": draw, "questions": [
            {"id": f"p{i}", "type": "single", "options": opts, "answer": "ABCD"[i % 4],
             "marking": "plus4_minus1"} for i in range(pool)]})  # fmt: skip
    return {"id": EXAM, "title": "Benchmark", "duration_seconds": 3600, "sections": sections}


def response(rng: random.Random, qid: int, skill: float, manual: float = 0) -> str | None:
    if rng.random() < 0.08:
        return None
    if is_manual(qid, manual):
        # What the bench's marker will give is written in the answer (it cannot know
        # whose script it reads): half-marks up to 10, following the candidate's skill.
        mark = min(2 * MANUAL_MARKS, max(0, round(skill * 2 * MANUAL_MARKS + rng.gauss(0, 3))))
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
        return orjson.dumps(f"worth {mark}/2: {words}").decode()
    kind = qid % 4
    right = rng.random() < skill
    if kind in (0, 1):
        return '"' + ("ABCD"[qid % 4] if right else rng.choice("ABCD")) + '"'
    if kind == 2:
        return '["A","C"]' if right else rng.choice(['["A"]', '["B"]', '["A","B"]', '["C"]'])
    return "2.5" if right else rng.choice(["1", "4", "3.5"])


def pool_response(rng: random.Random, i: int, skill: float) -> str | None:
    if rng.random() < 0.08:
        return None
    return '"' + ("ABCD"[i % 4] if rng.random() < skill else rng.choice("ABCD")) + '"'


WORDS = [
    "light",
    "scatters",
    "because",
    "short",
    "wavelengths",
    "bend",
    "more",
    "than",
    "long",
    "ones",
    "in",
    "air",
]


def judge(question_id: str, response: Any) -> tuple[Fraction, str | None]:
    """The bench's marker: the mark written at the start of the answer (see `response`)."""
    mark = Fraction(response.removeprefix("worth ").partition(":")[0])
    return mark, ("Good." if mark >= MANUAL_MARKS / 2 else None)


async def populate(
    core: Core, n: int, questions: int, pool: int, draw: int, manual: float = 0
) -> None:
    now = core.clock.now()
    await core.exams.put(parse_definition(definition(questions, pool, draw, manual)), "bench")
    # Sat and closed three hours ago; the key change comes later (challenges follow the
    # exam). Attempts submitted within minutes of a change are rescored from scratch.
    now -= 3 * 3600 * MICROS
    async with core.store.read() as conn:
        exam = await core.catalog.current(conn, EXAM)
    assert exam is not None
    scorer = Scorer(exam)
    rng = random.Random(7)
    cand_rows, attempt_rows, answer_rows = [], [], []
    for i in range(n):
        cid = f"C{i:06d}"
        aid = f"a{i:031d}"
        skill = rng.random()
        cand_rows.append(
            {
                "exam_id": EXAM,
                "id": cid,
                "name": cid,
                "token_hash": f"{i:064d}",
                "registered_at": now,
            }
        )
        entries = []
        sheet = [(f"q{q}", response(rng, q, skill, manual)) for q in range(questions)]
        if pool:  # the candidate's own draw, as the server computes it
            sheet += [(qid, pool_response(rng, int(qid[1:]), skill))
                      for qid in given(exam, cid, exam.sections[-1])]  # fmt: skip
        for seq, (qid, text) in enumerate(sheet, start=1):
            if text is None:
                continue
            e = scorer.entry(qid, text)
            entries.append(e)
            answer_rows.append({
                "attempt_id": aid, "question_id": qid, "seq": seq, "response": text,
                "marked": False, "time_spent_ms": rng.randint(5_000, 120_000),
                "outcome": e.outcome, "score": e.text, "saved_at": now,
            })  # fmt: skip
        totals = scorer.totals(entries, left_out(exam, cid))
        attempt_rows.append({
            "id": aid, "exam_id": EXAM, "candidate_id": cid, "exam_version": 1,
            "status": "submitted", "started_at": now, "deadline": now, "end_at": now,
            "submitted_at": now, "submit_kind": "manual", "last_seq": len(sheet),
            "answered": len(entries), "totals": totals.dumps(), "key_version": 1,
        })  # fmt: skip
    async with core.store.write() as conn:
        for table, rows in (
            (candidates, cand_rows),
            (attempts, attempt_rows),
            (answers, answer_rows),
        ):
            for start in range(0, len(rows), ROWS_PER_INSERT):
                await conn.execute(table.insert(), rows[start : start + ROWS_PER_INSERT])
        await conn.execute(exams.update().where(exams.c.id == EXAM).values(closed_at=now))


OTHER = "other-1"
ADMIN = "bench-admin-token-0123456789abcdef"
STUDENTS = 20  # students of the other exam, each saving about every PAUSE seconds
PAUSE = 0.1


class SaveLoad:
    """Saves of ANOTHER exam through the in-process app, timed one by one.

    What the issue asks the heavy jobs not to do is block other exams: this keeps a
    small, steady stream of saves going (STUDENTS students, one answer every PAUSE s
    each) and records each save's latency under the phase that was running.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.phase = "idle"
        self.latencies: dict[str, list[float]] = {}
        self.failed = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        exam = definition(20) | {"id": OTHER, "title": "Other exam"}
        (await self.client.post("/api/v1/exams", json=exam, headers=auth)).raise_for_status()
        people = [{"id": f"O{i:04d}", "name": f"O{i}"} for i in range(STUDENTS)]
        r = await self.client.post(
            f"/api/v1/exams/{OTHER}/candidates", json={"candidates": people}, headers=auth
        )
        r.raise_for_status()
        for c in r.json()["candidates"]:
            token = {"Authorization": f"Bearer {c['token']}"}
            view = await self.client.post(f"/api/v1/exams/{OTHER}/attempts", headers=token)
            view.raise_for_status()
            self._tasks.append(asyncio.create_task(self._student(token, view.json()["attempt_id"])))

    async def _student(self, token: dict[str, str], attempt_id: str) -> None:
        rng = random.Random(attempt_id)
        seq = 0
        while not self._stop.is_set():
            seq += 1
            item = {
                "question_id": f"q{rng.randrange(20) // 4 * 4}",
                "response": rng.choice("ABCD"),
                "seq": seq,
            }
            phase = self.phase
            t = time.perf_counter()
            r = await self.client.put(
                f"/api/v1/attempts/{attempt_id}/answers", json={"answers": [item]}, headers=token
            )
            if r.status_code == 200:
                self.latencies.setdefault(phase, []).append(time.perf_counter() - t)
            else:
                self.failed += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), PAUSE * (0.5 + rng.random()))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def p99_ms(self, phase: str) -> float:
        values = sorted(self.latencies.get(phase, []))
        if not values:
            return float("nan")
        return 1000 * values[min(len(values) - 1, int(0.99 * len(values)))]


async def run(
    url: str, n: int, questions: int, pool: int, draw: int, manual: float = 0
) -> dict[str, float]:
    await asyncio.to_thread(upgrade, url)
    settings = Settings(
        database_url=url,
        data_dir=Path(tempfile.mkdtemp()),
        run_workers=False,
        migrate_on_start=False,
        admin_token=ADMIN,
        rate_burst=100_000,
        rate_per_second=100_000.0,
    )
    app = create_app(settings, clock=SystemClock())
    async with app.router.lifespan_context(app):
        core: Core = app.state.core
        t = time.perf_counter()
        await populate(core, n, questions, pool, draw, manual)
        times = {"load": time.perf_counter() - t}
        # The bulk load is one transaction of ~2 M rows, something a server never writes.
        # PostgreSQL: autovacuum analyzes after such a load within a minute; without
        # statistics the planner picks plans a running server never sees for long.
        # SQLite: the load leaves a WAL of hundreds of MB that the next commits would
        # checkpoint (the auto-checkpoint keeps a serving database's WAL near 4 MB).
        async with core.store.write_engine.connect() as conn:
            driver: Any = (await conn.get_raw_connection()).driver_connection
            if core.store.is_postgresql:
                await driver.execute("ANALYZE")
            else:  # outside a transaction: SQLite checkpoints only there
                await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            load = SaveLoad(client)
            await load.start()
            await asyncio.sleep(3)
            # Every written answer marked before the analytics (as after a marking day).
            load.phase = "marking"
            t = time.perf_counter()
            times["scripts"] = await core.marks.mark_all(EXAM, ADMIN_MARKER, judge)
            times["marking"] = time.perf_counter() - t
            assert times["scripts"] > 0 or not manual
            if manual:
                load.phase = "pages"
                times.update(await marking_pages(client))
            load.phase = "analytics"
            t = time.perf_counter()
            document, _ = await core.analytics.compute(EXAM)
            times["analytics"] = time.perf_counter() - t
            assert document["submitted"] == n
            load.phase = "between"
            changes: list[dict[str, Any]] = [
                {"question_id": "q0", "answer": ["A", "B"]}, {"question_id": "q3", "drop": True}]  # fmt: skip
            if pool:  # a pool question: only the attempts given it move
                changes.append({"question_id": "p1", "answer": "A"})
            body = parse_key_change({"changes": changes})
            status, _ = await core.keys.change(EXAM, body, "bench")
            assert status == 202
            load.phase = "regrade"
            t = time.perf_counter()
            finish = await core.worker.handlers["regrade"]({"id": 0, "exam_id": EXAM})
            await core.writes.run(_Finish(finish))
            times["regrade"] = time.perf_counter() - t
            load.phase = "after"
            await asyncio.sleep(1)
            await load.stop()
        for phase in ("idle", "marking", "analytics", "regrade"):
            times[f"p99_{phase}"] = load.p99_ms(phase)
            times[f"saves_{phase}"] = len(load.latencies.get(phase, []))
        times["failed"] = load.failed
        return times


async def marking_pages(client: httpx.AsyncClient, rounds: int = 40) -> dict[str, float]:
    """The median time (ms) of what a marking page asks, once everything is marked: a page
    of 50 scripts of one question (`GET …/scripts?question_id=…`) and a PUT re-marking 10
    of them with the marks they have (each PUT's ids resolved as any page's would be)."""
    auth = {"Authorization": f"Bearer {ADMIN}"}
    url = f"/api/v1/exams/{EXAM}/scripts"
    first = (await client.get(url, params={"limit": 1}, headers=auth)).json()
    question = first["questions"][0]["id"]
    gets: list[float] = []
    puts: list[float] = []
    after = None
    for _ in range(rounds):
        params = {"question_id": question, "status": "all", "limit": 50}
        t = time.perf_counter()
        r = await client.get(url, params=params | ({"after": after} if after else {}), headers=auth)
        gets.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text
        page = r.json()["scripts"]
        after = r.json()["next"]
        body = {"marks": [{"script_id": s["script_id"], "mark": s["mark"]} for s in page[:10]]}
        t = time.perf_counter()
        r = await client.put(f"/api/v1/exams/{EXAM}/marks", json=body, headers=auth)
        puts.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text
    gets.sort()
    puts.sort()
    return {"get_ms": gets[len(gets) // 2] * 1000, "put_ms": puts[len(puts) // 2] * 1000}


class _Finish:
    """The regrade's last write, without a job row (the bench calls the handler directly)."""

    def __init__(self, finish: Any) -> None:
        self.finish = finish

    async def apply(self, conn: Any) -> None:
        await self.finish(conn)


async def fresh_pg(url: str) -> str:
    base, _, name = url.rpartition("/")
    conn = await asyncpg.connect(base.replace("postgresql://", "postgresql://") + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--attempts", type=int, default=10_000)
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--pool", type=int, default=40, help="questions of the drawn section (0: none)")
    p.add_argument("--draw", type=int, default=20, help="how many of the pool each candidate gets")
    p.add_argument(
        "--manual", type=float, default=0.2, help="share of written answers, marked by the bench"
    )
    p.add_argument("--sqlite", default=None, help="SQLite file (default: a temporary one)")
    p.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/examvault_bench")
    p.add_argument("--skip-pg", action="store_true")
    args = p.parse_args()
    sqlite_path = args.sqlite or str(Path(tempfile.mkdtemp()) / "bench.db")
    rows: list[tuple[str, dict[str, float]]] = []
    shape = (args.attempts, args.questions, args.pool, args.draw, args.manual)
    rows.append(("sqlite", asyncio.run(run(f"sqlite:///{sqlite_path}", *shape))))
    if not args.skip_pg:
        url = asyncio.run(fresh_pg(args.pg))
        rows.append(("postgresql", asyncio.run(run(url, *shape))))
    pooled = f" + a pool drawing {args.draw} of {args.pool}" if args.pool else ""
    written = f", {args.manual:.0%} of them written answers" if args.manual else ""
    print(f"\n{args.attempts} attempts × {args.questions} questions{written}{pooled}")
    print(
        "| store | load rows (s) | marking (scripts, s) | page GET / PUT of 10 (ms) "
        "| analytics (s) | regrade (s) "
        "| other exam's save p99 (ms): idle / marking / analytics / regrade "
        "| saves timed | failed |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for store, t in rows:
        saves = sum(t[f"saves_{p}"] for p in ("idle", "marking", "analytics", "regrade"))
        print(
            f"| {store} | {t['load']:.1f} | {t['scripts']:.0f}, {t['marking']:.1f} "
            f"| {t.get('get_ms', 0):.0f} / {t.get('put_ms', 0):.0f} "
            f"| {t['analytics']:.2f} | {t['regrade']:.2f} "
            f"| {t['p99_idle']:.0f} / {t['p99_marking']:.0f} / {t['p99_analytics']:.0f} "
            f"/ {t['p99_regrade']:.0f} | {saves:.0f} | {t['failed']:.0f} |"
        )


if __name__ == "__main__":
    main()
