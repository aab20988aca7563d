"""A small, fast version of every load scenario, run by the real load tool.

Each test starts `examvault serve` (or the baseline) as a process, drives it with the
same simulated exam pages `examvault loadtest` uses, and asserts the tool's own
verification: nothing acknowledged was lost, every attempt was submitted exactly once
with the expected kind, and every score equals a recomputation from the client's record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from examvault.loadtest import wrk
from examvault.loadtest.runner import Options, run

pytestmark = pytest.mark.slow


def _assert_nothing_lost(summary: dict[str, Any], students: int) -> None:
    v = summary["verdict"]
    assert v["problems"] == []
    assert v["students"] == students
    assert v["lost"] == 0
    assert v["submissions_failed"] == 0
    assert v["submissions_ok"] == students
    assert v["score_mismatch"] == 0
    assert v["answers_acked"] > 0
    assert summary["client_failures"] == {}


def _run(tmp_path: Path, scenario: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("database", f"sqlite:///{tmp_path / 'lt.db'}")
    opts = Options(scenario=scenario, out=tmp_path / "out", progress=False, questions=10, **kw)
    summary = run(opts)
    assert list((tmp_path / "out").glob("*.png")), "no picture written"
    return summary


@pytest.mark.parametrize(
    ("scenario", "students", "work"),
    [("concurrent_auto_submit", 40, 2.0), ("stress_test", 60, 2.0), ("stampede_2k", 80, 2.0)],
)
def test_students_submitting_together_lose_nothing(
    tmp_path: Path, scenario: str, students: int, work: float
) -> None:
    summary = _run(tmp_path, scenario, students=students, work_seconds=work)
    _assert_nothing_lost(summary, students)
    assert summary["submits_acknowledged"] == students


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_start_storm_loses_nothing(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    """Everyone starts in the same second (a small start_storm_10k): every start gets its
    view (a 503 + Retry-After retried is fine), then every answer and submit holds."""
    database = f"sqlite:///{tmp_path / 'lt.db'}"
    if store == "postgresql":
        database = request.getfixturevalue("pg_url")
        import asyncio

        from tests.conftest import _truncate

        asyncio.run(_truncate(database))
    summary = _run(tmp_path, "start_storm_10k", students=150, work_seconds=3, database=database)
    _assert_nothing_lost(summary, 150)
    assert summary["starts"] == 150
    assert summary["start_window_s"] is not None
    assert summary["submits_acknowledged"] == 150


def test_mixed_manual_and_server_submits(tmp_path: Path) -> None:
    summary = _run(tmp_path, "mixed_submission_load", students=30, duration=5, work_seconds=2)
    _assert_nothing_lost(summary, 30)
    assert summary["submits_acknowledged"] == 15  # the other 15 were sealed by the server


def test_the_server_submits_when_nobody_does(tmp_path: Path) -> None:
    summary = _run(tmp_path, "no_client_submit", students=30, duration=4, work_seconds=1)
    _assert_nothing_lost(summary, 30)
    assert summary["submits_acknowledged"] == 0
    assert summary["last_submit_to_last_result_s"] is not None
    assert summary["last_submit_to_last_result_s"] < 5


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_kill_mid_stampede_loses_nothing(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    database = request.getfixturevalue("pg_url") if store == "postgresql" else None
    extra = {"database": database} if database else {}
    summary = _run(tmp_path, "crash_mid_stampede", students=40, work_seconds=2, **extra)
    assert len(summary["kills_at_s"]) == 1
    assert summary["retries"], "the kill hit no request in flight"
    _assert_nothing_lost(summary, 40)


def test_the_same_tool_drives_the_baseline(tmp_path: Path) -> None:
    summary = _run(tmp_path, "concurrent_auto_submit", students=10, work_seconds=1,
                   target="baseline")  # fmt: skip
    _assert_nothing_lost(summary, 10)


def test_a_database_restart_mid_stampede_loses_nothing(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL really restarts (fast shutdown) under the running server: the server
    answers 503 while it is away, reconnects by itself, and nothing is lost."""
    database = request.getfixturevalue("pg_url")
    summary = _run(
        tmp_path, "db_restart_mid_stampede", students=40, work_seconds=2, database=database
    )
    assert len(summary["database_restarts"]) == 1
    assert summary["kills_at_s"] == [], "the server itself was never restarted"
    assert summary["retries"].get("503"), "the restart was not seen as 503 by any request"
    _assert_nothing_lost(summary, 40)


@pytest.mark.parametrize(
    ("store", "pollers"), [("sqlite", "wrk"), ("sqlite", "python"), ("postgresql", "wrk")]
)
def test_live_polls_beside_autosave_lose_nothing(
    tmp_path: Path, store: str, pollers: str, request: pytest.FixtureRequest
) -> None:
    """A small `live` run (docs/performance.md): autosave alone, then beside pollers of
    `GET …/live` (wrk's, or the tool's own Python ones). Correctness only — no figure is
    asserted: every acknowledged save is stored, no save or poll failed, every poll saw
    its attempt in progress."""
    database = f"sqlite:///{tmp_path / 'lt.db'}"
    if store == "postgresql":
        database = request.getfixturevalue("pg_url")
        import asyncio

        from tests.conftest import _truncate

        asyncio.run(_truncate(database))
    opts = Options(scenario="live", students=40, work_seconds=2, database=database,
                   out=tmp_path / "out", progress=False, pollers=pollers)  # type: ignore[arg-type]  # fmt: skip
    summary = run(opts)
    v = summary["verdict"]
    assert v == {"acknowledged_saves": v["acknowledged_saves"], "lost": 0, "saves_failed": 0,
                 "live_failed": 0, "live_wrong": 0}  # fmt: skip
    assert v["acknowledged_saves"] > 0
    assert summary["saves_without_live"]["saves_ok"] > 0
    polled = summary["saves_with_live"]
    assert polled["saves_ok"] > 0 and polled["live_ok"] > 0
    assert polled["pollers"] == (pollers if wrk.binary() else "python")
    assert (tmp_path / "out" / f"live-examvault-{store}.json").exists()
