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


def test_a_key_change_and_a_registration_through_one_process_are_used_by_the_other(
    pg_url: str, tmp_path: Path
) -> None:
    """No per-process cache hides a change made through another process: B scores a save
    with the key A changed a moment ago, and knows the candidate A registered."""
    import asyncio

    asyncio.run(_truncate(pg_url))
    a, b = (ServerProcess("examvault", pg_url, tmp_path, admin_token=ADMIN) for _ in range(2))
    for s in (a, b):
        s.start()
    try:
        through_a = httpx.Client(base_url=f"{a.url}/api/v1", headers=bearer(ADMIN), timeout=10)
        assert through_a.post("/exams", json=to_json(small_exam())).status_code == 201

        def register(cid: str) -> str:
            r = through_a.post("/exams/mock-1/candidates", json={"candidates": [{"id": cid}]})
            assert r.status_code == 201, r.text
            token: str = r.json()["candidates"][0]["token"]
            return token

        def sit(token: str, response: str) -> dict[str, object]:
            """Start, answer s0 and submit, all through process B."""
            as_b = httpx.Client(base_url=f"{b.url}/api/v1", headers=bearer(token), timeout=10)
            started = as_b.post("/exams/mock-1/attempts")
            assert started.status_code == 201, started.text
            attempt = started.json()["attempt_id"]
            item = {"question_id": "s0", "response": response, "seq": 1}
            saved = as_b.put(f"/attempts/{attempt}/answers", json={"answers": [item]})
            assert saved.status_code == 200, saved.text
            submitted = as_b.post(f"/attempts/{attempt}/submit")
            assert submitted.status_code == 200, submitted.text
            result: dict[str, object] = submitted.json()["result"]
            return result

        # B compiles the exam under its first key (s0 is "B"): +4 under plus4_minus1.
        assert sit(register("early"), "B")["score"] == 4
        change = {"reason": "s0 was misprinted", "changes": [{"question_id": "s0", "answer": "A"}]}
        assert through_a.put("/exams/mock-1/key", json=change).status_code == 202
        # Registered through A, started and scored through B under the key A changed.
        assert sit(register("late"), "A")["score"] == 4
    finally:
        for s in (a, b):
            s.stop()
