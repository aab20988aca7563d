"""`examvault report`: an exam's analytics written out as files (src/examvault/analytics_files.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.acceptance.test_cli import examvault
from tests.helpers import running
from tests.integration.test_key_changes import ANSWERS, sit_exam

pytestmark = pytest.mark.slow


async def test_report_writes_the_analytics_tables_and_pictures(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'report.db'}"
    from examvault.store.migrate import upgrade

    upgrade(db)
    async with running(db, tmp_path / "data") as server:
        await sit_exam(server)  # four submitted, one absent, closed
        served = (await server.admin("GET", "/exams/mock-1/analytics")).json()

    out = tmp_path / "report"
    r = examvault("report", "mock-1", "--out", str(out), "--database", db, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    names = {"analytics.json", "items.csv", "results.csv", "histogram.png", "sections.png",
             "difficulty_discrimination.png"}  # fmt: skip
    assert names <= {p.name for p in out.iterdir()}
    for picture in ("histogram.png", "sections.png", "difficulty_discrimination.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    written = json.loads((out / "analytics.json").read_text())
    assert written["submitted"] == len(ANSWERS) and written["absent"] == 1
    for key in ("score", "cronbach_alpha", "sections", "questions"):
        assert written[key] == served[key], key  # the same figures as the API
    items = list(csv.DictReader((out / "items.csv").open()))
    assert [row["id"] for row in items] == [q["id"] for q in served["questions"]]
    s0 = next(row for row in items if row["id"] == "s0")
    assert s0["facility"] == str(
        next(q for q in served["questions"] if q["id"] == "s0")["facility"]
    )
    assert s0["options"] == "A=1;B=2;C=1;D=0"
    results = list(csv.DictReader((out / "results.csv").open()))
    assert {row["candidate_id"] for row in results} == {*ANSWERS, "R5"}

    r = examvault("report", "nope", "--out", str(out), "--database", db, cwd=tmp_path)
    assert r.returncode == 2 and "no exam" in r.stderr
