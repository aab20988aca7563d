"""wrk, the compiled load generator, and the Lua scripts it runs (this folder).

A Python client needs ~100–200 µs of CPU a request, wrk ~30: on two cores a Python load
tool takes the server's share of the machine, and measures itself as much as the server.
So the benchmarks (bench/ceiling.py, bench/probes.py) and the `live` scenario's pollers
(loadtest/live.py) send with wrk. Each script reports its totals as one JSON line
("CEILING {…}") from done(); common.lua says how the scripts share their lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent


def binary() -> str | None:
    """wrk's path, or None when it is not installed."""
    return shutil.which("wrk")


def run(
    url: str,
    script: str,
    lines: Path | None,
    *,
    seconds: float,
    connections: int,
    threads: int,
    once: bool = False,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One wrk run; its totals, latency percentiles and the statuses it saw.

    `lines` given: the script sends for `seconds` (or each line once, `once`) and stops
    by itself when every request it sent is answered (common.lua); wrk's -d is
    only a bound then.
    """
    found_wrk = binary()
    if found_wrk is None:
        raise RuntimeError("wrk is not installed (make wrk: apt-get install wrk)")
    threads = max(1, min(threads, connections))
    bound = seconds if lines is None else (600 if once else seconds + 60)
    cmd = [found_wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(bound))}s",
           "--timeout", "10s", "--latency", "-s", str(SCRIPTS / script), url]  # fmt: skip
    if lines is not None:
        done_file = lines.with_suffix(".done")
        done_file.unlink(missing_ok=True)
        cmd += ["--", str(lines), str(threads), "0" if once else str(seconds), str(done_file)]
        cmd += list(extra)
    load_before = os.getloadavg()[0]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=bound + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    found = [ln for ln in done.stdout.splitlines() if ln.startswith("CEILING ")]
    if not found:
        raise RuntimeError(f"wrk printed no CEILING line:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(found[-1].removeprefix("CEILING "))
    statuses = {str(k): int(v) for k, v in raw["statuses"].items()}
    # the scripts with lines stop by themselves: their time is from the first request
    # sent to the last answer
    seconds_run = (raw["active_us"] or raw["duration_us"]) / 1e6
    errors = raw["errors"]
    if statuses:
        non_2xx = sum(n for s, n in statuses.items() if not s.startswith("2"))
    else:  # plain.lua parses no responses: wrk's own count of statuses above 399
        non_2xx = int(errors["status"])
    lat = raw["latency_us"]
    return {
        "script": script,
        "connections": connections,
        "threads": threads,
        "seconds": round(seconds_run, 3),
        "requests": raw["requests"],
        "per_s": round(raw["requests"] / seconds_run, 1) if seconds_run else 0.0,
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p90_ms": round(lat["p90"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "statuses": statuses,
        "non_2xx": non_2xx,
        "socket_errors": {k: int(v) for k, v in errors.items() if k != "status" and v},
        "counters": raw["counters"],
        "load_avg_1m_before": round(load_before, 2),
        "wrk_output": done.stdout,
    }


def write_lines(path: Path, lines: list[tuple[str, str]]) -> Path:
    """The "path token" lines a script takes, written to `path`."""
    path.write_text("".join(f"{p} {t}\n" for p, t in lines))
    return path
