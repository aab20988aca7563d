"""What a hostile or broken client does to a real `examvault serve`, on SQLite.

A client that hangs up in the middle of its body is not a server error; an import that
parses for a long time must not hold up anyone else's request.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from examvault.loadtest.server import ServerProcess
from tests.helpers import ADMIN, bearer, moodle_quiz, small_exam, to_json

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    # Rate limits off: the probes below save as fast as the server answers.
    proc = ServerProcess(
        "examvault", f"sqlite:///{tmp_path / 'examvault.db'}", tmp_path,
        {"EXAMVAULT_RATE_BURST": "1000000", "EXAMVAULT_RATE_PER_SECOND": "1000000"},
        admin_token=ADMIN,
    )  # fmt: skip
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def server_errors(base: str) -> float:
    """The sum of examvault_server_errors_total over every route, from /metrics."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("examvault_server_errors_total")
    )


def handled(base: str, method: str, route: str) -> dict[str, float]:
    """How many requests to `route` the server has finished, by status, from /metrics."""
    text = httpx.get(f"{base}/metrics", timeout=10).text
    pattern = re.compile(
        rf'examvault_request_duration_seconds_count\{{method="{method}",route="{re.escape(route)}",'
        r'status="(\d+)"\} (\S+)'
    )
    return {m.group(1): float(m.group(2)) for m in pattern.finditer(text)}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def started_attempt(base: str) -> tuple[str, str]:
    """A registered candidate's token and attempt id on a fresh exam."""
    with httpx.Client(base_url=base, timeout=10) as c:
        r = c.post("/api/v1/exams", json=to_json(small_exam()), headers=bearer(ADMIN))
        assert r.status_code == 201, r.text
        r = c.post(
            "/api/v1/exams/mock-1/candidates",
            json={"candidates": [{"id": "R1", "name": "R"}]},
            headers=bearer(ADMIN),
        )
        token = r.json()["candidates"][0]["token"]
        r = c.post("/api/v1/exams/mock-1/attempts", headers=bearer(token))
        return token, r.json()["attempt_id"]


def hang_up_mid_body(port: int, request_line: str, token: str) -> None:
    """Headers promising 1000 bytes, 10 of them, then close; wait for the server's close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            f"{request_line} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            '{"answers"'.encode()
        )
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):  # the server reads EOF, closes; nothing useful comes back
            pass


@pytest.mark.parametrize("route", ["PUT /answers", "POST /submit", "POST /exams", "POST /import"])
def test_a_client_gone_mid_body_is_not_a_server_error(served: ServerProcess, route: str) -> None:
    """Found by the hostile probe: starlette's ClientDisconnect reached the last-resort
    handler and was counted (and logged) as a 500."""
    token, aid = started_attempt(served.url)
    method, where = route.split(" ")
    path, template = {
        "/answers": (f"/api/v1/attempts/{aid}/answers", "/api/v1/attempts/{attempt_id}/answers"),
        "/submit": (f"/api/v1/attempts/{aid}/submit", "/api/v1/attempts/{attempt_id}/submit"),
        "/exams": ("/api/v1/exams", "/api/v1/exams"),  # FastAPI routes
        "/import": ("/api/v1/exams/import", "/api/v1/exams/import"),
    }[where]
    before, seen = server_errors(served.url), handled(served.url, method, template)
    hang_up_mid_body(
        served.port, f"{method} {path}", ADMIN if where in ("/exams", "/import") else token
    )
    # The server has finished with the request once its latency is recorded.
    wait_for(lambda: handled(served.url, method, template) != seen, "the request recorded")
    now = handled(served.url, method, template)
    new = {status: n - seen.get(status, 0) for status, n in now.items() if n != seen.get(status)}
    assert new == {"499": 1.0}, "recorded as a client's hang-up, not a 500"
    # The server still answers, and has counted no error; the attempt is untouched.
    r = httpx.put(
        f"{served.url}/api/v1/attempts/{aid}/answers",
        json={"answers": [{"question_id": "s0", "response": "B", "seq": 1}]},
        headers=bearer(token),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert server_errors(served.url) == before
    view = httpx.get(f"{served.url}/api/v1/attempts/{aid}", headers=bearer(token)).json()
    assert view["status"] == "in_progress"
    log = served.log.read_text()
    assert "Traceback" not in log and "ClientDisconnect" not in log


def parsing(served: ServerProcess) -> bool:
    """Whether the server has an import's child process (examvault.services.imports) running."""
    assert served.proc is not None
    try:
        children = psutil.Process(served.proc.pid).children(recursive=True)
        return any("examvault.services.imports" in c.cmdline() for c in children)
    except psutil.Error:  # a child that ended while we looked
        return False


def test_a_15_mib_import_holds_up_no_other_request(served: ServerProcess) -> None:
    """Found by the hostile probe: an import was parsed on the event loop, so a 15 MiB
    Moodle XML froze every request for 7.9 s. Now it is parsed in a child process: while
    it runs, /healthz answers within a second each time and saves are acknowledged."""
    token, aid = started_attempt(served.url)
    quiz = moodle_quiz(4900, text_chars=2900)
    assert len(quiz) > 14 << 20
    answers: list[httpx.Response] = []

    def upload() -> None:
        answers.append(
            httpx.post(
                f"{served.url}/api/v1/exams/import",
                files={"file": ("big.xml", quiz)},
                data={"id": "big"},
                headers=bearer(ADMIN),
                timeout=600,
            )
        )

    importing = threading.Thread(target=upload)
    importing.start()
    wait_for(lambda: parsing(served) or not importing.is_alive(), "the import's child process")
    slowest, overlapping, seq = 0.0, 0, 0
    with httpx.Client(base_url=served.url, timeout=60) as client:
        while importing.is_alive():
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            seq += 1
            item = {"question_id": "s0", "response": "ABCD"[seq % 4], "seq": seq}
            r = client.put(
                f"/api/v1/attempts/{aid}/answers", json={"answers": [item]}, headers=bearer(token)
            )
            assert r.status_code == 200 and r.json()["accepted"] == [seq], r.text
            overlapping += parsing(served)  # the probes ran while the file was being parsed
    importing.join()
    assert answers[0].status_code == 201, answers[0].text
    assert answers[0].json()["questions"] == 4900
    assert overlapping >= 3, "the probes overlapped the parse"
    assert slowest < 1.0, f"a /healthz took {slowest:.2f} s during the import"
