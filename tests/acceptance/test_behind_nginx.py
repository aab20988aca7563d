"""The shipped nginx site (deploy/nginx/examvault.conf) in front of two server processes.

Debian's nginx runs the site file itself, with only its ports and certificate paths
rewritten, over a self-signed certificate made here, in front of two `examvault serve`
processes on one PostgreSQL database. A stampede of the load tool goes through https and
its verification must find nothing lost; then the proxy's own promises are checked: the
redirect, the body and header limits, /metrics refused to other addresses, and the
client's address (not nginx's) reaching the server's per-address limiter.

Clients other than 127.0.0.1 are simulated by binding the client socket to 127.0.0.2 and
127.0.0.3 (all of 127/8 is the loopback on Linux).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from examvault.loadtest.runner import Options, run
from examvault.loadtest.server import ServerProcess, free_port
from tests.conftest import IN_CI, _truncate

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploy" / "nginx" / "examvault.conf"
STUDENTS = 100


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        message = "nginx is not installed (make nginx: apt-get install nginx-light)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def render_site(
    http_port: int, https_port: int, upstreams: list[int], cert: Path, key: Path
) -> str:
    """The shipped site file with the test's ports and certificate; every line rewritten
    must be found exactly once, so the test breaks loudly if the file drifts."""
    text = SITE.read_text()
    rewrites = [
        ("    listen 80;\n", f"    listen 127.0.0.1:{http_port};\n"),
        ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{https_port} ssl http2;\n"),
        ("/etc/ssl/examvault/fullchain.pem;", f"{cert};"),
        ("/etc/ssl/examvault/privkey.pem;", f"{key};"),
        (
            "    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n",
            "".join(f"    server 127.0.0.1:{port};\n" for port in upstreams),
        ),
    ]
    for old, new in rewrites:
        assert text.count(old) == 1, f"{SITE.name} no longer has {old.strip()!r} once"
        text = text.replace(old, new)
    return text


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own issuer), and its key."""
    directory.mkdir()
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class Nginx:
    """nginx as a non-daemon child with its own prefix, pid, logs and temp paths."""

    def __init__(self, binary: str, prefix: Path, upstreams: list[int], cert: Path, key: Path):
        self.binary, self.prefix = binary, prefix
        self.http_port, self.https_port = free_port(), free_port()
        self.https_url = f"https://127.0.0.1:{self.https_port}"
        self.http_url = f"http://127.0.0.1:{self.http_port}"
        prefix.mkdir()
        (prefix / "examvault.conf").write_text(
            render_site(self.http_port, self.https_port, upstreams, cert, key)
        )
        user = "user root;\n" if os.geteuid() == 0 else ""  # the temp paths are under tmp
        temp = "".join(
            f"    {kind}_temp_path {prefix / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(
            f"{user}worker_processes 1;\n"
            f"pid {prefix / 'nginx.pid'};\n"
            f"error_log {prefix / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            f"    access_log {prefix / 'access.log'};\n"
            f"{temp}"
            f"    include {prefix / 'examvault.conf'};\n"
            "}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        return [self.binary, "-p", str(self.prefix), "-e", str(self.prefix / "error.log"),
                "-c", str(self.conf), *extra]  # fmt: skip

    @contextmanager
    def running(self, timeout: float = 30.0) -> Iterator[Nginx]:
        checked = subprocess.run(self.command("-t"), capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        log = (self.prefix / "stderr.log").open("ab")
        self.proc = subprocess.Popen(self.command("-g", "daemon off;"), stdout=log, stderr=log)
        log.close()
        try:
            deadline = time.monotonic() + timeout
            while not _accepts(self.https_port):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"nginx exited: {(self.prefix / 'error.log').read_text()}")
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start listening")
                time.sleep(0.05)
            yield self
        finally:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish, then exit
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def client(base_url: str, cert: Path, source: str = "127.0.0.1") -> httpx.Client:
    """A client that trusts our certificate and connects from `source`."""
    tls = ssl.create_default_context(cafile=str(cert))
    transport = httpx.HTTPTransport(verify=tls, local_address=source)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30)


