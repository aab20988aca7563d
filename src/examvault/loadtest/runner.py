"""Run a scenario end to end: a server (started here or given), the students, the checks.

When the tool starts the server itself it owns the process: it can sample its memory
and SIGKILL and restart it on the same database in the middle of the submit burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import secrets
import tempfile
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psutil
import uvloop
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from examvault.loadtest import database as pg
from examvault.loadtest import live, pauses, report
from examvault.loadtest.failover import PgPair
from examvault.loadtest.scenarios import SCENARIOS, Scenario, exam_document
from examvault.loadtest.server import ServerProcess, Target
from examvault.loadtest.student import GaveUp, Http, Recorder, Student, check_local
from examvault.loadtest.verify import fetch_exact, verify


@dataclass(slots=True)
class Options:
    """Everything `examvault loadtest` can be told; None means the scenario's value."""

    scenario: str = "concurrent_auto_submit"
    students: int | None = None
    questions: int | None = None
    duration: int | None = None
    work_seconds: float | None = None
    database: str | None = None
    url: str | None = None
    admin_token: str | None = None
    cafile: str | None = None  # with an https:// url: the certificate(s) to trust
    kill_server_at: float | None = None
    restart_database_at: float | None = None
    failover_at: float | None = None
    promote_after: float | None = None
    # a primary/standby pair made by the caller (who closes it); else the drill makes one
    pg_pair: PgPair | None = None
    out: Path = Path("loadtest-out")
    target: Target = "examvault"
    connections: int = 1000
    progress: bool = True
    seed: int = 1
    pollers: Literal["wrk", "python"] = "wrk"  # the `live` scenario's (loadtest/live.py)
    server_env: Mapping[str, str] = field(default_factory=dict)


def resolve(opts: Options) -> Scenario:
    """The named scenario with the command line's overrides applied."""
    if opts.scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {opts.scenario!r}; one of {', '.join(SCENARIOS)}")
    sc = SCENARIOS[opts.scenario].evolve(
        students=opts.students,
        questions=opts.questions,
        duration=opts.duration,
        kill_at=opts.kill_server_at,
        restart_database_at=opts.restart_database_at,
        failover_at=opts.failover_at,
        promote_after=opts.promote_after,
        work_seconds=opts.work_seconds,
    )
    if sc.failover_at is not None and not 0 < sc.failover_at < 1:
        raise ValueError("--failover-at is a share of the submits, between 0 and 1")
    if sc.server_ends_attempts:
        # students stop a margin before the end: keep the working time inside the exam
        sc = sc.evolve(work_seconds=min(sc.work_seconds, max(1.0, sc.duration - sc.grace - 3.0)))
    return sc


def run(opts: Options) -> dict[str, Any]:
    """Run one scenario (blocking) and return its summary; also writes JSON and PNG.

    On uvloop, as the server runs: the tool shares the machine with the server it
    measures, and in `stampede_10k` it then used 49 s of CPU instead of 62–80
    (docs/performance.md)."""
    return uvloop.run(run_async(opts))


async def run_async(opts: Options) -> dict[str, Any]:
    sc = resolve(opts)
    console = Console()
    with (
        tempfile.TemporaryDirectory(prefix="examvault-loadtest-") as tmp,
        contextlib.ExitStack() as cleanup,
    ):
        server: ServerProcess | None = None
        pair = opts.pg_pair
        if sc.failover_at is not None and pair is None:
            if opts.database or opts.url:
                raise ValueError(
                    "the fail-over drill builds its own primary and standby: no --database/--url"
                )
            pair = await asyncio.to_thread(PgPair.build)
            cleanup.callback(pair.close)
        database = pair.url if pair else opts.database or f"sqlite:///{Path(tmp) / 'loadtest.db'}"
        cluster = None
        if sc.restart_database_at is not None:
            cluster = pg.local_cluster(database)
        if opts.url:
            check_local(opts.url)
            if sc.kill_at is not None:
                raise ValueError("--kill-server-at needs a server this tool starts (no --url)")
            if not opts.admin_token:
                raise ValueError("--url needs --admin-token")
            url, admin = opts.url, opts.admin_token
        else:
            server = ServerProcess(opts.target, database, Path(tmp), opts.server_env, opts.out)
            await asyncio.to_thread(server.start)
            url, admin = server.url, server.admin_token
        store = "external" if opts.url else database.split(":", 1)[0]
        try:
            if sc.live_per_second is not None:
                return await live.run_live(
                    sc, url, admin, server, store, opts.out, console, opts.pollers
                )
            return await _drive(opts, sc, url, admin, server, cluster, store, console, pair)
        finally:
            if server is not None:
                server.stop()


