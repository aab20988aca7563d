"""Markdown tables from a bench/run.py JSON, for docs/performance.md.

    .venv/bin/python bench/tables.py bench/results/bench.json [more.json …]

Numbers go into the documentation by this script, not by hand: one table per scenario
with examvault and the baseline side by side on each store, then steady autosave.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _n(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _lat(run: dict[str, Any], key: str) -> str:
    lat = run.get(key) or {}
    return " / ".join(_n(lat.get(p)) for p in ("p50", "p99", "max"))


ROWS: list[tuple[str, Any]] = [
    ("students × questions", lambda r: f"{_n(r['students'])} × {r['questions']}"),
    ("answers sent / acknowledged", lambda r: (
        f"{_n(r['verdict']['answers_sent'])} / {_n(r['verdict']['answers_acked'])}")),
    ("**answers lost**", lambda r: f"**{_n(r['verdict']['lost'])}**"),
    ("submissions ok / failed", lambda r: (
        f"{_n(r['verdict']['submissions_ok'])} / {_n(r['verdict']['submissions_failed'])}")),
    ("score mismatches", lambda r: _n(r["verdict"]["score_mismatch"])),
    ("submits/s (burst)", lambda r: _n(r.get("submits_per_s"))),
    ("submit p50 / p99 / max ms", lambda r: _lat(r, "submit_latency_ms")),
    ("save p50 / p99 / max ms", lambda r: _lat(r, "save_latency_ms")),
    ("requests/s over the run", lambda r: _n(r.get("requests_per_s"))),
    ("last submit → last result s", lambda r: _n(r.get("last_submit_to_last_result_s"))),
    ("server peak memory MB", lambda r: _n(r.get("server_peak_rss_mb"))),
    ("CPU s: server / load tool", lambda r: (
        f"{_n(r.get('server_cpu_s'))} / {_n(r.get('loadtool_cpu_s'))}")),
    ("server SIGKILLed / PostgreSQL restarted at s", lambda r: " / ".join([
        ", ".join(str(k) for k in r.get("kills_at_s", [])) or "–",
        ", ".join(f"{d['at_s']} (away {d['away_s']} s)" for d in r.get("database_restarts", []))
        or "–",
    ])),
    ("retries (503 / other)", lambda r: (
        f"{_n(r['retries'].get('503', 0))} / "
        f"{_n(sum(v for k, v in r['retries'].items() if k != '503'))}")),
]  # fmt: skip


SCENARIO_ORDER = (
    "concurrent_auto_submit", "mixed_submission_load", "stress_test", "no_client_submit",
    "crash_mid_stampede", "db_restart_mid_stampede", "stampede_2k", "stampede_5k",
    "stampede_10k",
)  # fmt: skip
# Scenarios whose submits come in one burst: there submits/s is the rate the server clears.
BURSTS = {"concurrent_auto_submit", "stress_test", "stampede_2k", "stampede_5k", "stampede_10k"}


def scenario_tables(results: dict[str, Any]) -> str:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for entry in results["scenarios"]:
        by_name.setdefault(entry["scenario"], []).append(entry)
    out: list[str] = []
    for name, entries in by_name.items():
        columns: list[tuple[str, dict[str, Any]]] = []
        for entry in entries:
            for target in ("examvault", "baseline"):
                if target in entry:
                    columns.append((f"{entry['store']} {target}", entry[target]))
        out.append(f"#### {name}\n")
        out.append("| | " + " | ".join(label for label, _ in columns) + " |")
        out.append("|---|" + "---|" * len(columns))
        for label, get in ROWS:
            out.append(f"| {label} | " + " | ".join(get(run) for _, run in columns) + " |")
        ratios = []
        for entry in entries if name in BURSTS else []:
            ev, base = entry.get("examvault"), entry.get("baseline")
            if ev and base and ev.get("submits_per_s") and base.get("submits_per_s"):
                ratios.append(
                    f"{entry['store']}: {ev['submits_per_s'] / base['submits_per_s']:.0f}×"
                )
        if ratios:
            out.append(f"\nsubmits/s, examvault ÷ baseline in the same run: {', '.join(ratios)}")
        out.append("")
    return "\n".join(out)


def steady_table(results: dict[str, Any]) -> str:
    out = [
        "| store | concurrency | saves/s (durable) | save p50 / p99 ms | `/healthz`/s "
        "| healthz p99 ms | saves ÷ healthz |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in results["steady"]:
        sv, hz = s["saves"], s["healthz"]
        out.append(
            f"| {s['store']} | {sv['concurrency']} | {_n(sv['per_s'])} | "
            f"{_n(sv['p50_ms'])} / {_n(sv['p99_ms'])} | {_n(hz['per_s'])} | "
            f"{_n(hz['p99_ms'])} | {_n(s['ratio'])} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/tables.py")
    parser.add_argument(
        "json", type=Path, nargs="+", help="runs; a later run replaces what it re-measured"
    )
    scenarios: dict[tuple[str, str], dict[str, Any]] = {}
    steady: dict[str, dict[str, Any]] = {}
    elapsed = 0.0
    for path in parser.parse_args().json:
        part = json.loads(path.read_text())
        for entry in part["scenarios"]:
            scenarios[(entry["store"], entry["scenario"])] = entry
        for entry in part["steady"]:
            steady[entry["store"]] = entry
        elapsed += part.get("elapsed_s") or 0.0
    order = {name: i for i, name in enumerate(SCENARIO_ORDER)}
    results = {
        "scenarios": sorted(
            scenarios.values(), key=lambda e: (order.get(e["scenario"], 99), e["store"] != "sqlite")
        ),
        "steady": sorted(steady.values(), key=lambda e: e["store"] != "sqlite"),
        "elapsed_s": round(elapsed, 1),
    }
    print(scenario_tables(results))
    print(steady_table(results))
    print(f"\n(run took {results.get('elapsed_s')} s)")


if __name__ == "__main__":
    main()
