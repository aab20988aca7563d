"""Test helpers: an in-process server on a real database, and exam documents."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from examvault.clock import ManualClock
from examvault.core import Core
from examvault.settings import Settings
from examvault.web.app import create_app

ADMIN = "admin-token-for-tests"
EXAMPLE_DIR = Path(__file__).resolve().parent / "fixtures" / "example"


def example_dir() -> Path:
    """The worked example of docs/marking.md: an exam, its responses, expected results."""
    return EXAMPLE_DIR


def load_example(name: str) -> Any:
    return json.loads((example_dir() / name).read_text(), parse_float=Decimal)


def to_json(doc: Any) -> Any:
    """Decimals to JSON numbers with the same digits, for httpx."""
    return json.loads(json.dumps(doc, default=lambda d: float(d) if isinstance(d, Decimal) else d))


def small_exam(exam_id: str = "mock-1", n: int = 4, **overrides: Any) -> dict[str, Any]:
    """An exam with every question type: n questions per type, two sections."""
    questions = []
    for i in range(n):
        questions += [
            {"id": f"s{i}", "type": "single", "text": f"single {i}",
             "options": [{"id": o, "text": o} for o in "ABCD"], "answer": "B",
             "marking": "plus4_minus1"},
            {"id": f"m{i}", "type": "multiple", "text": f"multiple {i}",
             "options": [{"id": o, "text": o} for o in "ABCD"], "answer": ["A", "C"],
             "marking": "jee_advanced_multi"},
            {"id": f"n{i}", "type": "numeric", "text": f"numeric {i}",
             "answer": {"min": 2.45, "max": 2.55}, "marking": "gate_nat_2"},
        ]  # fmt: skip
    half = len(questions) // 2
    doc: dict[str, Any] = {
        "id": exam_id,
        "title": "Mock test",
        "duration_seconds": 3600,
        "grace_seconds": 30,
        "show_result": "on_submit",
        "sections": [
            {"id": "one", "title": "One", "questions": questions[:half]},
            {"id": "two", "title": "Two", "questions": questions[half:]},
        ],
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Server:
    """An app on a real database, driven through HTTP in-process."""

    client: httpx.AsyncClient
    clock: ManualClock
    core: Core
    app: Any = None  # the ASGI app, for tests that drive one of its layers

    async def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.client.request(method, f"/api/v1{path}", headers=bearer(ADMIN), **kw)

    async def as_(self, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return await self.client.request(method, f"/api/v1{path}", headers=bearer(token), **kw)

    async def create_exam(self, doc: dict[str, Any]) -> None:
        r = await self.admin("POST", "/exams", json=to_json(doc))
        assert r.status_code in (200, 201), r.text

    async def register(self, exam_id: str, *ids: str) -> dict[str, str]:
        r = await self.admin(
            "POST", f"/exams/{exam_id}/candidates",
            json={"candidates": [{"id": i, "name": f"Name {i}"} for i in ids]},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        return {c["id"]: c["token"] for c in r.json()["candidates"]}

    async def start(self, exam_id: str, token: str) -> dict[str, Any]:
        r = await self.as_(token, "POST", f"/exams/{exam_id}/attempts")
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    async def save(self, token: str, attempt_id: str, *items: dict[str, Any]) -> httpx.Response:
        return await self.as_(
            token, "PUT", f"/attempts/{attempt_id}/answers", json={"answers": list(items)}
        )


def test_settings(database: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database,
        "data_dir": data_dir,
        "admin_token": ADMIN,
        "sweep_interval_seconds": 0.05,
        "job_poll_seconds": 0.05,
        "migrate_on_start": False,
        "rate_burst": 100_000,
        "rate_per_second": 100_000.0,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running(database: str, data_dir: Path, **overrides: Any) -> AsyncIterator[Server]:
    """Start the app (writer, sweeper, job worker) on `database` with a manual clock."""
    clock = ManualClock()
    app = create_app(test_settings(database, data_dir, **overrides), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://examvault.test") as c:
            yield Server(client=c, clock=clock, core=app.state.core, app=app)


def moodle_quiz(questions: int, text_chars: int = 40) -> bytes:
    """A Moodle XML quiz of single-choice questions, each with a text of about `text_chars`."""
    pad = ("lorem ipsum " * (text_chars // 12 + 1))[:text_chars]
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n']
    for i in range(questions):
        parts.append(
            f'<question type="multichoice"><name><text>Q{i}</text></name>'
            f'<questiontext format="html"><text>Question {i}: {pad}</text></questiontext>'
            "<defaultgrade>1</defaultgrade><single>true</single>"
            f'<answer fraction="100"><text>right {i}</text></answer>'
            f'<answer fraction="0"><text>wrong {i}</text></answer></question>\n'
        )
    parts.append("</quiz>\n")
    return "".join(parts).encode()
