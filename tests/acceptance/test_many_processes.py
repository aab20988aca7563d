"""Several server processes on one PostgreSQL: every attempt auto-submitted exactly once."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from examvault.loadtest.server import ServerProcess
from tests.conftest import _truncate
from tests.helpers import ADMIN, bearer, small_exam, to_json

pytestmark = pytest.mark.slow


def test_two_processes_seal_each_expired_attempt_once(pg_url: str, tmp_path: Path) -> None:
    import asyncio

    asyncio.run(_truncate(pg_url))
    servers = [ServerProcess("examvault", pg_url, tmp_path, admin_token=ADMIN) for _ in range(2)]
    for s in servers:
        s.start()
    try:
        admin = httpx.Client(base_url=servers[0].url, headers=bearer(ADMIN), timeout=10)
        doc = small_exam(duration_seconds=2, grace_seconds=1)
        assert admin.post("/api/v1/exams", json=to_json(doc)).status_code == 201
        ids = [f"P{i:02d}" for i in range(30)]
        reg = admin.post("/api/v1/exams/mock-1/candidates",
                         json={"candidates": [{"id": i} for i in ids]}).json()["candidates"]  # fmt: skip
        for i, c in enumerate(reg):  # start through both processes
            url = servers[i % 2].url
            r = httpx.post(f"{url}/api/v1/exams/mock-1/attempts", headers=bearer(c["token"]))
            assert r.status_code == 201
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            rows = admin.get("/api/v1/exams/mock-1/results").json()["results"]
            if all(r["status"] == "submitted" for r in rows):
                break
            time.sleep(0.2)
        assert all(r["status"] == "submitted" and r["submit_kind"] == "auto" for r in rows)
        sealed = 0.0
        for s in servers:
            text = httpx.get(f"{s.url}/metrics").text
            match = re.search(r'examvault_submissions_total\{kind="auto"\} ([0-9.]+)', text)
            sealed += float(match.group(1)) if match else 0.0
        assert sealed == len(ids), "each attempt sealed once, by one of the two processes"
    finally:
        for s in servers:
            s.stop()
