"""A candidate's draw is the same through two real server processes and after a restart.

The draw is never stored: each process recomputes it from the exam id, its version and
the candidate id (domain/draw.py). Each process here runs with its own PYTHONHASHSEED,
so a draw that leaned on Python's salted `hash()` would differ between them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from examvault.loadtest.server import ServerProcess
from tests.conftest import _truncate
from tests.helpers import ADMIN, bearer
from tests.integration.test_pools import pool_exam

pytestmark = pytest.mark.slow


def questions(view: dict[str, Any]) -> list[list[str]]:
    """Each section's question ids in the order this candidate sees them."""
    return [[q["id"] for q in s["questions"]] for s in view["sections"]]


def test_a_draw_is_the_same_through_two_processes_and_after_a_restart(
    pg_url: str, tmp_path: Path
) -> None:
    asyncio.run(_truncate(pg_url))
    a, b = (
        ServerProcess(
            "examvault", pg_url, tmp_path, admin_token=ADMIN, env={"PYTHONHASHSEED": seed}
        )
        for seed in ("1", "2")
    )
    for s in (a, b):
        s.start()
    try:
        admin = httpx.Client(base_url=f"{a.url}/api/v1", headers=bearer(ADMIN), timeout=10)
        assert admin.post("/exams", json=pool_exam()).status_code == 201
        ids = [f"P{i:02d}" for i in range(12)]
        reg = admin.post("/exams/pools/candidates",
                         json={"candidates": [{"id": i} for i in ids]}).json()["candidates"]  # fmt: skip
        tokens = {c["id"]: c["token"] for c in reg}
        seen: dict[str, list[list[str]]] = {}
        attempt: dict[str, str] = {}
        for cid in ids:
            started = httpx.post(f"{a.url}/api/v1/exams/pools/attempts",
                                 headers=bearer(tokens[cid]), timeout=10)  # fmt: skip
            assert started.status_code == 201, started.text
            attempt[cid] = started.json()["attempt_id"]
            seen[cid] = questions(started.json())
            through_b = httpx.get(f"{b.url}/api/v1/attempts/{attempt[cid]}",
                                  headers=bearer(tokens[cid]), timeout=10)  # fmt: skip
            assert questions(through_b.json()) == seen[cid], cid
        assert len({tuple(v[1]) for v in seen.values()}) > 1, "candidates differ"

        # B accepts a drawn question and refuses the others as unknown.
        cid = ids[0]
        drawn = set(seen[cid][1])
        for qid in [f"p{i}" for i in range(6)]:
            r = httpx.put(
                f"{b.url}/api/v1/attempts/{attempt[cid]}/answers",
                headers=bearer(tokens[cid]),
                json={"answers": [{"question_id": qid, "response": "B", "seq": 1}]},
                timeout=10,
            )
            assert r.status_code == (200 if qid in drawn else 422), (qid, r.text)

        a.stop()
        a.env["PYTHONHASHSEED"] = "3"
        a.start()
        for cid in ids:
            again = httpx.get(f"{a.url}/api/v1/attempts/{attempt[cid]}",
                              headers=bearer(tokens[cid]), timeout=10)  # fmt: skip
            assert again.status_code == 200, again.text
            assert questions(again.json()) == seen[cid], cid
    finally:
        for s in (a, b):
            s.stop()
