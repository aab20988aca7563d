"""Losing the database machine: the PostgreSQL primary dies mid-stampede, the
synchronous standby is promoted, and the server carries on with nothing lost.

A throwaway primary + synchronous standby pair is built for the test (its own ports and
directory; the machine's cluster on 5432 is not touched) and stopped and removed by the
fixture whatever happens. The server is one `examvault serve` process given both hosts
in one multi-host URL (`target_session_attrs=read-write`). Nothing here waits on a
guess at timing: the kill comes once a share of the submits is acknowledged, the
promotion only once the server has been seen answering 503 without a primary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from examvault.loadtest.failover import PgPair, alive, find_bindir
from examvault.loadtest.runner import Options, run

pytestmark = pytest.mark.slow

STUDENTS = 250


@pytest.fixture
def pg_pair() -> Iterator[PgPair]:
    try:
        find_bindir()
    except ValueError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    pair = PgPair.build()
    try:
        yield pair
    finally:
        pair.close()


def test_losing_the_primary_mid_stampede_loses_nothing(tmp_path: Path, pg_pair: PgPair) -> None:
    assert pg_pair.sync_state(pg_pair.primary_port) == "sync"
    first_primary = pg_pair.primary_port
    summary = run(
        Options(
            scenario="failover_mid_stampede",
            students=STUDENTS,
            questions=10,
            work_seconds=2,
            promote_after=0.5,
            pg_pair=pg_pair,
            out=tmp_path / "out",
            progress=False,
        )
    )
    [failover] = summary["failovers"]
    # with no primary the server refused with 503 (+ Retry-After, which pages honour) …
    assert failover["refused_503_without_primary"] > 0
    # … and after the promotion it carried on by itself: no restart, no new URL
    assert failover["first_ack_after_promotion_s"] is not None
    assert summary["kills_at_s"] == []
    # every acknowledged answer was on the standby; every attempt sealed once, scored right
    v = summary["verdict"]
    assert v["problems"] == []
    assert v["students"] == STUDENTS
    assert v["answers_acked"] > 0
    assert v["lost"] == 0
    assert v["submissions_failed"] == 0
    assert v["submissions_ok"] == STUDENTS
    assert v["submitted_twice"] == 0
    assert v["score_mismatch"] == 0
    assert summary["submits_acknowledged"] == STUDENTS
    assert summary["client_failures"] == {}
    # the operator's second step was done too: the lost machine is a synchronous standby
    # of the promoted one, at the same address, so the server's URL still covers both
    assert isinstance(failover["new_standby_s"], float)
    assert pg_pair.standby_port == first_primary
    assert pg_pair.is_primary(pg_pair.primary_port)
    assert not pg_pair.is_primary(pg_pair.standby_port)
    assert pg_pair.sync_state(pg_pair.primary_port) == "sync"


def test_the_pair_leaves_nothing_behind() -> None:
    try:
        find_bindir()
    except ValueError as exc:
        pytest.skip(str(exc))
    pair = PgPair.build()
    pair.kill_primary()
    standby = pair._tree(pair.standby_dir)
    assert standby, "the standby runs"
    pair.close()
    assert not pair.root.exists()
    assert not any(alive(p) for p in standby)