async def _drive(
    opts: Options,
    sc: Scenario,
    url: str,
    admin: str,
    server: ServerProcess | None,
    cluster: tuple[str, str] | None,
    store: str,
    console: Console,
    pair: PgPair | None = None,
) -> dict[str, Any]:
    recorder = Recorder()
    me = psutil.Process()
    cpu_before = sum(me.cpu_times()[:2])
    limit = sc.work_seconds + (sc.duration if sc.server_ends_attempts else 0) + 120
    http = Http(
        url,
        connections=min(opts.connections, max(8, sc.students)),
        recorder=recorder,
        stop_at=time.monotonic() + limit,
        cafile=opts.cafile,
    )
    rng = random.Random(opts.seed)
    quiet = pauses.Quiet()
    try:
        exam_id = f"lt-{sc.name.replace('_', '-')}-{secrets.token_hex(3)}"
        definition = exam_document(exam_id, sc.questions, sc.duration, sc.grace)
        students = await _setup(http, admin, exam_id, definition, sc, rng)
        quiet.calm()
        now = time.monotonic()
        submit_at = now + sc.work_seconds
        quiet.between(now, now + sc.start_window + 5)  # the start storm
        quiet.between(submit_at - 0.5, submit_at + sc.submit_spread + 5)  # the submits
        disruptions = Disruptions(server, cluster, pair)
        runs = asyncio.gather(*(s.run(http, exam_id, sc, submit_at) for s in students))
        if sc.failover_at is not None and pair is not None:
            submitting = sum(1 for s in students if s.submits) or len(students)
            disruptions.launch(
                disruptions.fail_over(
                    recorder,
                    after_submits=max(1, math.ceil(sc.failover_at * submitting)),
                    promote_after=sc.promote_after,
                    done=runs.done,
                )
            )
        ticker = asyncio.create_task(
            _tick(students, disruptions, sc, submit_at, recorder, console, opts.progress)
        )
        with pauses.GcPauses(recorder.t0) as gc_pauses:
            await runs
        await disruptions.settle()  # a restart begun before the students finished ends first
        last_t = max((at for at, _ in recorder.submits), default=None)
        if sc.server_ends_attempts:
            end_local = max(s.local_end for s in students if s.attempt_id) + sc.grace
            last_t = max(last_t or 0.0, end_local - recorder.t0)
        wait_until = time.monotonic() + 10
        if sc.server_ends_attempts:
            wait_until = max(wait_until, recorder.t0 + (last_t or 0.0) + 8)
        rows, done_t = await _await_results(
            http, admin, exam_id, len(students), wait_until, recorder
        )
        ticker.cancel()
        await disruptions.settle()  # cancelling the ticker never cancels a disruption
        verdict = await verify(http, admin, exam_id, definition, students, rows)
        elapsed = time.monotonic() - recorder.t0
        # the burst: from the first submit sent to the last one acknowledged
        window = None
        if recorder.submits:
            first_sent = min(at - lat for at, lat in recorder.submits)
            window = max(max(at for at, _ in recorder.submits) - first_sent, 1e-3)
        summary = report.summary(
            sc.name,
            opts.target,
            store,
            verdict,
            recorder,
            elapsed=elapsed,
            last_submit_to_result=None
            if done_t is None or last_t is None
            else max(0.0, done_t - last_t),
            submit_window=window,
            peak_rss_mb=server.peak_rss / 2**20 if server and server.peak_rss else None,
            kills=disruptions.kills,
            database_restarts=disruptions.restarts,
        )
        if server is not None:
            server.sample_rss()
            summary["server_cpu_s"] = round(server.total_cpu(), 1)
        if pair is not None:
            summary["failovers"] = disruptions.failover_summary(recorder)
            if disruptions.failovers:
                # the operator's second step: the lost machine comes back as a new standby
                began = time.monotonic()
                try:
                    await asyncio.to_thread(pair.rebuild_standby)
                    took: float | str = round(time.monotonic() - began, 2)
                except RuntimeError as exc:
                    took = f"failed: {exc}"
                summary["failovers"][-1]["new_standby_s"] = took
        summary["loadtool_cpu_s"] = round(sum(me.cpu_times()[:2]) - cpu_before, 1)
        summary["loadtool_gc_pauses"] = gc_pauses.summary()
        summary["students"] = sc.students
        summary["questions"] = sc.questions
        report.print_table(summary, console)
        report.write_json(summary, opts.out)
        report.write_picture(summary, recorder, opts.out)
        return summary
    finally:
        quiet.close()
        await http.close()


