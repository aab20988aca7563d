"""Browser tests: a real `examvault serve` process driven through Debian's Chromium.

The server runs as a subprocess on a free port with its own SQLite database; Playwright
drives /usr/bin/chromium (never a downloaded browser). Screens are kept as screenshots
under test-artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright

from examvault.loadtest.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("EXAMVAULT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_TOKEN = "browser-tests-admin-token-0123456789"
OFFLINE_TEXT = "Offline — answers kept on this device"


@contextlib.contextmanager
def running_server(directory: Path) -> Iterator[ServerProcess]:
    """`examvault serve` on a SQLite database of its own under `directory`."""
    server = ServerProcess(
        "examvault",
        f"sqlite:///{directory / 'examvault.db'}",
        directory / "data",
        {"EXAMVAULT_LOG_LEVEL": "INFO"},
        log_dir=directory,
        admin_token=ADMIN_TOKEN,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The server the browser tests share."""
    with running_server(tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of this test's own, for tests that pause or kill it."""
    with running_server(tmp_path / "server") as started:
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: while Playwright's sync API is alive, its event loop
    # counts as running in this thread, and pytest-asyncio could not run async tests.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    created = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    created.set_default_timeout(15_000)
    yield created
    created.close()


@dataclass
class Console:
    """What the page said on its console; CSP violations fail the test."""

    lines: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [line for line in self.lines if "Content Security Policy" in line]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's outcome on the test, for the screenshot of a failure."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(
    context: BrowserContext, console: Console, request: pytest.FixtureRequest
) -> Iterator[Page]:
    opened = context.new_page()
    opened.on("console", lambda message: console.lines.append(f"{message.type}: {message.text}"))
    opened.on("pageerror", lambda error: console.lines.append(f"pageerror: {error}"))
    yield opened
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        with contextlib.suppress(Exception):
            shot(opened, f"failed-{request.node.name}")
    log = SCREENSHOTS.parent / "console" / f"{request.node.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join(console.lines))
    assert not console.csp_violations(), console.csp_violations()
    assert not [line for line in console.lines if line.startswith("pageerror")], console.lines


def shot(page: Page, name: str) -> Path:
    """Keep a screenshot of the screen as a test artefact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------- exams and candidates

OPTION_QUESTIONS: dict[str, Any] = {
    "physics": {
        "title": "Physics",
        "questions": [
            {
                "id": "p1",
                "type": "single",
                "text": "What is the SI unit of force?",
                "options": [
                    {"id": "A", "text": "joule"},
                    {"id": "B", "text": "newton"},
                    {"id": "C", "text": "watt"},
                    {"id": "D", "text": "pascal"},
                ],
                "answer": "B",
                "marking": {"correct": 4, "wrong": -1},
            },
            {
                "id": "p2",
                "type": "multiple",
                "text": "Which of these are vectors?",
                "options": [
                    {"id": "A", "text": "force"},
                    {"id": "B", "text": "mass"},
                    {"id": "C", "text": "velocity"},
                    {"id": "D", "text": "temperature"},
                ],
                "answer": ["A", "C"],
                "marking": {"correct": 4, "wrong": -2},
            },
            {
                "id": "p3",
                "type": "numeric",
                "text": "A quarter of g, in m/s², to two decimal places?",
                "answer": {"min": 2.45, "max": 2.55},
                "marking": {"correct": 4, "wrong": 0},
            },
        ],
    },
    "maths": {
        "title": "Mathematics",
        "questions": [
            {
                "id": "m1",
                "type": "single",
                "text": "The derivative of x² at x = 1?",
                "options": [
                    {"id": "A", "text": "2"},
                    {"id": "B", "text": "1"},
                    {"id": "C", "text": "0"},
                    {"id": "D", "text": "4"},
                ],
                "answer": "A",
                "marking": {"correct": 4, "wrong": -1},
            },
            {
                "id": "m2",
                "type": "multiple",
                "text": "Which of these are prime?",
                "options": [
                    {"id": "A", "text": "2"},
                    {"id": "B", "text": "4"},
                    {"id": "C", "text": "3"},
                    {"id": "D", "text": "9"},
                ],
                "answer": ["A", "C"],
                "marking": {"correct": 4, "wrong": -2},
            },
            {
                "id": "m3",
                "type": "numeric",
                "text": "The square root of 2, to two decimal places?",
                "answer": {"min": 1.41, "max": 1.42},
                "marking": {"correct": 4, "wrong": 0},
            },
        ],
    },
}

_exam_numbers = itertools.count(1)


@dataclass
class Exam:
    """An exam on a server, with its registered candidates' ids and tokens."""

    server: ServerProcess
    id: str
    title: str
    candidates: list[tuple[str, str]]  # (candidate id, token)

    @property
    def token(self) -> str:
        return self.candidates[0][1]

    def candidate(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.server.url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=20.0,
        )

    def stored(self, token: str | None = None) -> dict[str, Any]:
        """The attempt view as the server holds it now (through the candidate's token)."""
        with self.candidate(token or self.token) as client:
            me = client.get("/me").raise_for_status().json()
            assert me["attempt"] is not None, "no attempt was started"
            return client.get(f"/attempts/{me['attempt']['attempt_id']}").raise_for_status().json()


