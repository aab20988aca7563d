"""The numbers of a run: a table on the terminal, a JSON file and a picture over time."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from examvault.loadtest.student import Recorder
from examvault.loadtest.verify import Verdict


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of `values` (sorted or not); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_ms(samples: Sequence[tuple[float, float]]) -> dict[str, float | None]:
    """p50/p95/p99/max of (time, latency) samples, in milliseconds."""
    values = [lat for _, lat in samples]
    out: dict[str, float | None] = {}
    for name, p in (("p50", 50.0), ("p95", 95.0), ("p99", 99.0), ("max", 100.0)):
        v = percentile(values, p)
        out[name] = None if v is None else round(v * 1000, 1)
    return out


def start_storm(recorder: Recorder) -> dict[str, Any]:
    """The starts: from the first sent to the last acknowledged (the moment the last
    student holds the exam), their rate over that window, and the latency of the saves
    acknowledged inside it."""
    if not recorder.starts:
        return {"starts": 0, "start_window_s": None, "starts_per_s": None,
                "save_during_starts_latency_ms": latency_ms([])}  # fmt: skip
    first_sent = min(at - lat for at, lat in recorder.starts)
    last_held = max(at for at, _ in recorder.starts)
    window = max(last_held - first_sent, 1e-3)
    during = [(at, lat) for at, lat in recorder.saves if first_sent <= at <= last_held]
    return {
        "starts": len(recorder.starts),
        "start_window_s": round(window, 3),
        "starts_per_s": round(len(recorder.starts) / window, 1),
        "save_during_starts_latency_ms": latency_ms(during),
    }


def summary(
    scenario: str,
    target: str,
    database: str,
    verdict: Verdict,
    recorder: Recorder,
    *,
    elapsed: float,
    last_submit_to_result: float | None,
    submit_window: float | None,
    peak_rss_mb: float | None,
    kills: Sequence[float],
    database_restarts: Sequence[tuple[float, float]] = (),
) -> dict[str, Any]:
    """Every number of the run in one JSON-ready dict."""
    submits = len(recorder.submits)
    storm = start_storm(recorder)
    return {
        "scenario": scenario,
        "target": target,
        "database": database,
        "elapsed_s": round(elapsed, 2),
        "requests": recorder.requests,
        "requests_per_s": round(recorder.requests / elapsed, 1) if elapsed else None,
        "start_latency_ms": latency_ms(recorder.starts),
        "save_latency_ms": latency_ms(recorder.saves),
        "submit_latency_ms": latency_ms(recorder.submits),
        **storm,
        "submits_acknowledged": submits,
        "submit_window_s": None if submit_window is None else round(submit_window, 3),
        "submits_per_s": (round(submits / submit_window, 1) if submit_window else None),
        "last_submit_to_last_result_s": (
            None if last_submit_to_result is None else round(last_submit_to_result, 2)
        ),
        "server_peak_rss_mb": None if peak_rss_mb is None else round(peak_rss_mb, 1),
        "retries": dict(recorder.retries),
        "client_failures": dict(recorder.failures),
        "kills_at_s": [round(k, 2) for k in kills],
        "database_restarts": [
            {"at_s": round(at, 2), "away_s": round(away, 2)} for at, away in database_restarts
        ],
        "verdict": verdict.as_dict(),
    }


def print_table(s: Mapping[str, Any], console: Console | None = None) -> None:
    """The table a user reads after the run; lost answers come first on purpose."""
    console = console or Console()
    v = s["verdict"]
    t = Table(title=f"{s['scenario']} — {s['target']} on {s['database']}", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    lost_style = "bold red" if v["lost"] else "bold green"
    t.add_row("students", str(v["students"]))
    t.add_row("answers sent / acknowledged", f"{v['answers_sent']} / {v['answers_acked']}")
    t.add_row("answers LOST", f"[{lost_style}]{v['lost']}[/]")
    t.add_row(
        "  missing from attempt / in unsubmitted attempts",
        f"{v['lost_missing']} / {v['lost_unsubmitted']}",
    )
    t.add_row("  stranded (stored, attempt not submitted yet)", str(v["stranded"]))
    t.add_row("answers refused (after the end, not counted)", str(v["refused_late"]))
    fail_style = "bold red" if v["submissions_failed"] else "bold green"
    t.add_row(
        "submissions ok / failed",
        f"{v['submissions_ok']} / [{fail_style}]{v['submissions_failed']}[/]",
    )
    t.add_row(
        "  wrong kind / not exactly once / score mismatch",
        f"{v['kind_mismatch']} / {v['submitted_twice']} / {v['score_mismatch']}",
    )
    for kind in ("start", "save", "submit", "save_during_starts"):
        lat = s.get(f"{kind}_latency_ms")
        if lat is None:  # a summary written before the field existed
            continue
        t.add_row(
            f"{kind.replace('_', ' ')} latency p50 / p95 / p99 / max (ms)",
            " / ".join(
                "-" if lat[k] is None else f"{lat[k]:g}" for k in ("p50", "p95", "p99", "max")
            ),
        )
    if s.get("starts"):
        t.add_row(
            "starts / s; the last student holds the exam after (s)",
            f"{s['starts_per_s']}; {s['start_window_s']}",
        )
    t.add_row("requests / s", f"{s['requests_per_s']}")
    t.add_row("submits acknowledged / s (burst)", f"{s['submits_per_s']}")
    t.add_row("last submit → last result (s)", f"{s['last_submit_to_last_result_s']}")
    t.add_row("server peak memory (MB)", f"{s['server_peak_rss_mb']}")
    t.add_row(
        "CPU seconds: server / load tool",
        f"{s.get('server_cpu_s', '-')} / {s.get('loadtool_cpu_s', '-')}",
    )
    t.add_row(
        "load tool's GC pauses ≥ 5 ms: count / longest ms / total s",
        _pauses(s.get("loadtool_gc_pauses")),
    )
    t.add_row("retries", ", ".join(f"{k}: {n}" for k, n in s["retries"].items()) or "0")
    if s["kills_at_s"]:
        t.add_row("server SIGKILLed at (s)", ", ".join(map(str, s["kills_at_s"])))
    for r in s.get("database_restarts", []):
        t.add_row("PostgreSQL restarted at (s)", f"{r['at_s']} (away {r['away_s']} s)")
    for f in s.get("failovers", []):
        t.add_row(
            "PostgreSQL primary killed / standby promoted at (s)",
            f"{f['killed_at_s']} / {f['promoted_at_s']}",
        )
        t.add_row("  time without a primary (s)", f"{f['without_primary_s']}")
        t.add_row(
            "  503s without a primary / since the kill",
            f"{f['refused_503_without_primary']} / {f['refused_503_after_kill']}",
        )
        t.add_row("  first write acknowledged after promotion (s)",
                  f"{f['first_ack_after_promotion_s']}")  # fmt: skip
        if "new_standby_s" in f:
            t.add_row("  new synchronous standby built in (s)", f"{f['new_standby_s']}")
    console.print(t)
    for p in v["problems"][:10]:
        console.print(f"[red]problem:[/] {p}")


def write_json(s: Mapping[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{s['scenario']}-{s['target']}-{s['database']}.json"
    path.write_text(json.dumps(s, indent=2) + "\n")
    return path


def write_picture(s: Mapping[str, Any], recorder: Recorder, out: Path) -> Path:
    """Latency (p50/p99 per second) and throughput (per second) over the run."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server; must precede pyplot
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    fig, (ax_lat, ax_rate) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    series = (("start", recorder.starts), ("save", recorder.saves), ("submit", recorder.submits))
    for name, samples in series:
        buckets = _buckets(samples)
        if not buckets:
            continue
        xs = sorted(buckets)
        for p, style in ((50.0, "-"), (99.0, "--")):
            ys = [1000 * (percentile(buckets[x], p) or 0.0) for x in xs]
            ax_lat.plot(xs, ys, style, label=f"{name} p{int(p)}")
        ax_rate.plot(xs, [len(buckets[x]) for x in xs], label=f"{name}s acknowledged / s")
    for k in s.get("kills_at_s", []):
        for ax in (ax_lat, ax_rate):
            ax.axvline(k, color="red", linestyle=":", label="SIGKILL" if ax is ax_lat else None)
    for r in s.get("database_restarts", []):
        for ax in (ax_lat, ax_rate):
            ax.axvspan(
                r["at_s"], r["at_s"] + r["away_s"], color="orange", alpha=0.2,
                label="PostgreSQL restart" if ax is ax_lat else None,
            )  # fmt: skip
    for f in s.get("failovers", []):
        for ax in (ax_lat, ax_rate):
            ax.axvspan(
                f["killed_at_s"], f["promoted_at_s"], color="red", alpha=0.15,
                label="no PostgreSQL primary" if ax is ax_lat else None,
            )  # fmt: skip
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.set_yscale("log")
    ax_lat.legend(loc="upper left", fontsize="small")
    ax_rate.set_ylabel("per second")
    ax_rate.set_xlabel("seconds since start")
    ax_rate.legend(loc="upper left", fontsize="small")
    fig.suptitle(f"{s['scenario']} — {s['target']} on {s['database']}")
    fig.tight_layout()
    path = out / f"{s['scenario']}-{s['target']}-{s['database']}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _buckets(samples: Sequence[tuple[float, float]]) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for at, lat in samples:
        out.setdefault(int(at), []).append(lat)
    return out


def _pauses(p: dict[str, Any] | None) -> str:
    if not p:
        return "-"
    return f"{p['count']} / {p['longest_ms']} / {p['total_s']}"
