"""One command for every headline number: `.venv/bin/python bench/run.py [--quick]`.

Runs the load scenarios against examvault and against the baseline (bench/baseline) on
SQLite and on PostgreSQL (a fresh database created here and dropped afterwards), then
the steady-autosave benchmark with its no-op ceiling, all in the same run, and prints
one table per scenario with both designs and the ratios. Results (JSON and PNG) go to
`--out`. `--quick` keeps to smaller runs that finish in a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench.baseline` importable

from examvault.loadtest import steady
from examvault.loadtest.runner import Options, run
from examvault.loadtest.server import ServerProcess

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

# (scenario, overrides, run the baseline too?)
QUICK: list[tuple[str, dict[str, Any], bool]] = [
    ("concurrent_auto_submit", {}, True),
    ("mixed_submission_load", {"students": 100, "duration": 12}, True),
    ("no_client_submit", {"students": 100, "duration": 10}, True),
    ("crash_mid_stampede", {"students": 300}, False),
    ("db_restart_mid_stampede", {"students": 300}, False),
    ("stampede_2k", {"questions": 20, "work_seconds": 15}, False),
]
FULL: list[tuple[str, dict[str, Any], bool]] = [
    ("concurrent_auto_submit", {}, True),
    ("mixed_submission_load", {}, True),
    ("stress_test", {}, True),
    ("no_client_submit", {}, True),
    ("crash_mid_stampede", {}, False),
    ("db_restart_mid_stampede", {}, False),
    ("stampede_2k", {}, True),
    ("stampede_5k", {}, False),
    ("stampede_10k", {}, False),
]


# It restarts the PostgreSQL server itself (loadtest/database.py).
POSTGRESQL_ONLY = {"db_restart_mid_stampede"}


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Database:
    """A fresh database per run: a temp SQLite file, or a new PostgreSQL database."""

    def __init__(self, store: str, tmp: Path) -> None:
        self.store, self.tmp, self.name = store, tmp, f"bench_{secrets.token_hex(4)}"

    def __enter__(self) -> str:
        if self.store == "sqlite":
            return f"sqlite:///{self.tmp / (self.name + '.db')}"
        asyncio.run(_pg(f"CREATE DATABASE {self.name}"))
        return f"postgresql://postgres@127.0.0.1:5432/{self.name}"

    def __exit__(self, *_: object) -> None:
        if self.store == "postgresql":
            asyncio.run(_pg(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))


def scenario_table(name: str, ev: dict[str, Any], base: dict[str, Any] | None, store: str) -> Table:
    """examvault and the baseline side by side, with the ratios that matter."""
    t = Table(title=f"{name} on {store}")
    for col in ("", "examvault", "baseline", "ratio"):
        t.add_column(col, justify="right" if col else "left")

    def row(label: str, get: Any, ratio: bool = False, lower_better: bool = False) -> None:
        a = get(ev)
        b = get(base) if base else None
        r = "-"
        if ratio and a and b:
            r = f"{(b / a if lower_better else a / b):.1f}×"
        t.add_row(label, _fmt(a), _fmt(b) if base else "not run", r)

    row("students", lambda s: s["students"])
    row("answers lost", lambda s: s["verdict"]["lost"])
    row("submissions ok", lambda s: s["verdict"]["submissions_ok"])
    row("submissions failed", lambda s: s["verdict"]["submissions_failed"])
    row("submits/s (burst)", lambda s: s["submits_per_s"], ratio=True)
    row("submit p99 ms", lambda s: s["submit_latency_ms"]["p99"], ratio=True, lower_better=True)
    row("save p99 ms", lambda s: s["save_latency_ms"]["p99"], ratio=True, lower_better=True)
    row("last submit → last result s", lambda s: s["last_submit_to_last_result_s"])
    row("server peak MB", lambda s: s["server_peak_rss_mb"])
    return t


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def steady_bench(store: str, database: str, tmp: Path, quick: bool) -> dict[str, Any]:
    """Saves/s and p99 at a fixed concurrency, and /healthz at the same concurrency."""
    server = ServerProcess("examvault", database, tmp, {})
    server.start()
    try:
        seats = asyncio.run(steady.prepare(server.url, server.admin_token, 1000, 10))
        seconds = 5.0 if quick else 15.0
        saves = steady.measure(
            server.url, seats, mode="save", concurrency=128, seconds=seconds, processes=2
        )
        noop = steady.measure(
            server.url, seats, mode="healthz", concurrency=128, seconds=seconds, processes=2
        )
    finally:
        server.stop()
    ratio = saves["per_s"] / noop["per_s"] if noop["per_s"] else None
    return {
        "store": store,
        "saves": saves,
        "healthz": noop,
        "ratio": None if ratio is None else round(ratio, 3),
    }


def _save(args: argparse.Namespace, results: dict[str, Any], began: float) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    results["elapsed_s"] = round(time.monotonic() - began, 1)
    (args.out / ("bench-quick.json" if args.quick else "bench.json")).write_text(
        json.dumps(results, indent=2) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/run.py")
    parser.add_argument("--quick", action="store_true", help="small runs, a few minutes")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    console = Console(width=110)
    plan = QUICK if args.quick else FULL
    if args.only:
        plan = [p for p in plan if p[0] in args.only.split(",")]
    began = time.monotonic()
    results: dict[str, Any] = {"quick": args.quick, "scenarios": [], "steady": []}
    tables: list[Table] = []
    with tempfile.TemporaryDirectory(prefix="examvault-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for store in args.stores.split(","):
            for name, overrides, with_baseline in plan:
                if name in POSTGRESQL_ONLY and store != "postgresql":
                    continue
                runs: dict[str, dict[str, Any]] = {}
                for target in ("examvault", "baseline") if with_baseline else ("examvault",):
                    with Database(store, tmp) as url:
                        console.rule(f"{name} — {target} on {store}")
                        runs[target] = run(
                            Options(
                                scenario=name,
                                database=url,
                                out=args.out,
                                target=target,
                                progress=False,
                                **overrides,
                            )
                        )
                results["scenarios"].append({"store": store, "scenario": name, **runs})
                tables.append(scenario_table(name, runs["examvault"], runs.get("baseline"), store))
                console.print(tables[-1])
                _save(args, results, began)  # a long run keeps what it measured so far
            with Database(store, tmp) as url:
                console.rule(f"steady autosave on {store}")
                results["steady"].append(steady_bench(store, url, tmp, args.quick))
                _save(args, results, began)
    console.rule("summary")
    for t in tables:
        console.print(t)
    st = Table(title="steady autosave (durable saves) vs the no-op ceiling, same run")
    for col in (
        "store",
        "concurrency",
        "saves/s",
        "save p50 ms",
        "save p99 ms",
        "healthz/s",
        "healthz p99 ms",
        "saves / healthz",
    ):
        st.add_column(col, justify="right")
    for s in results["steady"]:
        sv, hz = s["saves"], s["healthz"]
        st.add_row(
            s["store"],
            str(sv["concurrency"]),
            _fmt(sv["per_s"]),
            _fmt(sv["p50_ms"]),
            _fmt(sv["p99_ms"]),
            _fmt(hz["per_s"]),
            _fmt(hz["p99_ms"]),
            _fmt(s["ratio"]),
        )
    console.print(st)
    _save(args, results, began)
    console.print(f"done in {results['elapsed_s']} s; JSON and PNGs in {args.out}")


if __name__ == "__main__":
    main()