def saves_served(server: ServerProcess) -> float:
    """How many answer saves this process answered (its own /metrics, not via nginx)."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    pattern = r'^examvault_request_duration_seconds_count\{.*route="[^"]*/answers".*\} (\S+)$'
    return sum(float(n) for n in re.findall(pattern, text, re.MULTILINE))


def test_two_processes_behind_the_shipped_nginx_site(pg_url: str, tmp_path: Path) -> None:
    binary = nginx_binary()
    asyncio.run(_truncate(pg_url))
    cert, key = self_signed(tmp_path / "tls")
    admin = secrets.token_urlsafe(24)
    env = {"EXAMVAULT_ADMIN_TOKEN": admin, "EXAMVAULT_FORWARDED_ALLOW_IPS": "127.0.0.1"}
    servers = [
        ServerProcess("examvault", pg_url, tmp_path / f"server{i}", env, tmp_path / "logs")
        for i in (1, 2)
    ]
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
            server.start()
        nginx = Nginx(binary, tmp_path / "nginx", [s.port for s in servers], cert, key)
        stack.enter_context(nginx.running())

        # A stampede through https: nothing lost, nothing failed, every score recomputed.
        summary = run(
            Options(
                scenario="stampede_2k", students=STUDENTS, questions=10, work_seconds=2.0,
                url=nginx.https_url, admin_token=admin, cafile=str(cert),
                out=tmp_path / "out", progress=False,
            )
        )  # fmt: skip
        verdict = summary["verdict"]
        assert verdict["problems"] == []
        assert verdict["students"] == STUDENTS
        assert verdict["lost"] == 0
        assert verdict["submissions_failed"] == 0
        assert verdict["submissions_ok"] == STUDENTS
        assert verdict["score_mismatch"] == 0
        assert verdict["answers_acked"] > 0
        assert summary["client_failures"] == {}
        served = [saves_served(s) for s in servers]
        assert all(served), f"nginx sent saves to both processes: {served}"

        with (
            client(nginx.https_url, cert) as local,
            client(nginx.https_url, cert, "127.0.0.2") as remote,
        ):
            # /metrics: to a scraper on this machine only
            assert remote.get("/metrics").status_code == 403
            assert "examvault_" in local.get("/metrics").text
            # bodies: 1 MiB on the API, 20 MiB on the import route (nginx reads it, the
            # server refuses the missing token); an oversized header never gets through
            big = b"x" * ((1 << 20) + 1)
            assert remote.put("/api/v1/attempts/a/answers", content=big).status_code == 413
            assert remote.post("/api/v1/exams/import", content=big).status_code == 401
            assert remote.get("/readyz", headers={"X-Big": "y" * 9000}).status_code == 400
        with httpx.Client(base_url=nginx.http_url, timeout=10) as plain:
            redirect = plain.get("/admin")
        assert redirect.status_code == 301
        assert redirect.headers["location"] == "https://127.0.0.1/admin"

        # The client's address reaches the server: a per-address limit of 3 requests per
        # process. Every request arrives from nginx (127.0.0.1), yet 127.0.0.2 runs out
        # while 127.0.0.3 still has its budget, whatever X-Forwarded-For it claims.
        for server in servers:
            server.stop()
            server.env |= {
                "EXAMVAULT_ADDRESS_RATE_LIMIT": "true",
                "EXAMVAULT_ADDRESS_RATE_BURST": "3",
                "EXAMVAULT_ADDRESS_RATE_PER_SECOND": "0.001",
            }
            server.start()
        with (
            client(nginx.https_url, cert, "127.0.0.2") as two,
            client(nginx.https_url, cert, "127.0.0.3") as three,
        ):
            statuses: list[int] = []
            while len(statuses) < 7 and 429 not in statuses:  # 3 per process, then 429
                statuses.append(two.get("/api/v1/me").status_code)
            assert statuses[-1] == 429 and set(statuses[:-1]) == {401}, statuses
            assert [three.get("/api/v1/me").status_code for _ in range(2)] == [401, 401]
            spoofed = three.get("/api/v1/me", headers={"X-Forwarded-For": "127.0.0.2"})
            assert spoofed.status_code == 401, "nginx replaces a client's X-Forwarded-For"
