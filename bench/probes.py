"""Short probes of one path each, for profiling work: the numbers docs/performance.md
quotes for the writer's batch, a burst of submits and a burst of starts.

    .venv/bin/python bench/probes.py batch  [--store sqlite|postgresql] [--size 64] [--rounds 200]
    .venv/bin/python bench/probes.py batch --store postgresql --statements   # its CPU by statement
    .venv/bin/python bench/probes.py requests [--store …] [--size 64] [--rounds 300] [--profile F]
    .venv/bin/python bench/probes.py submits [--store …] [--n 4000]
    .venv/bin/python bench/probes.py starts  [--store …] [--n 3000] [--rich]
    .venv/bin/python bench/probes.py live    [--store …] [--rate 2000] [--seconds 5] [--rounds 4]
    .venv/bin/python bench/probes.py saves   [--store …] [--seconds 5] [--rounds 4] [--workers 1]
    .venv/bin/python bench/probes.py scaling [--store postgresql] [--seconds 5] [--rounds 3]
    SPY=profile.txt .venv/bin/python bench/probes.py submits   # also py-spy the server (raw)

`batch` runs the app in-process (no HTTP) and times the group-commit writer's batches
of one-answer saves; `requests` sends one-answer saves through the whole app
in-process (no HTTP) and gives the CPU a save costs our code, with cProfile's counts
if asked; `submits` and `starts` start a real server, prepare N attempts (or N
registered candidates) and fire them all at once from 2 client processes; `live`
starts a real server and 1,000 attempts and polls their `live` with wrk at `--rate` a
second, alone (the server's CPU per poll), then saturating saves alone and beside the
polls in alternating runs (the ratio issue 11 asks about, on one server in one run);
`saves` runs wrk's saturating saves `--rounds` times and splits the machine's CPU
between the server, the database server's processes and wrk (per save, and in
cores); `scaling` runs `saves` on a server of one process and on one of two, in turn,
and gives the ratio of their rates (issue 13 asks ≥ 1.6 on PostgreSQL). Each prints
one table row (`--rich`: starts of a paper with 60 pictures and 200 formulas, to
compare with the plain one). Single runs vary by ±20 % on a shared
2-core machine: repeat them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import psutil
import uvloop
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench.run`, `tests.helpers`

from bench.run import Database
from examvault.domain import diagrams
from examvault.domain.answers import parse_items
from examvault.loadtest import steady, wrk
from examvault.loadtest.scenarios import exam_document
from examvault.loadtest.server import ServerProcess
from examvault.loadtest.student import Http, Recorder, _nodelay_socket
from examvault.services.journal import AttemptOp


@contextlib.asynccontextmanager
async def _app_with_seats(database: str, tmp: Path) -> AsyncIterator[tuple[Any, list[Any]]]:
    """The app in-process (no HTTP) with 1,000 started attempts of a 10-question exam
    "probe": (candidate id, token, attempt id) each."""
    from tests.helpers import running

    async with running(database, tmp, migrate_on_start=True) as server:
        await server.create_exam(exam_document("probe", 10, 36000, 30))
        tokens = await server.register("probe", *[f"c{i}" for i in range(1000)])
        yield (
            server,
            [
                (cid, token, (await server.start("probe", token))["attempt_id"])
                for cid, token in tokens.items()
            ],
        )


def _one_answer(seq: int) -> dict[str, Any]:
    """The save of an attempt's `seq`-th one-answer save: one of the single-choice
    questions q000, q003, q006 in turn, answered B."""
    return {"question_id": f"q{3 * (seq % 3):03d}", "response": "B", "seq": seq}


@contextlib.contextmanager
def _database_cpu_by_statement(spent: dict[str, float]) -> Iterator[None]:
    """PostgreSQL's CPU seconds spent on each of the batch's statements, added to
    `spent`: the on-CPU time of the writer's backend process (/proc/PID/schedstat, in ns)
    before and after each statement the batch sends."""
    from sqlalchemy.ext.asyncio import AsyncConnection

    from examvault.store.batch_sql import POSTGRESQL, BatchDriver

    pids: dict[int, int] = {}

    def on_cpu(pid: int) -> int:  # a read of /proc: no disk behind it
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0])

    async def measured(raw: Any, name: str, call: Any) -> Any:
        if id(raw) not in pids:
            pids[id(raw)] = await raw.fetchval("SELECT pg_backend_pid()")
        before = on_cpu(pids[id(raw)])
        out = await call
        spent[name] = spent.get(name, 0.0) + (on_cpu(pids[id(raw)]) - before) / 1e9
        return out

    names = {POSTGRESQL.load_answers: "the answers", POSTGRESQL.load_late: "the late items",
             POSTGRESQL.update_attempts: "the attempts' UPDATE"}  # fmt: skip

    def kind(sql: str) -> str:
        return names.get(sql) or " ".join(sql.split()[:3])[:32]

    async def raw_of(conn: AsyncConnection) -> Any:
        return (await conn.get_raw_connection()).driver_connection

    saved = (BatchDriver.fetch, BatchDriver.execute, BatchDriver.executemany,
             AsyncConnection.exec_driver_sql, AsyncConnection.commit)  # fmt: skip
    fetch, execute, executemany, exec_driver_sql, commit = saved

    async def on_fetch(self: Any, sql: str, params: Any) -> Any:
        return await measured(self._raw, kind(sql), fetch(self, sql, params))

    async def on_execute(self: Any, sql: str, params: Any) -> Any:
        return await measured(self._raw, "the inserts (one statement)", execute(self, sql, params))

    async def on_executemany(self: Any, sql: str, rows: Any) -> Any:
        return await measured(self._raw, kind(sql), executemany(self, sql, rows))

    async def on_exec_driver_sql(self: Any, sql: str, *args: Any, **kw: Any) -> Any:
        call = exec_driver_sql(self, sql, *args, **kw)
        return await measured(await raw_of(self), "the attempts, locked", call)

    async def on_commit(self: Any) -> Any:
        return await measured(await raw_of(self), "COMMIT", commit(self))

    BatchDriver.fetch, BatchDriver.execute, BatchDriver.executemany = (  # type: ignore[method-assign]
        on_fetch, on_execute, on_executemany)  # fmt: skip
    AsyncConnection.exec_driver_sql = on_exec_driver_sql  # type: ignore[method-assign]
    AsyncConnection.commit = on_commit  # type: ignore[method-assign]
    try:
        yield
    finally:
        (BatchDriver.fetch, BatchDriver.execute, BatchDriver.executemany,  # type: ignore[method-assign]
         AsyncConnection.exec_driver_sql, AsyncConnection.commit) = saved  # fmt: skip


async def _batch(
    database: str, tmp: Path, size: int, rounds: int, statements: bool = False
) -> dict[str, Any]:
    """Batches of `size` one-answer saves through the writer in-process. With
    `statements` (PostgreSQL), also PostgreSQL's CPU a save split over the batch's
    statements."""
    spent: dict[str, float] = {}
    async with _app_with_seats(database, tmp) as (server, seats):
        if statements:
            with _database_cpu_by_statement(spent):
                return await _batch_rounds(server, seats, size, rounds, spent)
        return await _batch_rounds(server, seats, size, rounds, spent)


async def _batch_rounds(
    server: Any, seats: list[Any], size: int, rounds: int, spent: dict[str, float]
) -> dict[str, Any]:
    core = server.core
    exam = await core.catalog.get(None, "probe", 1, 1)  # type: ignore[arg-type]
    hist = core.metrics.write_batch_seconds
    before = (hist._sum.get(), sum(b.get() for b in hist._buckets))
    seq: dict[str, int] = {}
    began = time.perf_counter()
    for r in range(rounds):
        ops = []
        for k in range(size):
            cid, _, aid = seats[(r * size + k) % len(seats)]
            seq[aid] = seq.get(aid, 0) + 1
            items = parse_items(
                exam, {"answers": [_one_answer(seq[aid])]}, required=True, max_items=100
            )
            op = AttemptOp("save", aid, "probe", cid, items, core.clock.now())
            ops.append(core.writes.attempt(op))
        await asyncio.gather(*ops)
    elapsed = time.perf_counter() - began
    busy, batches = hist._sum.get() - before[0], sum(b.get() for b in hist._buckets) - before[1]
    saves = size * rounds
    return {
        "saves/s": round(saves / elapsed),
        "batches": int(batches),
        "mean batch": round(saves / batches, 1),
        "ms per batch": round(1000 * busy / batches, 2),
    } | {f"PostgreSQL µs a save: {name}": round(1e6 * v / saves, 1) for name, v in spent.items()}


async def _requests(
    database: str, tmp: Path, size: int, rounds: int, profile: Path | None
) -> dict[str, Any]:
    """One-answer saves through the whole app in-process — the front door, the token
    check, the body, the service, the writer's batch — without HTTP: the CPU a save
    costs our code, `size` at a time. With `profile`, cProfile over the measured rounds
    (the deterministic counts that found the batch's Fraction work; py-spy's samples
    spread it over many lines)."""
    import cProfile
    import pstats

    from examvault.cli import tune_gc

    async with _app_with_seats(database, tmp) as (server, seats):
        seq: dict[str, int] = {}

        async def save(_: str, token: str, attempt_id: str) -> None:
            seq[attempt_id] = seq.get(attempt_id, 0) + 1
            body = orjson.dumps({"answers": [_one_answer(seq[attempt_id])]})
            scope = {
                "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                "http_version": "1.1", "server": ("127.0.0.1", 8000),
                "client": ("127.0.0.1", 5555), "scheme": "http", "root_path": "",
                "method": "PUT", "path": f"/api/v1/attempts/{attempt_id}/answers",
                "raw_path": b"", "query_string": b"", "state": {},
                "headers": [(b"authorization", f"Bearer {token}".encode()),
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())],
            }  # fmt: skip
            messages = [{"type": "http.request", "body": body, "more_body": False}]
            sent: list[Any] = []

            async def receive() -> Any:
                return messages.pop() if messages else {"type": "http.disconnect"}

            async def send(message: Any) -> None:
                sent.append(message)

            await server.app(scope, receive, send)
            if sent[0]["status"] != 200:
                raise RuntimeError(f"a save was answered {sent[0]['status']}: {sent}")

        async def round_of(r: int) -> None:
            await asyncio.gather(*(save(*seats[(r * size + k) % len(seats)]) for k in range(size)))

        for r in range(20):  # caches warm, tables no longer empty
            await round_of(r)
        tune_gc()  # as `examvault serve` does
        profiler = cProfile.Profile() if profile else None
        cpu, began = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for r in range(20, 20 + rounds):
            await round_of(r)
        if profiler:
            profiler.disable()
        cpu, elapsed = time.process_time() - cpu, time.perf_counter() - began
    if profiler and profile:
        with profile.open("w") as out:
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(60)
    n = size * rounds
    return {
        "saves/s": round(n / elapsed),
        "CPU µs a save (all threads)": round(1e6 * cpu / n, 1),
        "profile": str(profile) if profile else "-",
    }


async def _fire(url: str, jobs: list[tuple[str, str, bytes | None]], conns: int) -> Any:
    connector = aiohttp.TCPConnector(limit=conns, socket_factory=_nodelay_socket)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    began = time.time()  # wall clock: the two client processes' windows are compared
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(path: str, token: str, body: bytes | None) -> None:
            began = time.monotonic()
            while True:
                try:
                    async with session.post(
                        f"{url}{path}",
                        data=body,
                        headers={"Authorization": f"Bearer {token}",
                                 "Content-Type": "application/json"},
                    ) as resp:  # fmt: skip
                        await resp.read()
                        code = str(resp.status)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    code = type(exc).__name__
                statuses[code] = statuses.get(code, 0) + 1
                if code in ("200", "201"):
                    break
                await asyncio.sleep(0.2)
            latencies.append(time.monotonic() - began)

        await asyncio.gather(*(one(*job) for job in jobs))
    return latencies, statuses, began, time.time()


def _fire_process(args: tuple[str, list[tuple[str, str, bytes | None]], int]) -> Any:
    return asyncio.run(_fire(*args))


async def _register(url: str, admin: str, n: int, rich: bool) -> tuple[str, list[str]]:
    if rich:
        return _register_rich(url, admin, n)
    http = Http(url, connections=64, recorder=Recorder(), stop_at=time.monotonic() + 300)
    try:
        return await steady.register(http, admin, n, 100, random.Random(1))
    finally:
        await http.close()


PICTURES, FORMULAS_PER_QUESTION = 60, 2


def rich_exam(exam_id: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """loadtest's 100-question exam as a real paper: 60 questions with a picture (2 MiB
    of PNGs in all), every question with two formulas in LaTeX (200), as rich text."""
    doc = exam_document(exam_id, 100, 36000, 30)
    rng = random.Random(3)
    side = 186  # noise does not compress: 186 × 186 grey bytes ≈ 34.6 KB a PNG
    media = {
        f"fig{i:02d}.png": diagrams.png(side, side, [rng.randbytes(side) for _ in range(side)])
        for i in range(PICTURES)
    }
    questions = [q for section in doc["sections"] for q in section["questions"]]
    for i, q in enumerate(questions):
        html = (
            f"<p>{q['text']}: given \\(E = mc^{{2}}\\) and "
            f"\\(\\int_0^1 x^{{{i + 1}}}\\,dx = \\frac{{1}}{{{i + 2}}}\\), find the value.</p>"
        )
        if i < PICTURES:
            html += f'<p><img src="media:fig{i:02d}.png" alt="Figure {i + 1}"></p>'
        q["text"] = {"html": html}
    return doc, media


def _register_rich(url: str, admin: str, n: int) -> tuple[str, list[str]]:
    exam_id = f"rich-{random.randrange(1 << 30):x}"
    doc, media = rich_exam(exam_id)
    auth = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=auth, timeout=120) as http:
        for name, data in media.items():
            r = http.put(f"/exams/{exam_id}/media/{name}", content=data,
                         headers={"Content-Type": "image/png"})  # fmt: skip
            assert r.status_code in (200, 201), r.text
        r = http.post("/exams", json=doc)
        assert r.status_code == 201, r.text
        tokens: list[str] = []
        for i in range(0, n, 1000):
            chunk = [{"id": f"S{k:05d}"} for k in range(i, min(n, i + 1000))]
            r = http.post(f"/exams/{exam_id}/candidates", json={"candidates": chunk})
            assert r.status_code == 201, r.text
            tokens += [c["token"] for c in r.json()["candidates"]]
    return exam_id, tokens


def _burst(kind: str, database: str, tmp: Path, n: int, rich: bool = False) -> dict[str, Any]:
    server = ServerProcess("examvault", database, tmp, {})
    server.start()
    try:
        jobs: list[tuple[str, str, bytes | None]]
        if kind == "submits":
            seats = asyncio.run(steady.prepare(server.url, server.admin_token, n, 10))
            body = orjson.dumps({"answers": [{"question_id": "q000", "response": "B", "seq": 1}]})
            jobs = [(f"/api/v1/attempts/{s.attempt_id}/submit", s.token, body) for s in seats]
        else:
            exam_id, tokens = asyncio.run(_register(server.url, server.admin_token, n, rich))
            jobs = [(f"/api/v1/exams/{exam_id}/attempts", t, None) for t in tokens]
        spy = None
        if os.environ.get("SPY"):
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                 str(server.proc.pid if server.proc else 0), "-d", "8", "-r", "200", "-f", "raw",
                 "-o", os.environ["SPY"], "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(0.5)
        server.sample_rss()  # also samples the CPU time used so far
        cpu0 = server.total_cpu()
        half = len(jobs) // 2
        ctx = multiprocessing.get_context("spawn")
        halves = [(server.url, jobs[:half], 500), (server.url, jobs[half:], 500)]
        with ProcessPoolExecutor(2, mp_context=ctx) as pool:
            parts = list(pool.map(_fire_process, halves))
        elapsed = max(p[3] for p in parts) - min(p[2] for p in parts)  # first sent → last done
        server.sample_rss()
        cpu = server.total_cpu() - cpu0
        if spy is not None:
            spy.wait()
    finally:
        server.stop()
    latencies = sorted(x for part in parts for x in part[0])
    statuses: dict[str, int] = {}
    for part in parts:
        for code, count in part[1].items():
            statuses[code] = statuses.get(code, 0) + count

    def q(p: float) -> int:
        return int(1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))])

    return {
        f"{kind}/s": round(n / elapsed),
        "p50 / p99 ms": f"{q(0.5)} / {q(0.99)}",
        "server CPU µs each": round(1e6 * cpu / n),
        "answers seen": ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
    }


@contextlib.contextmanager
def _seated_server(
    database: str, tmp: Path, args: Sequence[str] = ()
) -> Iterator[tuple[ServerProcess, list[steady.Seat], Path]]:
    """A real server with 1,000 started attempts of a 10-question exam, and the lines
    file src/examvault/loadtest/wrk/save.lua takes for them; the server is stopped at the end."""

    server = ServerProcess("examvault", database, tmp, {}, args=list(args))
    server.start()
    try:
        seats = asyncio.run(steady.prepare(server.url, server.admin_token, 1000, 10))
        saves = wrk.write_lines(
            tmp / "saves.txt",
            [(f"/api/v1/attempts/{s.attempt_id}/answers", s.token) for s in seats],
        )
        yield server, seats, saves
    finally:
        server.stop()


def _wrk_saves(url: str, lines: Path, seconds: float, run: int) -> dict[str, Any]:
    """Saturating saves (128 connections) over `lines`; run k's seqs start above run
    k − 1's, so every save of every run is a new one the server applies."""

    return wrk.run(url, "save.lua", lines, seconds=seconds, connections=128, threads=2,
                       extra=(str(run * 10_000_000),))  # fmt: skip


