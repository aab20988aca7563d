"""The server's own view of a running load test, second by second.

The load tool measures latency from its side; this polls the server's `/metrics` every
second and prints, per second, how many saves it answered, the server-side p99 bound of
their latency (from the histogram's bucket deltas) and the group-commit queue's depth.
It told the stampede's save spikes apart from the load tool's own pauses
(docs/performance.md):

    examvault loadtest stampede_10k --out out &  .venv/bin/python bench/watch.py out

It finds the server's port from the `server-examvault-<port>.log` the load test writes
in its --out folder, and stops when the server has been gone for 10 s; the rows go to
`<out>/watch.json` as [seconds, saves, p99 bound in s, queue depth].
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request
from pathlib import Path

_SAVES = re.compile(
    r'examvault_request_duration_seconds_bucket\{le="([^"]+)",method="PUT",'
    r'route="/api/v1/attempts/\{attempt_id\}/answers",status="200"\} (\S+)'
)
_QUEUE = re.compile(r"^examvault_write_queue_depth (\S+)", re.M)


def _port(out: Path) -> str:
    for _ in range(1200):
        for log in out.glob("server-examvault-*.log"):
            found = re.search(r"-(\d+)\.log$", log.name)
            if found:
                return found.group(1)
        time.sleep(0.5)
    raise SystemExit(f"no server log appeared in {out}")


def _p99(delta: dict[str, float]) -> float | None:
    total = delta.get("+Inf", 0.0)
    if not total:
        return None
    for bound in sorted((b for b in delta if b != "+Inf"), key=float):
        if delta[bound] >= 0.99 * total:
            return float(bound)
    return None


def main() -> None:
    out = Path(sys.argv[1])
    url = f"http://127.0.0.1:{_port(out)}/metrics"
    rows: list[tuple[float, int, float | None, float | None]] = []
    previous: dict[str, float] | None = None
    started = time.monotonic()
    gone = 0
    while gone < 10:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            gone += 1
            time.sleep(1)
            continue
        gone = 0
        buckets = {m.group(1): float(m.group(2)) for m in _SAVES.finditer(text)}
        queue = _QUEUE.search(text)
        if previous is not None and buckets:
            delta = {b: n - previous.get(b, 0.0) for b, n in buckets.items()}
            row = (
                round(time.monotonic() - started, 1),
                int(delta.get("+Inf", 0.0)),
                _p99(delta),
                float(queue.group(1)) if queue else None,
            )
            rows.append(row)
            print(*row, flush=True)
        previous = buckets
        time.sleep(1)
    (out / "watch.json").write_text(json.dumps(rows))
    slow = [r for r in rows if r[2] is not None and r[2] >= 0.1]
    print(f"{len(rows)} seconds; server-side save p99 >= 100 ms in {len(slow)}: {slow}")


if __name__ == "__main__":
    main()