async def _setup(
    http: Http,
    admin: str,
    exam_id: str,
    definition: dict[str, Any],
    sc: Scenario,
    rng: random.Random,
) -> list[Student]:
    """Create the exam and register the candidates, in chunks the server accepts."""
    status, body = await http.call("POST", "/exams", admin, definition, rng=rng)
    if status not in (200, 201):
        raise GaveUp(f"create exam: {status} {body}")
    questions = [(q["id"], q["type"]) for s in definition["sections"] for q in s["questions"]]
    ids = [f"C{i:05d}" for i in range(sc.students)]
    tokens: dict[str, str] = {}
    for i in range(0, len(ids), 1000):
        chunk = [{"id": c, "name": f"Student {c}"} for c in ids[i : i + 1000]]
        status, body = await http.call(
            "POST", f"/exams/{exam_id}/candidates", admin, {"candidates": chunk}, rng=rng
        )
        if status != 201:
            raise GaveUp(f"register: {status} {body}")
        tokens |= {c["id"]: c["token"] for c in body["candidates"]}
    return [
        Student(
            cid,
            tokens[cid],
            questions,
            random.Random(f"{exam_id}/{cid}"),
            submits=sc.submit_mode == "all" or (sc.submit_mode == "mixed" and n % 2 == 0),
        )
        for n, cid in enumerate(ids)
    ]