def _live(database: str, tmp: Path, rate: int, seconds: float, rounds: int) -> dict[str, Any]:
    """Polls alone (the server's CPU per poll), then `rounds` pairs of saturating saves
    alone and beside the polls, alternating so that a drift of the machine or of the
    growing tables falls on both sides alike; the ratio is over all the pairs."""

    with _seated_server(database, tmp) as (server, seats, saves):
        polls = wrk.write_lines(
            tmp / "live.txt", [(f"/api/v1/attempts/{s.attempt_id}/live", s.token) for s in seats]
        )
        runs = 0

        def poll() -> dict[str, Any]:
            return wrk.run(server.url, "live.lua", polls, seconds=seconds, connections=256,
                               threads=1, extra=(str(rate),))  # fmt: skip

        def save() -> dict[str, Any]:
            nonlocal runs
            runs += 1
            return _wrk_saves(server.url, saves, seconds, runs)

        def cpu() -> tuple[float, float]:
            assert server.proc is not None
            times = psutil.Process(server.proc.pid).cpu_times()
            return times.user, times.system

        user0, sys0 = cpu()
        alone = poll()
        user1, sys1 = cpu()
        n = max(1, alone["requests"])
        pairs = []
        busy = [0.0, 0.0]  # the server's CPU seconds a second: saves alone, beside polls

        def timed(phase: int, run: Callable[[], Any]) -> Any:
            began, (u, s) = time.monotonic(), cpu()
            out = run()
            u2, s2 = cpu()
            busy[phase] += (u2 + s2 - u - s) / (time.monotonic() - began) / rounds
            return out

        def both() -> tuple[dict[str, Any], dict[str, Any]]:
            with ThreadPoolExecutor(2) as pool:
                saving, polling = pool.submit(save), pool.submit(poll)
                return saving.result(), polling.result()

        for _ in range(rounds):
            by_itself = timed(0, save)
            pairs.append((by_itself, *timed(1, both)))
    runs_seen = [alone] + [run for pair in pairs for run in pair]
    stale = sum(run["counters"].get("stale", 0) for run in runs_seen)
    saves_alone = sum(a["requests"] for a, _, _ in pairs) / sum(a["seconds"] for a, _, _ in pairs)
    saves_beside = sum(b["requests"] for _, b, _ in pairs) / sum(b["seconds"] for _, b, _ in pairs)
    return {
        "CPU µs a poll (user+sys)": f"{1e6 * (user1 - user0) / n:.0f}"
        f"+{1e6 * (sys1 - sys0) / n:.0f}",
        "saves/s alone": " · ".join(f"{a['per_s']:.0f}" for a, _, _ in pairs),
        "beside polls": " · ".join(f"{b['per_s']:.0f}" for _, b, _ in pairs),
        "ratio": round(saves_beside / saves_alone, 3),
        "server cores busy": f"{busy[0]:.2f} / {busy[1]:.2f}",
        "polls/s beside": " · ".join(f"{p['per_s']:.0f}" for _, _, p in pairs),
        "poll p99 ms": max(p["p99_ms"] for _, _, p in pairs),
        "non-2xx / stale": f"{sum(run['non_2xx'] for run in runs_seen)} / {stale}",
    }


