"""The load tool's own garbage-collection pauses, measured while it runs.

The tool keeps 10,000 students in one process, with every question's state: millions
of objects. A full collection over them holds its event loop, and every request in
flight then looks slower than the server made it; the requests held back meanwhile
reach the server together afterwards, as a burst. So the tool records each of its
collections that took long enough to matter, and the report shows them beside the
latencies they may explain.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

RECORDED_MS = 5.0  # shorter collections are not recorded


class Quiet:
    """The tool's collector, calmed for the run and held in the seconds that matter.

    `calm`, once the students are built: move them out of the collector's sight and
    collect less often, as the server does (cli.tune_gc). With CPython's defaults the
    tool's full collections in `stampede_10k` took 150–815 ms each, 22 of them over
    100 ms: five in the start storm (1.1 s in all) and three in the second of the
    submits (2.3 s), each holding every request in flight (docs/performance.md, "The load
    tool's own pauses").

    `between`: no collections at all while the server is put to the test it reports on,
    the start storm and the submits. Calmed, the tool's collections still took 68–145 ms
    in those seconds: 10,000 requests in flight at once are that many live objects for a
    younger generation's collection to look at. During each window (a few seconds;
    memory grows by what those seconds allocate) the collector is off, and what the
    window leaves behind is frozen when it ends. Windows may overlap: the collector is
    back on when the last one ends.

    `close` puts everything back as it was (the tool may run inside another program,
    the tests' process for one), windows not yet begun or ended included: their timers
    are cancelled, so none can turn the collector off after the run.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._threshold = gc.get_threshold()
        self._timers: list[asyncio.TimerHandle] = []

    def calm(self) -> None:
        gc.collect()
        gc.freeze()
        gc.set_threshold(10_000, 20, 20)

    def between(self, begin: float, end: float) -> None:
        """Hold the collector from `begin` to `end` (time.monotonic)."""
        loop, now = asyncio.get_running_loop(), time.monotonic()
        self._timers.append(loop.call_later(max(0.0, begin - now), self.hold))
        self._timers.append(loop.call_later(max(0.0, begin - now, end - now), self.release))

    def hold(self) -> None:
        self._depth += 1
        gc.disable()

    def release(self) -> None:
        self._depth = max(0, self._depth - 1)
        if self._depth == 0:
            gc.freeze()
            gc.enable()

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._depth = 0
        gc.unfreeze()
        gc.set_threshold(*self._threshold)
        gc.enable()


class GcPauses:
    """Collections of this process longer than RECORDED_MS, as (seconds since t0, ms,
    generation), while installed."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.pauses: list[tuple[float, float, int]] = []
        self._began = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._began = now
            return
        took_ms = (now - self._began) * 1000
        if took_ms >= RECORDED_MS:
            self.pauses.append((round(self._began - self.t0, 3), round(took_ms, 1),
                                int(info.get("generation", -1))))  # fmt: skip

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, Any]:
        """Count, longest and total of the recorded pauses, and the pauses themselves."""
        longest = max((ms for _, ms, _ in self.pauses), default=0.0)
        return {
            "count": len(self.pauses),
            "longest_ms": longest,
            "total_s": round(sum(ms for _, ms, _ in self.pauses) / 1000, 3),
            "pauses": self.pauses,
        }
