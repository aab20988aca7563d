"""A real `examvault serve` process, to be killed and restarted by tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import ADMIN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`examvault serve` on a port of its own; start, kill -9, start again."""

    def __init__(self, database: str, data_dir: Path, port: int | None = None, **env: str) -> None:
        self.database = database
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = (
            os.environ
            | {
                "EXAMVAULT_ADMIN_TOKEN": ADMIN,
                "EXAMVAULT_DATA_DIR": str(self.data_dir),
                "EXAMVAULT_LOG_LEVEL": "WARNING",
            }
            | self.env
        )
        log = (self.data_dir / f"server-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "examvault", "serve", "--port", str(self.port),
             "--database", self.database],
            env=env, stdout=log, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