def _cpu_of(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server (with its worker processes), of PostgreSQL's
    processes, and of this process's finished children (wrk)."""
    root = psutil.Process(server_pid)
    tree = {server_pid} | {p.pid for p in root.children(recursive=True)}
    out = {"server": 0.0, "database": 0.0}
    for proc in psutil.process_iter(["pid", "name", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is None:
            continue
        if proc.info["pid"] in tree:
            out["server"] += times.user + times.system
        elif (proc.info["name"] or "").startswith("postgres"):
            out["database"] += times.user + times.system
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["wrk"] = children.ru_utime + children.ru_stime
    return out


def _wrk_rounds(
    database: str, tmp: Path, seconds: float, rounds: int, workers: int
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """`rounds` wrk runs of saturating saves on a server of `workers` processes, and the
    cores the server, the database and wrk used meanwhile."""
    with _seated_server(database, tmp, ["--workers", str(workers)]) as (server, _, lines):
        assert server.proc is not None
        # Not counted: each process's first saves fill its caches (tokens, the exam) and
        # open its writer's connections, which the seating's starts did in one process only.
        _wrk_saves(server.url, lines, 3, 0)  # seqs below every counted run's
        runs, spent = [], {"server": 0.0, "database": 0.0, "wrk": 0.0}
        for k in range(rounds):
            before, began = _cpu_of(server.proc.pid), time.monotonic()
            runs.append(_wrk_saves(server.url, lines, seconds, k + 1))
            after, elapsed = _cpu_of(server.proc.pid), time.monotonic() - began
            for part in spent:
                spent[part] += (after[part] - before[part]) / elapsed / rounds
    return runs, spent


def _rate(runs: Sequence[dict[str, Any]]) -> float:
    return float(sum(r["requests"] for r in runs) / sum(r["seconds"] for r in runs))


def _saves(database: str, tmp: Path, seconds: float, rounds: int, workers: int) -> dict[str, Any]:
    runs, spent = _wrk_rounds(database, tmp, seconds, rounds, workers)
    per_s = _rate(runs)
    return {
        "saves/s": " · ".join(f"{r['per_s']:.0f}" for r in runs),
        "p99 ms": " · ".join(f"{r['p99_ms']:.0f}" for r in runs),
        "cores: server / database / wrk": " / ".join(f"{v:.2f}" for v in spent.values()),
        "CPU µs a save: server / database / wrk": " / ".join(
            f"{1e6 * v / per_s:.0f}" for v in spent.values()
        ),
        "non-2xx / stale": f"{sum(r['non_2xx'] for r in runs)} / "
        f"{sum(r['counters'].get('stale', 0) for r in runs)}",
    }


def _scaling(database: str, tmp: Path, seconds: float, pairs: int) -> dict[str, Any]:
    """Servers of one and of two processes in turn, `pairs` times, so that the machine's
    drift falls on both; the ratio is of their rates over all the runs. With everything
    on one machine it is bounded by how much of it one process's run leaves unused:
    2 cores ÷ the cores that run used (server, database and wrk together)."""
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    used: dict[int, float] = {1: 0.0, 2: 0.0}
    for _ in range(pairs):
        for workers in (1, 2):
            got, spent = _wrk_rounds(database, tmp, seconds, 2, workers)
            runs[workers] += got
            used[workers] += sum(spent.values()) / pairs
    one, two = _rate(runs[1]), _rate(runs[2])
    return {
        "one process, saves/s": " · ".join(f"{r['per_s']:.0f}" for r in runs[1]),
        "two processes": " · ".join(f"{r['per_s']:.0f}" for r in runs[2]),
        "ratio": round(two / one, 2),
        "cores used: one / two": f"{used[1]:.2f} / {used[2]:.2f}",
        "bound (2 ÷ cores of one)": round(2 / used[1], 2),
        "non-2xx": sum(r["non_2xx"] for side in runs.values() for r in side),
    }


def _probe(args: argparse.Namespace, database: str, tmp: Path) -> dict[str, Any]:
    if args.probe == "saves":
        return _saves(database, tmp, args.seconds, args.rounds or 4, args.workers)
    if args.probe == "scaling":
        return _scaling(database, tmp, args.seconds, args.rounds or 3)
    if args.probe == "live":
        return _live(database, tmp, args.rate, args.seconds, args.rounds or 4)
    if args.probe == "batch":
        return asyncio.run(_batch(database, tmp, args.size, args.rounds or 200, args.statements))
    if args.probe == "requests":
        return uvloop.run(_requests(database, tmp, args.size, args.rounds or 300, args.profile))
    n = args.n or (4000 if args.probe == "submits" else 3000)
    return _burst(args.probe, database, tmp, n, rich=args.rich)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/probes.py")
    parser.add_argument(
        "probe", choices=("batch", "requests", "submits", "starts", "live", "saves", "scaling")
    )
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--size", type=int, default=64, help="batch: saves sent together")
    parser.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="batch: how many (200); requests: rounds (300); live: pairs alone/beside (4); "
        "saves: runs (4); scaling: pairs of servers (3)",
    )
    parser.add_argument("--n", type=int, default=0, help="submits/starts: how many at once")
    parser.add_argument(
        "--rich", action="store_true", help="starts: a paper of 60 pictures and 200 formulas"
    )
    parser.add_argument("--rate", type=int, default=2000, help="live: polls a second")
    parser.add_argument("--seconds", type=float, default=5, help="live, saves: each wrk run")
    parser.add_argument("--workers", type=int, default=1, help="saves: server processes")
    parser.add_argument(
        "--statements",
        action="store_true",
        help="batch, PostgreSQL: its CPU a save split over the batch's statements",
    )
    parser.add_argument("--json", action="store_true", help="print the row as one JSON line")
    parser.add_argument(
        "--profile", type=Path, help="requests: write cProfile's top functions to this file"
    )
    args = parser.parse_args()
    if args.statements and (args.probe, args.store) != ("batch", "postgresql"):
        parser.error("--statements goes with `batch --store postgresql`")
    with tempfile.TemporaryDirectory(prefix="examvault-probe-") as name:
        tmp = Path(name)
        with Database(args.store, tmp) as database:
            row = _probe(args, database, tmp)
    if args.json:  # one line, for scripts that compare runs
        print(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=f"probe {args.probe} on {args.store}")
    for key in row:
        table.add_column(key, justify="right")
    table.add_row(*(str(v) for v in row.values()))
    Console().print(table)


if __name__ == "__main__":
    main()
