"""Every Prometheus instrument, defined once, named after what it counts.

Instruments live on a registry per app rather than the global one, so that tests can
run several apps in one process without their counters colliding.
"""

from __future__ import annotations

import time
from collections import deque

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)


class Metrics:
    """The instruments of one server process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.submissions = Counter(
            "examvault_submissions",
            "Attempts sealed, by kind (manual, auto or invigilator)",
            ["kind"],
            registry=r,
        )
        self.answer_saves = Counter(
            "examvault_answer_saves", "Answer items durably stored and applied", registry=r
        )
        self.items_refused = Counter(
            "examvault_items_refused",
            "Answer items not applied, by reason (stale, late, invalid)",
            ["reason"],
            registry=r,
        )
        self.late_journal_entries = Counter(
            "examvault_late_journal_entries",
            "Items journaled after their attempt's end: kept, not counted",
            registry=r,
        )
        self.request_latency = Histogram(
            "examvault_request_duration_seconds",
            "Request latency by route template",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.attempts_in_progress = Gauge(
            "examvault_attempts_in_progress", "Attempts started and not yet sealed", registry=r
        )
        self.write_queue_depth = Gauge(
            "examvault_write_queue_depth", "Writes waiting for the group commit", registry=r
        )
        self.write_batch_size = Histogram(
            "examvault_write_batch_size",
            "Operations committed per transaction",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=r,
        )
        self.write_batch_seconds = Histogram(
            "examvault_write_batch_seconds",
            "Time to apply and commit one shared transaction (the writer is busy for the sum)",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
            registry=r,
        )
        self.server_errors = Counter(
            "examvault_server_errors",
            "Responses 5xx other than 503, by route: bugs, and for a write a possible loss",
            ["route"],
            registry=r,
        )
        self.write_failures = Counter(
            "examvault_write_failures",
            "Write operations that failed for a reason other than the database being down",
            registry=r,
        )
        self.overload_rejections = Counter(
            "examvault_overload_rejections", "Requests answered 503 because of overload", registry=r
        )
        self.jobs = Counter(
            "examvault_jobs",
            "Background jobs finished, by kind and outcome",
            ["kind", "outcome"],
            registry=r,
        )
        self.save_window = LatencyWindow()


class LatencyWindow:
    """Save latencies of the last minute, for the live page's p99 and saves per second."""

    def __init__(self, seconds: float = 60.0, limit: int = 200_000) -> None:
        self._samples: deque[tuple[float, float]] = deque(maxlen=limit)
        self._seconds = seconds

    def add(self, latency: float) -> None:
        self._samples.append((time.monotonic(), latency))

    def p99_ms(self) -> float | None:
        cutoff = time.monotonic() - self._seconds
        values = sorted(lat for at, lat in self._samples if at >= cutoff)
        if not values:
            return None
        return round(values[min(len(values) - 1, int(len(values) * 0.99))] * 1000, 1)
