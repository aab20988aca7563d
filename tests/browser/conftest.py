"""Browser tests: a real `examvault serve` process driven through Debian's Chromium.

The server runs as a subprocess on a free port with its own SQLite database; Playwright
drives /usr/bin/chromium (never a downloaded browser). Screens are kept as screenshots
under test-artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright

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


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_command(port: int, database: Path) -> list[str]:
    """`examvault serve` from this virtualenv, on `port`, with a SQLite database."""
    examvault = str(Path(sys.executable).parent / "examvault")
    address = ["--host", "127.0.0.1", "--port", str(port)]
    return [examvault, "serve", *address, "--database", f"sqlite:///{database}"]


@dataclass
class Server:
    """One `examvault serve` process; it can be paused, killed and started again."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    def start(self, timeout: float = 60.0) -> None:
        """Start the process (same port, same database) and wait until /readyz says 200."""
        data_dir = self.directory / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "EXAMVAULT_ADMIN_TOKEN": ADMIN_TOKEN,
            "EXAMVAULT_DATA_DIR": str(data_dir),
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                serve_command(self.port, self.directory / "examvault.db"),
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # so that signals reach every process it starts
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the server was not ready in time:\n{self.log.read_text()[-4000:]}"
                )
            time.sleep(0.1)

    def signal(self, sig: int) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, sig)

    def pause(self) -> None:
        """Freeze the server: connections are accepted by the kernel and never answered."""
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def kill(self) -> None:
        """Kill the server at once, as a crash or a pulled plug would."""
        if self.process and self.process.poll() is None:
            self.signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if not self.process or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def running_server(directory: Path) -> Iterator[Server]:
    server = Server(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server the browser tests share."""
    with running_server(tmp_path_factory.mktemp("server")) as started:
        yield started


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
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

    server: Server
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


def admin_client(server: Server) -> httpx.Client:
    return httpx.Client(
        base_url=f"{server.url}/api/v1",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=20.0,
    )


def create_exam(
    server: Server,
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
def make_exam(live_server: Server) -> Callable[..., Exam]:
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
