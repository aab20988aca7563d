"""The `live` scenario: what the pages' polls cost the saves (docs/performance.md).

On an exam day every open page polls `GET /attempts/{id}/live` every 5–10 s, so 10,000
pages send about 2,000 polls/s while the same candidates autosave. This runs the steady
autosave of `steady.py` on the same server and seats, for the same time alone and with
pollers sending `live` at a fixed target rate (open loop: a poll is sent when it is due,
not when the previous one returned, as pages do), in four phases: alone, beside, beside,
alone (`run_live`). It reports durable
saves/s without and with the pollers, their ratio, the polls' rate and latency, and the
server's CPU in each phase; then it checks that no acknowledged save was lost (each
attempt's stored seq per question is at least the highest one acknowledged) and that
no request failed.

The pollers are wrk (live.lua) when it is installed, Python processes otherwise. Two
Python pollers at 1,000 polls/s each took about a third of a core from the two the server
shares with them, so the ratio measured the clients as much as the server; wrk needs a
fifth of that (loadtest/wrk). The savers stay in Python: they keep every acknowledged
seq, which the check of lost saves needs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
from rich.console import Console
from rich.table import Table

from examvault.loadtest import report, steady, wrk
from examvault.loadtest.scenarios import Scenario
from examvault.loadtest.server import ServerProcess
from examvault.loadtest.steady import Seat
from examvault.loadtest.student import Http, Recorder, _nodelay_socket

SAVE_CONCURRENCY = 128
CLIENT_PROCESSES = 2
POLL_IN_FLIGHT = 512  # polls outstanding per client process before one is counted missed
WRK_POLL_CONNECTIONS = 256  # wrk's pollers: enough connections that the schedule holds
TICK = 0.005
REFUSALS = {"429", "503"}  # pushed back with Retry-After: not failures


async def poll(url: str, seats: list[Seat], per_second: float, seconds: float) -> dict[str, Any]:
    """Send `live` polls at `per_second` for `seconds`, round robin over the seats."""
    connector = aiohttp.TCPConnector(limit=POLL_IN_FLIGHT, socket_factory=_nodelay_socket)
    lat: list[float] = []
    other: dict[str, int] = {}
    wrong = missed = 0
    slots = asyncio.Semaphore(POLL_IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(seat: Seat) -> None:
            nonlocal wrong
            began = time.monotonic()
            try:
                async with session.get(
                    f"{url}/api/v1/attempts/{seat.attempt_id}/live",
                    headers={"Authorization": f"Bearer {seat.token}"},
                ) as resp:
                    body = await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError):
                status, body = 0, b""
            finally:
                slots.release()
            if status == 200:
                lat.append(time.monotonic() - began)
                # The attempt is in progress all along; a cheap look, not a parse.
                wrong += b'"status":"in_progress"' not in body
            else:
                other[str(status)] = other.get(str(status), 0) + 1

        began = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - began) < seconds:
            due = int(elapsed * per_second) - sent - missed
            for _ in range(max(0, due)):
                if slots.locked():
                    missed += 1  # the server (or this client) is behind: not sent
                    continue
                await slots.acquire()
                task = asyncio.create_task(one(seats[sent % len(seats)]))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            await asyncio.sleep(TICK)
        if tasks:
            await asyncio.gather(*tasks)
    return {"sent": sent, "ok": len(lat), "lat": lat, "other": other, "wrong": wrong,
            "missed": missed}  # fmt: skip


def _saver_process(args: tuple[str, list[Seat], int, float, int, int]) -> dict[str, Any]:
    """One client process of the savers: its slice of the seats, back to back."""
    url, seats, concurrency, seconds, questions, first_seq = args
    return {
        "saves": uvloop.run(
            steady.hammer(url, seats, concurrency, seconds, "save", questions, first_seq)
        )
    }


def _poller_process(args: tuple[str, list[Seat], float, float]) -> dict[str, Any]:
    """One client process of the pollers, apart from the savers: on the same event loop
    the polls would slow the savers' client, not the server."""
    url, seats, rate, seconds = args
    return {"polls": uvloop.run(poll(url, seats, rate, seconds))}


