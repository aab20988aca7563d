"""bench/ceiling.py at CI size: what wrk counted is what the server stored.

The bench itself runs, on each store, for 2 s a run and with a handful of connections:
the no-op, /healthz, saves over many attempts (alone, then beside paced `live` polls),
starts with fresh tokens and submits of the attempts started. Only correctness is asserted — no 5xx but 503, every 200 save
applied and in the exam's `answers_saved`, every start 201 (or 503) and stored, every
submit sealed once — never a rate or a latency. Skipped when Debian's wrk is absent
(`make wrk`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from bench import ceiling
from bench.run import Database

from examvault.loadtest import wrk

pytestmark = pytest.mark.slow

IN_CI = os.environ.get("CI", "").lower() == "true"


def _bad(run: dict[str, Any], allowed: set[str]) -> dict[str, int]:
    return {s: n for s, n in run["statuses"].items() if s not in allowed}


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_what_wrk_counted_is_what_was_stored(store: str, tmp_path: Path) -> None:
    if wrk.binary() is None:
        pytest.skip("wrk is not installed (make wrk: apt-get install wrk)")
    try:
        database = Database(store, tmp_path)
        url = database.__enter__()
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        result = ceiling.measure_store(
            store,
            url,
            tmp_path,
            seconds=2,
            connections=8,
            threads=2,
            seats=200,
            starts=60,
            live_rate=200,
            live_connections=4,
        )
    finally:
        database.__exit__()
    runs, stored = result["runs"], result["stored"]
    for name in ("noop", "healthz"):
        assert runs[name]["requests"] > 0 and runs[name]["non_2xx"] == 0, runs[name]
    save, start, submit = runs["save"], runs["start"], runs["submit"]
    beside, live = runs["save_live"], runs["live"]
    assert _bad(beside, {"200", "503"}) == {} and beside["counters"].get("stale", 0) == 0
    assert live["requests"] > 0 and _bad(live, {"200", "503"}) == {}
    assert live["counters"]["live"] == live["statuses"]["200"]
    assert _bad(save, {"200", "503"}) == {}
    assert save["counters"].get("stale", 0) == 0
    assert stored["answers_saved"] == save["counters"]["accepted"] == save["statuses"]["200"]
    assert _bad(start, {"201", "503"}) == {}
    assert start["requests"] == stored["tokens"] == 60
    assert stored["attempts_started"] == start["statuses"].get("201", 0)
    assert _bad(submit, {"200", "503"}) == {}
    assert submit["requests"] == stored["attempts_started"]
    assert (
        stored["attempts_submitted"]
        == stored["stats_submitted"]
        == submit["statuses"].get("200", 0)
    )
    assert result["correct"], result["checks"]