def admin_client(server: ServerProcess) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=20.0,
    )


def create_exam(
    server: ServerProcess,
    *,
    duration_seconds: int = 3600,
    grace_seconds: int = 30,
    candidates: int = 1,
    title: str | None = None,
) -> Exam:
    """Create the six-question exam (two sections) and register `candidates` candidates."""
    number = next(_exam_numbers)
    exam_id = f"browser-{number}-{os.getpid()}"
    definition = {
        "id": exam_id,
        "title": title or f"Browser mock test {number}",
        "duration_seconds": duration_seconds,
        "grace_seconds": grace_seconds,
        "show_result": "on_submit",
        "sections": [{"id": key, **value} for key, value in OPTION_QUESTIONS.items()],
    }
    names = ["Asha Rao", "Bilal Khan", "Chen Wei", "Dara Okafor", "Elif Demir"]
    with admin_client(server) as admin:
        admin.post("/exams", json=definition).raise_for_status()
        wanted = [{"id": f"R{i + 1:04d}", "name": names[i % len(names)]} for i in range(candidates)]
        body = admin.post(f"/exams/{exam_id}/candidates", json={"candidates": wanted})
        body.raise_for_status()
        tokens = [(entry["id"], entry["token"]) for entry in body.json()["candidates"]]
    return Exam(server=server, id=exam_id, title=definition["title"], candidates=tokens)


@pytest.fixture
def make_exam(live_server: ServerProcess) -> Callable[..., Exam]:
    """Create an exam on the shared server: make_exam(duration_seconds=…, candidates=…)."""
    return lambda **options: create_exam(live_server, **options)


# ---------------------------------------------------------------- page helpers


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("element => element === document.activeElement"))


def tab_to(page: Page, locator: Locator, limit: int = 80) -> None:
    """Press Tab until `locator` has the keyboard focus (proving it can be reached)."""
    for _ in range(limit):
        if is_focused(locator):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{locator} cannot be reached with the Tab key")


def wait_until(check: Callable[[], bool], timeout: float = 20.0, interval: float = 0.25) -> None:
    """Poll `check` until it is true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


def wait_for_offline_copy(page: Page, timeout_ms: int = 30_000) -> None:
    """Wait until the service worker controls the page (its offline copy is in place).

    One evaluation that awaits the `controllerchange` event, not `wait_for_function`:
    Playwright evaluates a polled string again while it waits, and the page's CSP (no
    'unsafe-eval') refuses that whenever the first look finds no controller yet — the
    test then failed on a busy machine only."""
    page.evaluate(
        """(timeoutMs) => navigator.serviceWorker.controller ? true : new Promise(
          (resolve, reject) => {
            navigator.serviceWorker.addEventListener(
              "controllerchange", () => resolve(true), { once: true });
            setTimeout(() => reject(new Error("no service worker took the page")), timeoutMs);
          })""",
        timeout_ms,
    )