@dataclass
class Disruptions:
    """What the drill does to the system under test, and when (seconds since start)."""

    server: ServerProcess | None
    cluster: tuple[str, str] | None
    pair: PgPair | None = None
    kills: list[float] = field(default_factory=list)
    restarts: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds away)
    # Disruptions run as tasks of their own, not inside the ticker: each runs to its end
    # and records itself whenever the students finish, and the run waits for them.
    running: list[asyncio.Task[None]] = field(default_factory=list)

    def launch(self, disruption: Coroutine[Any, Any, None]) -> None:
        self.running.append(asyncio.create_task(disruption))

    async def settle(self) -> None:
        """Wait for every disruption begun so far to finish (and record itself)."""
        while self.running:
            await self.running.pop(0)

    async def kill_server(self, t0: float) -> None:
        assert self.server is not None
        self.kills.append(time.monotonic() - t0)
        self.server.kill()
        await asyncio.to_thread(self.server.start)

    # (killed, promoted: seconds since start; promotion took; 503s before it; 503s so far)
    failovers: list[tuple[float, float, float, int, int]] = field(default_factory=list)

    async def fail_over(
        self,
        recorder: Recorder,
        *,
        after_submits: int,
        promote_after: float,
        done: Callable[[], bool],
    ) -> None:
        """Once `after_submits` submits are acknowledged, SIGKILL the primary; promote
        the standby `promote_after` s later, and not before the server was seen answering
        503 without a primary (an event, not a guess at timing)."""
        assert self.pair is not None
        while len(recorder.submits) < after_submits:
            if done():
                return  # the students finished (or gave up) first: nothing to fail over
            await asyncio.sleep(0.01)
        refused = recorder.retries.get("503", 0)
        killed = time.monotonic()
        await asyncio.to_thread(self.pair.kill_primary)
        await asyncio.sleep(max(0.0, killed + promote_after - time.monotonic()))
        while recorder.retries.get("503", 0) == refused:
            if time.monotonic() > killed + 60.0:
                break  # never seen: promote anyway, the summary shows no 503
            await asyncio.sleep(0.02)
        refused_without_primary = recorder.retries.get("503", 0) - refused
        began = time.monotonic()
        await asyncio.to_thread(self.pair.promote)
        promoted = time.monotonic()
        self.failovers.append(
            (killed - recorder.t0, promoted - recorder.t0, promoted - began,
             refused_without_primary, refused)
        )  # fmt: skip

    def failover_summary(self, recorder: Recorder) -> list[dict[str, Any]]:
        """Each fail-over's figures: when, how long without a primary, how many 503s, and
        how soon after the promotion the first write was acknowledged again."""
        out = []
        for killed, promoted, promote_s, refused_without, refused_before in self.failovers:
            acks = [at for at, _ in (*recorder.saves, *recorder.submits) if at >= promoted]
            out.append(
                {
                    "killed_at_s": round(killed, 2),
                    "promoted_at_s": round(promoted, 2),
                    "without_primary_s": round(promoted - killed, 2),
                    "promote_s": round(promote_s, 2),
                    "refused_503_without_primary": refused_without,
                    "refused_503_after_kill": recorder.retries.get("503", 0) - refused_before,
                    "first_ack_after_promotion_s": (
                        round(min(acks) - promoted, 2) if acks else None
                    ),
                }
            )
        return out

    async def restart_database(self, t0: float) -> None:
        assert self.cluster is not None
        at = time.monotonic() - t0
        away = await asyncio.to_thread(pg.restart, self.cluster)
        self.restarts.append((at, away))


async def _tick(
    students: list[Student],
    disruptions: Disruptions,
    sc: Scenario,
    submit_at: float,
    recorder: Recorder,
    console: Console,
    show: bool,
) -> None:
    """Progress bar, memory sampling, and the SIGKILL or database restart when the
    scenario asks for one."""
    server = disruptions.server
    expected = sum(len(s.questions) for s in students)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=True,
    ) as bar:
        acked = bar.add_task("answers acknowledged", total=expected)
        finished = bar.add_task("attempts submitted", total=len(students))
        kill_due = None if sc.kill_at is None or server is None else submit_at + sc.kill_at
        restart_due = (
            None
            if sc.restart_database_at is None or disruptions.cluster is None
            else submit_at + sc.restart_database_at
        )
        while True:
            if server is not None:
                await asyncio.to_thread(server.sample_rss)
            now = time.monotonic()
            if kill_due is not None and now >= kill_due:
                kill_due = None
                await disruptions.kill_server(recorder.t0)
            if restart_due is not None and now >= restart_due:
                restart_due = None
                disruptions.launch(disruptions.restart_database(recorder.t0))
            bar.update(acked, completed=min(expected, sum(len(s.acked) for s in students)))
            bar.update(finished, completed=sum(1 for s in students if s.submit_ok))
            await asyncio.sleep(0.25)


async def _await_results(
    http: Http, admin: str, exam_id: str, n: int, limit: float, recorder: Recorder
) -> tuple[list[dict[str, Any]], float | None]:
    """Poll the admin results until every row is submitted and scored (bounded in time).

    Returns the rows and when (seconds since start) they were first all there.
    """
    rows: list[dict[str, Any]] = []
    while time.monotonic() < limit:
        try:
            rows = (await fetch_exact(http, f"/exams/{exam_id}/results", admin))["results"]
        except GaveUp:
            rows = []
        if len(rows) == n and all(
            r["status"] == "submitted" and r["score"] is not None for r in rows
        ):
            return rows, time.monotonic() - recorder.t0
        await asyncio.sleep(0.2)
    return rows, None