def _client_process(job: tuple[str, tuple[Any, ...]]) -> dict[str, Any]:
    """A saver's or a poller's process, by the job's kind (one pool runs both)."""
    kind, args = job
    return _saver_process(args) if kind == "save" else _poller_process(args)


def _ready(_: int) -> None:
    """A first job for each client process: once every one has started (and imported
    this module), the phase's jobs begin at once, in step with wrk's pollers."""
    time.sleep(0.2)


def phase(
    url: str,
    seats: list[Seat],
    *,
    seconds: float,
    questions: int,
    first_seq: int,
    poll_rate: float,
    concurrency: int = SAVE_CONCURRENCY,
    processes: int = CLIENT_PROCESSES,
    pollers: str = "wrk",
) -> dict[str, Any]:
    """Saves from `processes` client processes, each on its own slice of the seats, and
    (when `poll_rate` > 0) polls at `poll_rate` in all, from wrk (`pollers` "wrk", when
    it is installed) or from as many Python processes more; the figures."""
    share = max(1, len(seats) // processes)
    per = max(1, concurrency // processes)
    jobs: list[tuple[str, tuple[Any, ...]]] = [
        ("save", (url, seats[p * share : (p + 1) * share], per, seconds, questions, first_seq))
        for p in range(processes)
    ]
    by_wrk = poll_rate > 0 and pollers == "wrk" and wrk.binary() is not None
    if poll_rate > 0 and not by_wrk:
        jobs += [("poll", (url, seats, poll_rate / processes, seconds))] * processes
    ctx = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(len(jobs), mp_context=ctx) as pool,
        ThreadPoolExecutor(1) as beside,
        tempfile.TemporaryDirectory() as tmp,
    ):
        list(pool.map(_ready, range(len(jobs))))
        polling = None
        if by_wrk:
            lines = wrk.write_lines(
                Path(tmp) / "live.txt",
                [(f"/api/v1/attempts/{s.attempt_id}/live", s.token) for s in seats],
            )
            polling = beside.submit(
                wrk.run, url, "live.lua", lines, seconds=seconds,
                connections=WRK_POLL_CONNECTIONS, threads=1, extra=(str(poll_rate),),
            )  # fmt: skip
        parts = list(pool.map(_client_process, jobs))
        return {
            "seconds": seconds,
            "poll_rate": poll_rate,
            "saves": [p["saves"] for p in parts if "saves" in p],
            "polls": [p["polls"] for p in parts if "polls" in p],
            "wrk": None if polling is None else polling.result(),
        }


def figures(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of phases of one kind (saves alone, or beside the same pollers) taken
    together: totals over their time, percentiles over all their latencies (wrk's polls:
    the mean of the runs' medians and the worst p99)."""
    seconds = sum(ph["seconds"] for ph in phases)
    saves = [s for ph in phases for s in ph["saves"]]
    save_lat = [x for s in saves for x in s["lat"]]
    acked = _highest(s["acked"] for s in saves)
    ok = sum(s["ok"] for s in saves)
    out: dict[str, Any] = {
        "seconds": seconds,
        "saves_ok": ok,
        "saves_per_s": round(ok / seconds, 1),
        "save_p50_ms": _ms(report.percentile(save_lat, 50)),
        "save_p99_ms": _ms(report.percentile(save_lat, 99)),
        "saves_not_ok": _merge(s["other"] for s in saves),
        "acked": acked,
    }
    rate = phases[0]["poll_rate"]
    runs = [ph["wrk"] for ph in phases if ph["wrk"] is not None]
    polls = [p for ph in phases for p in ph["polls"]]
    if runs:
        out |= _wrk_polls(runs, rate, seconds)
    elif polls:
        poll_lat = [x for p in polls for x in p["lat"]]
        out |= {
            "pollers": "python",
            "live_target_per_s": rate,
            "live_sent": sum(p["sent"] for p in polls),
            "live_ok": sum(p["ok"] for p in polls),
            "live_per_s": round(sum(p["ok"] for p in polls) / seconds, 1),
            "live_p50_ms": _ms(report.percentile(poll_lat, 50)),
            "live_p99_ms": _ms(report.percentile(poll_lat, 99)),
            "live_not_ok": _merge(p["other"] for p in polls),
            "live_wrong": sum(p["wrong"] for p in polls),
            "live_missed": sum(p["missed"] for p in polls),
        }
    return out


def _wrk_polls(runs: list[dict[str, Any]], rate: float, seconds: float) -> dict[str, Any]:
    """wrk's poll runs in the figures' terms. live.lua counts as `live` each 200 whose
    body holds the server's time; a 200 without it is wrong. wrk never bursts to catch
    up, so the polls its schedule could not send in time are the ones missing from the
    target."""
    statuses = _merge(r["statuses"] for r in runs)
    ok = statuses.pop("200", 0)
    sent = sum(r["requests"] for r in runs)
    return {
        "pollers": "wrk",
        "live_target_per_s": rate,
        "live_sent": sent,
        "live_ok": ok,
        "live_per_s": round(ok / seconds, 1),
        "live_p50_ms": round(sum(r["p50_ms"] for r in runs) / len(runs), 2),
        "live_p99_ms": max(r["p99_ms"] for r in runs),
        "live_not_ok": statuses
        | {f"socket {k}": n for k, n in _merge(r["socket_errors"] for r in runs).items()},
        "live_wrong": ok - sum(r["counters"].get("live", 0) for r in runs),
        "live_missed": max(0, round(rate * seconds) - sent),
    }


def _cpu(server: ServerProcess | None) -> float | None:
    """The server's CPU seconds so far (sampled now)."""
    if server is None:
        return None
    server.sample_rss()
    return server.total_cpu()


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _highest(parts: Iterable[dict[tuple[str, str], int]]) -> dict[tuple[str, str], int]:
    """The highest acknowledged seq of each (attempt, question) over several clients'
    or phases' records (each phase's seqs start above the last one's)."""
    highest: dict[tuple[str, str], int] = {}
    for part in parts:
        for key, seq in part.items():
            highest[key] = max(seq, highest.get(key, 0))
    return highest


def _merge(parts: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for k, n in part.items():
            total[str(k)] = total.get(str(k), 0) + n
    return total


async def lost_saves(url: str, seats: list[Seat], acked: dict[tuple[str, str], int]) -> int:
    """Acknowledged saves the attempts do not hold: a stored seq below the highest one
    acknowledged for its question (a higher one stored is a save whose answer was lost on
    the way back, which is fine)."""
    by_attempt: dict[str, dict[str, int]] = {}
    for (aid, qid), seq in acked.items():
        by_attempt.setdefault(aid, {})[qid] = seq
    http = Http(url, connections=32, recorder=Recorder(), stop_at=time.monotonic() + 300)
    rng = random.Random(7)

    async def missing(seat: Seat) -> int:
        status, view = await http.call("GET", f"/attempts/{seat.attempt_id}", seat.token, rng=rng)
        if status != 200:
            raise RuntimeError(f"reading attempt {seat.attempt_id}: {status} {view}")
        answers = view["answers"]
        return sum(
            answers.get(qid, {}).get("seq", 0) < seq
            for qid, seq in by_attempt.get(seat.attempt_id, {}).items()
        )

    try:
        return sum(await asyncio.gather(*(missing(seat) for seat in seats)))
    finally:
        await http.close()


async def run_live(
    sc: Scenario,
    url: str,
    admin: str,
    server: ServerProcess | None,
    store: str,
    out: Path,
    console: Console,
    pollers: str = "wrk",
) -> dict[str, Any]:
    """The scenario end to end on a running server: prepare, the phases, verify, report.

    Four phases of half the scenario's time each, in the order alone, beside, beside,
    alone: a drift of the server or of the machine over the run (tables and logs that
    grow, caches that warm) then falls on both sides alike. Each phase's seqs start above
    the last one's, so every save is a new one the server applies."""
    assert sc.live_per_second is not None
    seats = await steady.prepare(url, admin, sc.students, sc.questions)
    rates = (0.0, sc.live_per_second, sc.live_per_second, 0.0)
    phases = []
    cpu_s = [0.0, 0.0]  # the server's CPU seconds: alone, beside the polls
    for k, rate in enumerate(rates):
        cpu = _cpu(server)
        phases.append(
            await asyncio.to_thread(
                phase, url, seats, seconds=sc.work_seconds / 2, questions=sc.questions,
                first_seq=k * 1_000_000, poll_rate=rate, pollers=pollers,
                concurrency=min(SAVE_CONCURRENCY, max(2, sc.students // 4)),
            )
        )  # fmt: skip
        after = _cpu(server)
        if after is not None and cpu is not None:
            cpu_s[rate > 0] += after - cpu
    alone = figures([ph for ph in phases if ph["poll_rate"] == 0])
    polled = figures([ph for ph in phases if ph["poll_rate"] > 0])
    if server is not None:
        alone["server_cpu_s"], polled["server_cpu_s"] = (round(c, 2) for c in cpu_s)
    acked = _highest((alone.pop("acked"), polled.pop("acked")))
    lost = await lost_saves(url, seats, acked)
    failed_saves = sum(
        n for f in (alone, polled) for k, n in f["saves_not_ok"].items() if k not in REFUSALS
    )
    failed_live = sum(n for k, n in polled["live_not_ok"].items() if k not in REFUSALS)
    ratio = polled["saves_per_s"] / alone["saves_per_s"] if alone["saves_per_s"] else None
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "target": "examvault",
        "database": store,
        "seats": len(seats),
        "saves_without_live": alone,
        "saves_with_live": polled,
        "ratio": None if ratio is None else round(ratio, 3),
        "saves_cut_pct": None if ratio is None else round(100 * (1 - ratio), 1),
        "verdict": {
            "acknowledged_saves": len(acked),
            "lost": lost,
            "saves_failed": failed_saves,
            "live_failed": failed_live,
            "live_wrong": polled["live_wrong"],
        },
    }
    _print(summary, console)
    report.write_json(summary, out)
    return summary


def _print(s: dict[str, Any], console: Console) -> None:
    a, p, v = s["saves_without_live"], s["saves_with_live"], s["verdict"]
    t = Table(title=f"live — examvault on {s['database']}, {s['seats']} attempts",
              show_header=False)  # fmt: skip
    t.add_column("what")
    t.add_column("value", justify="right")
    lost_style = "bold red" if v["lost"] else "bold green"
    t.add_row("acknowledged saves LOST", f"[{lost_style}]{v['lost']}[/]")
    t.add_row("saves / live failed", f"{v['saves_failed']} / {v['live_failed']}")
    t.add_row("saves/s without live (p50 / p99 ms)",
              f"{a['saves_per_s']} ({a['save_p50_ms']} / {a['save_p99_ms']})")  # fmt: skip
    t.add_row("saves/s with live (p50 / p99 ms)",
              f"{p['saves_per_s']} ({p['save_p50_ms']} / {p['save_p99_ms']})")  # fmt: skip
    t.add_row("with ÷ without", f"{s['ratio']} (cut {s['saves_cut_pct']} %)")
    t.add_row("live/s (target) — p50 / p99 ms",
              f"{p['live_per_s']} ({p['live_target_per_s']:.0f}) — "
              f"{p['live_p50_ms']} / {p['live_p99_ms']}")  # fmt: skip
    t.add_row(f"live not sent (client behind; pollers: {p['pollers']})", str(p["live_missed"]))
    if "server_cpu_s" in a:
        t.add_row("server CPU s without / with live", f"{a['server_cpu_s']} / {p['server_cpu_s']}")
    console.print(t)
