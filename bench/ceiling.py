"""The ceiling, measured with wrk: examvault next to a bare ASGI no-op, in the same run.

    .venv/bin/python bench/ceiling.py [--stores sqlite,postgresql] [--seconds 15]
                                      [--connections 128] [--threads 1]
    .venv/bin/python bench/ceiling.py --markdown bench/results/ceiling-<time>.json

For each store (a fresh database, dropped afterwards) it measures with wrk (Debian's
package: `make wrk`), one after the other on the same machine:

  a. the no-op: a bare ASGI app under examvault's uvicorn settings (bench/noop.py),
     and under granian too when it is installed (the `bench` extra),
  b. examvault's `GET /healthz`,
  c. durable one-answer saves over `--seats` started attempts (save.lua),
  c'. the same over fresh attempts while their pages poll `GET …/live` at about
     `--live-rate` a second (live.lua, paced; two wrk runs at once): what the
     exam day's polls cost the saves, as the ratio of c'. to c.,
  d. starts, one fresh registered token per request (start.lua),
  e. submits of the attempts just started, each once (submit.lua),

(the Lua scripts are in src/examvault/loadtest/wrk/, with the module that runs wrk),

then checks through the API that what wrk counted is what the server stored (saves in
the exam's `answers_saved`, starts and submits in its results), prints one table with
every figure also as a share of the no-op, and writes bench/results/ceiling-<time>.json.
The wrk scripts print their totals as one JSON line ("CEILING {…}") from done().
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench.run` importable

from bench.run import Database
from examvault.loadtest import steady, wrk
from examvault.loadtest.server import ServerProcess
from examvault.loadtest.student import Http, Recorder

HERE = Path(__file__).resolve().parent
QUESTIONS = 10  # the saves go to q000, q003, q006: the single-choice ones


class NoopProcess(ServerProcess):
    """bench/noop.py in a process of its own, started and stopped as a server is."""

    def command(self) -> list[str]:
        return [sys.executable, str(HERE / "noop.py"), "--port", str(self.port)]


class GranianNoopProcess(ServerProcess):
    """The same no-op under granian (1 worker, uvloop, no access log), when installed."""

    def command(self) -> list[str]:
        return [str(GRANIAN), "--interface", "asgi", "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", "1", "--loop", "uvloop",
                "--no-access-log", "--log-level", "warning", "--working-dir", str(HERE),
                "noop:app"]  # fmt: skip


GRANIAN = Path(sys.executable).parent / "granian"


async def _admin(url: str) -> Http:
    return Http(url, connections=64, recorder=Recorder(), stop_at=time.monotonic() + 300)


async def _prepare_saves(url: str, admin: str, seats: int) -> tuple[str, list[steady.Seat]]:
    """An exam and `seats` started attempts (as steady.prepare, with the exam's id)."""
    rng = random.Random(7)
    http = await _admin(url)
    try:
        exam_id, tokens = await steady.register(http, admin, seats, QUESTIONS, rng)

        async def start(token: str) -> steady.Seat:
            status, body = await http.call("POST", f"/exams/{exam_id}/attempts", token, rng=rng)
            assert status in (200, 201), body
            return steady.Seat(token, body["attempt_id"])

        return exam_id, list(await asyncio.gather(*(start(t) for t in tokens)))
    finally:
        await http.close()


async def _register(url: str, admin: str, n: int) -> tuple[str, list[str]]:
    http = await _admin(url)
    try:
        return await steady.register(http, admin, n, QUESTIONS, random.Random(8))
    finally:
        await http.close()


async def _get(url: str, admin: str, path: str) -> Any:
    http = await _admin(url)
    try:
        status, body = await http.call("GET", path, admin, rng=random.Random(9))
        assert status == 200, (path, status, body)
        return body
    finally:
        await http.close()


def _saves_beside_polls(
    url: str,
    admin: str,
    tmp: Path,
    store: str,
    seats: int,
    rate: int,
    connections: int,
    opts: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Saves as in c., over fresh attempts, while the same attempts' pages poll `live` at
    about `rate` a second (live.lua, paced): the two wrk runs at once."""
    exam_id, prepared = asyncio.run(_prepare_saves(url, admin, seats))
    saves = wrk.write_lines(
        tmp / f"seats-live-{store}.txt",
        [(f"/api/v1/attempts/{s.attempt_id}/answers", s.token) for s in prepared],
    )
    polls = wrk.write_lines(
        tmp / f"live-{store}.txt",
        [(f"/api/v1/attempts/{s.attempt_id}/live", s.token) for s in prepared],
    )
    seconds = float(opts["seconds"])

    def poll() -> dict[str, Any]:
        return wrk.run(url, "live.lua", polls, seconds=seconds, connections=connections, threads=1,
                   extra=(str(rate),))  # fmt: skip

    with ThreadPoolExecutor(2) as pool:
        saving = pool.submit(wrk.run, url, "save.lua", saves, **opts)
        polling = pool.submit(poll)
        save_run, live_run = saving.result(), polling.result()
    stats = asyncio.run(_get(url, admin, f"/exams/{exam_id}/stats"))
    return save_run, live_run, stats


def _bad_5xx(run: dict[str, Any]) -> int:
    """Answers that are a bug: 5xx other than 503 (docs/api.md, errors)."""
    return sum(n for s, n in run["statuses"].items() if s.startswith("5") and s != "503")


def measure_store(
    store: str,
    database: str,
    tmp: Path,
    *,
    seconds: float,
    connections: int,
    threads: int,
    seats: int,
    starts: int,
    live_rate: int = 0,
    live_connections: int = 256,
    console: Console | None = None,
) -> dict[str, Any]:
    """a–e on one store; the runs and the verdict of the checks made through the API."""

    def say(what: str) -> None:
        if console is not None:
            console.rule(f"{what} on {store}")

    opts = {"seconds": seconds, "connections": connections, "threads": threads}
    runs: dict[str, dict[str, Any]] = {}
    live_stats: dict[str, Any] = {}
    say("no-op (bench/noop.py)")
    noop = NoopProcess("examvault", "unused", tmp)
    noop.start()
    try:
        runs["noop"] = wrk.run(f"{noop.url}/", "plain.lua", None, **opts)
    finally:
        noop.stop()
    if GRANIAN.exists():  # optional: `pip install -e '.[bench]'`
        say("no-op under granian")
        granian = GranianNoopProcess("examvault", "unused", tmp)
        granian.start()
        try:
            runs["noop_granian"] = wrk.run(f"{granian.url}/", "plain.lua", None, **opts)
        finally:
            granian.stop()

    server = ServerProcess("examvault", database, tmp, {})
    server.start()
    try:
        url, admin = server.url, server.admin_token
        say("healthz")
        runs["healthz"] = wrk.run(f"{url}/healthz", "plain.lua", None, **opts)

        say("saves")
        save_exam, prepared = asyncio.run(_prepare_saves(url, admin, seats))
        seats_file = wrk.write_lines(
            tmp / f"seats-{store}.txt",
            [(f"/api/v1/attempts/{s.attempt_id}/answers", s.token) for s in prepared],
        )
        runs["save"] = wrk.run(url, "save.lua", seats_file, **opts)
        save_stats = asyncio.run(_get(url, admin, f"/exams/{save_exam}/stats"))

        if live_rate:
            say(f"saves beside {live_rate:,} live polls/s")
            runs["save_live"], runs["live"], live_stats = _saves_beside_polls(
                url, admin, tmp, store, seats, live_rate, live_connections, opts
            )

        say("starts")
        start_exam, tokens = asyncio.run(_register(url, admin, starts))
        by_candidate = {f"S{n:05d}": t for n, t in enumerate(tokens)}
        tokens_file = wrk.write_lines(
            tmp / f"tokens-{store}.txt",
            [(f"/api/v1/exams/{start_exam}/attempts", t) for t in tokens],
        )
        runs["start"] = wrk.run(url, "start.lua", tokens_file, once=True, **opts)
        after_starts = asyncio.run(_get(url, admin, f"/exams/{start_exam}/results"))["results"]

        say("submits")
        started = [r for r in after_starts if r["attempt_id"]]
        attempts_file = wrk.write_lines(
            tmp / f"attempts-{store}.txt",
            [
                (f"/api/v1/attempts/{r['attempt_id']}/submit", by_candidate[r["candidate_id"]])
                for r in started
            ],
        )
        runs["submit"] = wrk.run(url, "submit.lua", attempts_file, once=True, **opts)
        after_submits = asyncio.run(_get(url, admin, f"/exams/{start_exam}/results"))["results"]
        submit_stats = asyncio.run(_get(url, admin, f"/exams/{start_exam}/stats"))
    finally:
        server.stop()

    save, start, submit = runs["save"], runs["start"], runs["submit"]
    ok_saves = save["statuses"].get("200", 0)
    created = start["statuses"].get("201", 0)
    sealed_ok = submit["statuses"].get("200", 0)
    submitted = sum(1 for r in after_submits if r["status"] == "submitted")
    checks: dict[str, bool] = {
        "saves: answers_saved == accepted 200s": (
            save_stats["answers_saved"] == save["counters"].get("accepted", 0)
        ),
        "saves: every 200 applied (none stale)": save["counters"].get("stale", 0) == 0
        and ok_saves == save["counters"].get("accepted", 0),
        "saves: no 5xx but 503": _bad_5xx(save) == 0,
        "starts: every answer 201 or 503": set(start["statuses"]) <= {"201", "503"},
        "starts: attempts stored == 201s": len(started) == created,
        "starts: every token used": start["requests"] == len(tokens),
        "submits: every answer 200 or 503": set(submit["statuses"]) <= {"200", "503"},
        "submits: sealed == 200s == stats.submitted": (
            submitted == sealed_ok == submit_stats["submitted"]
        ),
        "submits: each attempt sent once": submit["requests"] == len(started),
    }
    if "save_live" in runs:
        beside, live = runs["save_live"], runs["live"]
        checks |= {
            "saves beside polls: answers_saved == accepted 200s": (
                live_stats["answers_saved"]
                == beside["counters"].get("accepted", 0)
                == beside["statuses"].get("200", 0)
            ),
            "saves beside polls: no 5xx but 503": _bad_5xx(beside) == 0,
            "polls: every answer a live view (200) or 503": (
                set(live["statuses"]) <= {"200", "503"}
                and live["counters"].get("live", 0) == live["statuses"].get("200", 0)
            ),
        }
    return {
        "store": store,
        "runs": runs,
        "stored": {
            "answers_saved": save_stats["answers_saved"],
            "attempts_started": len(started),
            "attempts_submitted": submitted,
            "stats_submitted": submit_stats["submitted"],
            "seats": seats,
            "tokens": len(tokens),
        },
        "checks": checks,
        "correct": all(checks.values()),
    }


def table(results: dict[str, Any]) -> Table:
    t = Table(title="the ceiling, measured with wrk: examvault beside a bare ASGI no-op, same run")
    for col in ("store", "what", "requests", "requests/s", "p50 ms", "p99 ms", "non-2xx",
                "socket errors", "÷ no-op req/s", "p50 × no-op", "p99 × no-op"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("store", "what") else "right")
    for entry in results["stores"]:
        runs = entry["runs"]
        noop = runs["noop"]
        for name, label in LABELS.items():
            if name not in runs:
                continue
            r = runs[name]
            t.add_row(
                entry["store"],
                label,
                f"{r['requests']:,}",
                f"{r['per_s']:,.0f}",
                f"{r['p50_ms']:g}",
                f"{r['p99_ms']:g}",
                f"{r['non_2xx']:,}",
                f"{sum(r['socket_errors'].values()):,}",
                _ratio(r["per_s"], noop["per_s"]),
                _ratio(r["p50_ms"], noop["p50_ms"]),
                _ratio(r["p99_ms"], noop["p99_ms"]),
            )
        t.add_section()
    return t


LABELS = {
    "noop": "no-op (bare ASGI)",
    "noop_granian": "no-op under granian",
    "healthz": "GET /healthz",
    "save": "PUT …/answers (durable)",
    "save_live": "PUT …/answers beside live polls",
    "live": "GET …/live (paced, beside saves)",
    "start": "POST …/attempts (start)",
    "submit": "POST …/submit",
}


def markdown(results: dict[str, Any]) -> str:
    """The table for docs/performance.md (numbers go there by this, not by hand)."""
    out = [
        "| store | what | requests | requests/s | p50 / p99 ms | non-2xx | socket errors "
        "| ÷ no-op req/s | p50 / p99 × no-op |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in results["stores"]:
        runs = entry["runs"]
        noop = runs["noop"]
        for name, label in LABELS.items():
            if name not in runs:
                continue
            r = runs[name]
            out.append(
                f"| {entry['store']} | {label} | {r['requests']:,} | {r['per_s']:,.0f} | "
                f"{r['p50_ms']:g} / {r['p99_ms']:g} | {r['non_2xx']:,} | "
                f"{sum(r['socket_errors'].values()):,} | "
                f"{_ratio(r['per_s'], noop['per_s'])} | "
                f"{_ratio(r['p50_ms'], noop['p50_ms'])} / {_ratio(r['p99_ms'], noop['p99_ms'])} |"
            )
    m = results["machine"]
    out.append("")
    out.append(
        f"{m['nproc']} cores, {m['wrk'].split(' [')[0]}, {results['params']['connections']} "
        f"connections, {results['params']['threads']} wrk thread(s), "
        f"{results['params']['seconds']:g} s a timed run; load average (1/5/15 min) "
        f"{' / '.join(map(str, m['load_avg_at_start']))} at the start, "
        f"{' / '.join(map(str, m['load_avg_at_end']))} at the end. Checked through the API: "
        + "; ".join(
            f"{e['store']} {'correct' if e['correct'] else 'NOT CORRECT'} "
            f"(answers_saved {e['stored']['answers_saved']:,} = 200 saves; "
            f"{e['stored']['attempts_started']:,} started = 201s; "
            f"{e['stored']['attempts_submitted']:,} submitted = 200s)"
            for e in results["stores"]
        )
    )
    for entry in results["stores"]:
        if _beside(entry):
            out.append(f"\n{entry['store']}: {_beside(entry)}")
    return "\n".join(out)


def _beside(entry: dict[str, Any]) -> str:
    """What the polls cost the saves, in one line (empty without that run)."""
    runs = entry["runs"]
    if "save_live" not in runs:
        return ""
    alone, beside, live = runs["save"], runs["save_live"], runs["live"]
    return (
        f"saves/s beside {live['per_s']:,.0f} live polls/s: {beside['per_s']:,.0f} against "
        f"{alone['per_s']:,.0f} alone (× {_ratio(beside['per_s'], alone['per_s'])}); "
        f"live p50 / p99 {live['p50_ms']:g} / {live['p99_ms']:g} ms"
    )


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.3f}" if b else "–"


def run(
    stores: list[str],
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    seats: int = 1000,
    starts: int = 4000,
    live_rate: int = 2000,
    console: Console | None = None,
) -> dict[str, Any]:
    """Every store in turn; the results document (without writing it anywhere)."""
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
            "wrk": _wrk_version(),
            "python": sys.version.split()[0],
        },
        "params": dict(
            seconds=seconds,
            connections=connections,
            threads=threads,
            seats=seats,
            starts=starts,
            live_rate=live_rate,
        ),
        "stores": [],
    }
    with tempfile.TemporaryDirectory(prefix="examvault-ceiling-") as name:
        tmp = Path(name)
        for store in stores:
            with Database(store, tmp) as database:
                results["stores"].append(
                    measure_store(
                        store,
                        database,
                        tmp,
                        seconds=seconds,
                        connections=connections,
                        threads=threads,
                        seats=seats,
                        starts=starts,
                        live_rate=live_rate,
                        console=console,
                    )
                )
    results["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["correct"] = all(e["correct"] for e in results["stores"])
    return results


def _wrk_version() -> str:
    binary = wrk.binary()
    if binary is None:
        return "absent"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True)
    first = (out.stdout or out.stderr).splitlines()[0]
    return first.split(" [")[0].split("  Copyright")[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/ceiling.py")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--seconds", type=float, default=15.0, help="per wrk run")
    parser.add_argument("--connections", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--seats", type=int, default=1000, help="started attempts saved to")
    parser.add_argument("--starts", type=int, default=4000, help="registered tokens to start")
    parser.add_argument(
        "--live-rate", type=int, default=2000, help="live polls/s beside saves (0: skip)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--markdown", type=Path, help="only print this JSON's markdown table")
    args = parser.parse_args()
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return
    if wrk.binary() is None:
        sys.exit("wrk is not installed: make wrk (apt-get install wrk)")
    console = Console(width=170)
    began = time.monotonic()
    results = run(
        args.stores.split(","),
        seconds=args.seconds,
        connections=args.connections,
        threads=args.threads,
        seats=args.seats,
        starts=args.starts,
        live_rate=args.live_rate,
        console=console,
    )
    results["elapsed_s"] = round(time.monotonic() - began, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"ceiling-{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    console.rule("the ceiling")
    console.print(table(results))
    m = results["machine"]
    console.print(
        f"{m['nproc']} cores, {m['wrk']}; load average (1/5/15 min) at start "
        f"{m['load_avg_at_start']}, at end {m['load_avg_at_end']}"
    )
    for entry in results["stores"]:
        s = entry["stored"]
        console.print(
            f"[bold]{entry['store']}[/]: {'correct' if entry['correct'] else 'NOT CORRECT'} — "
            f"answers_saved {s['answers_saved']:,} (wrk: {entry['runs']['save']['statuses']}), "
            f"attempts started {s['attempts_started']:,} of {s['tokens']:,} tokens, "
            f"submitted {s['attempts_submitted']:,}"
        )
        beside = _beside(entry)
        if beside:
            console.print(f"  {beside}")
        for check, ok in entry["checks"].items():
            if not ok:
                console.print(f"  [red]failed[/]: {check}")
    console.print(f"done in {results['elapsed_s']} s; JSON in {path}")
    if not results["correct"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
