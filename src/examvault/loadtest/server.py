"""A real `examvault serve` (or the baseline) process: the one way this repository
starts a server for the load tool, the benchmarks and the tests.

It runs on a port of its own, in a session of its own (so signals reach every worker it
forks), with its output in a log file; `start` returns once `/readyz` answers 200, and
`kill`, `pause` and `resume` act as a crash, a frozen machine and its return would.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import psutil

Target = Literal["examvault", "baseline"]
REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`examvault serve` (or the baseline) on its own port: start, kill, pause, restart."""

    def __init__(
        self,
        target: Target,
        database: str,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        *,
        port: int | None = None,
        admin_token: str | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.target = target
        self.database = database
        self.workdir = workdir
        self.log_dir = log_dir or workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self.env = dict(env or {})
        self.args = list(args)
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0
        self.cpu_seconds = 0.0  # of processes already gone (killed), plus the last sample
        self._cpu_live = 0.0

    @property
    def log(self) -> Path:
        """Where the server's output goes (every start appends to it)."""
        return self.log_dir / f"server-{self.target}-{self.port}.log"

    def command(self) -> list[str]:
        if self.target == "baseline":
            if not (REPO / "bench" / "baseline" / "__main__.py").exists():
                raise RuntimeError("the baseline lives in bench/baseline of a source checkout")
            return [sys.executable, "-m", "bench.baseline", "--port", str(self.port),
                    "--database", self.database, *self.args]  # fmt: skip
        return [sys.executable, "-m", "examvault", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--database", self.database, *self.args]  # fmt: skip

    def start(self, timeout: float = 60.0) -> None:
        """Start the process (same port, same database) and wait until /readyz is 200."""
        env = (
            os.environ
            | {
                "EXAMVAULT_ADMIN_TOKEN": self.admin_token,
                "EXAMVAULT_DATA_DIR": str(self.workdir),
                "EXAMVAULT_LOG_LEVEL": "WARNING",
            }
            | self.env
        )
        self.log_dir.mkdir(parents=True, exist_ok=True)
        cwd = REPO if self.target == "baseline" else None
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(), env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.target} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as r,
            ):
                if r.status == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.target} was not ready in time:\n{self.log_tail()}")
            time.sleep(0.1)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the log, for a failure message."""
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def signal(self, sig: int) -> None:
        """Send a signal to the server and every process it started."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, as a crash or a pulled plug would."""
        self.sample_rss()
        self.cpu_seconds += self._cpu_live
        self._cpu_live = 0.0
        if self.proc is not None and self.proc.poll() is None:
            self.signal(signal.SIGKILL)
            self.proc.wait(10)

    def pause(self) -> None:
        """Freeze the server: connections are accepted by the kernel and never answered."""
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM (queued writes are committed), then SIGKILL if it does not exit."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def sample_rss(self) -> None:
        """Remember the highest resident memory of the server and its workers, and the
        CPU time they have used (to tell a busy server from a busy load tool)."""
        try:
            tree = self._tree()
            rss = sum(p.memory_info().rss for p in tree)
            cpu = sum(sum(p.cpu_times()[:2]) for p in tree)
        except psutil.Error:
            return
        self.peak_rss = max(self.peak_rss, rss)
        self._cpu_live = max(self._cpu_live, cpu)

    def total_cpu(self) -> float:
        """CPU seconds used by every incarnation of the server so far."""
        return self.cpu_seconds + self._cpu_live

    def _tree(self) -> list[psutil.Process]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
