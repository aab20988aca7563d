"""Token buckets per candidate token (and optionally per client address).

A burst allowance lets a page flush its outbox after a network drop; the steady rate
stops a runaway client. Buckets live in this process's memory, bounded in number: a
limit that several processes each enforce is looser, never stricter, than configured.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict


class Limiter:
    """`burst` requests at once, then `rate` per second, per key."""

    def __init__(self, burst: int, rate: float, max_keys: int = 500_000) -> None:
        self.burst = float(burst)
        self.rate = rate
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys

    def check(self, key: str, now: float | None = None) -> int:
        """0 if the request may go ahead, else the seconds to wait before retrying."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            wait = 0
        else:
            self._buckets[key] = (tokens, now)
            wait = max(1, math.ceil((1 - tokens) / self.rate))
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait
