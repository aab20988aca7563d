"""A throwaway PostgreSQL primary with a synchronous standby, for the fail-over drill.

The drill is losing the database machine: the primary is SIGKILLed in the middle of
the submit burst, the standby is promoted, and the examvault server — given both hosts
in one multi-host URL with `target_session_attrs=read-write` — must answer 503 +
Retry-After while there is no primary and carry on by itself after the promotion, with
no acknowledged answer lost. That holds only because the standby is *synchronous*: a
commit returns (and an answer is acknowledged) only once the standby has the commit in
its WAL on disk, so whatever was acknowledged is on the standby when the primary dies.

`PgPair.build()` makes the pair in a temporary directory, on two free ports of
127.0.0.1, with the PostgreSQL binaries of this machine (`/usr/lib/postgresql/*/bin`,
or `EXAMVAULT_PG_BINDIR`, or `initdb` on the PATH). PostgreSQL refuses to run as root:
under root the clusters belong to the `postgres` user (`runuser`). Nothing else is
touched: not the machine's own clusters, not their ports or socket directory.
`close()` stops both servers and removes the directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psutil

OWNER = "postgres"  # who runs the clusters when this runs as root


def find_bindir() -> Path:
    """The directory of `initdb`, `pg_ctl`, `pg_basebackup`: newest version first."""
    given = os.environ.get("EXAMVAULT_PG_BINDIR")
    if given:
        return Path(given)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name.split(".")],
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_basebackup").exists():
            return bindir
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ValueError(
        "the fail-over drill needs the PostgreSQL server binaries (initdb, pg_ctl, "
        "pg_basebackup): install them or set EXAMVAULT_PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgPair:
    """A primary and a synchronous standby on 127.0.0.1, in a directory of their own."""

    def __init__(self, root: Path, bindir: Path) -> None:
        self.root = root
        self.bindir = bindir
        self.as_owner = [] if os.geteuid() != 0 else ["runuser", "-u", OWNER, "--"]
        self.primary_port = _free_port()
        self.standby_port = _free_port()
        # two machines, a and b; a starts as the primary
        self.primary_dir = root / "node-a"
        self.standby_dir = root / "node-b"
        self.database = "examvault"

    # -- building ------------------------------------------------------------------

    @classmethod
    def build(cls, timeout: float = 60.0) -> PgPair:
        """Make the pair and wait until the standby is streaming as `sync`."""
        bindir = find_bindir()
        root = Path(tempfile.mkdtemp(prefix="examvault-pgpair-"))
        pair = cls(root, bindir)
        try:
            if pair.as_owner:
                shutil.chown(root, OWNER, OWNER)
            root.chmod(0o700)
            pair._init_primary()
            pair.attach_standby(pair.standby_dir, pair.standby_port, pair.primary_port, timeout)
        except BaseException:
            pair.close()
            raise
        return pair

    def _init_primary(self) -> None:
        self._run(
            ["initdb", "-D", str(self.primary_dir), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C", "--no-sync"]
        )  # fmt: skip
        self._configure(self.primary_dir, self.primary_port)
        (self.primary_dir / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all all 127.0.0.1/32 trust\n"
            "host replication all 127.0.0.1/32 trust\n"
        )
        self._start(self.primary_dir)
        self.sql(self.primary_port, "CREATE ROLE replicator WITH REPLICATION LOGIN")
        self.sql(self.primary_port, f'CREATE DATABASE "{self.database}"')

    def _configure(self, datadir: Path, port: int) -> None:
        settings = {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "synchronous_commit": "on",
            "fsync": "on",
            "shared_buffers": "'32MB'",
            "max_connections": "100",
            "cluster_name": f"'{datadir.name}'",  # the standby's name in pg_stat_replication
        }
        with (datadir / "postgresql.auto.conf").open("a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def attach_standby(
        self, datadir: Path, port: int, primary_port: int, timeout: float = 60.0
    ) -> None:
        """A new standby of the primary on `primary_port`, made synchronous.

        Used to build the pair and, after a fail-over, to rebuild a standby of the
        promoted server (the operator's second step). The primary waits for a
        synchronous standby only once this one streams: before, its own commits (the
        base backup's checkpoint, CREATE DATABASE) would wait for a standby that does
        not exist yet."""
        self._run(
            ["pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", "replicator",
             "-D", str(datadir), "-R", "-X", "stream", "-c", "fast", "--no-sync"]
        )  # fmt: skip
        self._configure(datadir, port)
        # the standby's own synchronous_standby_names stays empty: once promoted it has no
        # standby, and with '*' every commit would wait for one until a new one attaches
        with (datadir / "postgresql.auto.conf").open("a") as conf:
            conf.write("synchronous_standby_names = ''\n")
        self._start(datadir)
        self.sql(primary_port, "ALTER SYSTEM SET synchronous_standby_names = '*'")
        self.sql(primary_port, "SELECT pg_reload_conf()")
        deadline = time.monotonic() + timeout
        while self.sync_state(primary_port) != "sync":
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby on port {port} never became synchronous")
            time.sleep(0.1)

    # -- the drill -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The multi-host URL a server is given: writes go to whichever is the primary."""
        return (
            f"postgresql://postgres@127.0.0.1:{self.primary_port},"
            f"127.0.0.1:{self.standby_port}/{self.database}?target_session_attrs=read-write"
        )

    def kill_primary(self) -> None:
        """Lose the primary's machine: SIGKILL the postmaster and every backend at once
        (no shutdown checkpoint, no goodbye to clients or to the standby)."""
        procs = self._tree(self.primary_dir)
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.send_signal(signal.SIGKILL)
        psutil.wait_procs(procs, timeout=10)

    def promote(self, timeout: float = 60.0) -> None:
        """Promote the standby (`pg_ctl promote`, waiting until it accepts writes)."""
        self._run(["pg_ctl", "-D", str(self.standby_dir), "-w", "-t", str(int(timeout)), "promote"])

    def rebuild_standby(self, timeout: float = 60.0) -> None:
        """After a fail-over: rebuild the lost machine as a new synchronous standby of the
        promoted one, on the same address, so that the server's URL stays as it is."""
        lost_dir, lost_port = self.primary_dir, self.primary_port
        shutil.rmtree(lost_dir)  # what it held is superseded: a fresh base backup replaces it
        self.attach_standby(lost_dir, lost_port, self.standby_port, timeout)
        self.primary_dir, self.standby_dir = self.standby_dir, lost_dir
        self.primary_port, self.standby_port = self.standby_port, lost_port

    def is_primary(self, port: int) -> bool:
        return self.sql(port, "SELECT pg_is_in_recovery()") == "f"

    def sync_state(self, primary_port: int) -> str:
        """The `sync_state` of the primary's standby ('' while none streams)."""
        return self.sql(primary_port, "SELECT sync_state FROM pg_stat_replication LIMIT 1")

    def sql(self, port: int, statement: str, database: str = "postgres") -> str:
        """One statement through psql over TCP; its output, unaligned."""
        out = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
             "-c", statement],
            capture_output=True, text=True, timeout=60,
            env=os.environ | {"PGCONNECT_TIMEOUT": "5"},
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"psql on port {port}: {out.stderr.strip()}")
        return out.stdout.strip()

    # -- the end -------------------------------------------------------------------

    def close(self) -> None:
        """Stop every server of the pair (immediate) and remove the directory."""
        for datadir in sorted(self.root.iterdir()) if self.root.exists() else []:
            if not (datadir / "postmaster.pid").exists():
                continue
            procs = self._tree(datadir)
            stopped = subprocess.run(
                [*self.as_owner, str(self.bindir / "pg_ctl"), "-D", str(datadir),
                 "-m", "immediate", "-w", "-t", "30", "stop"],
                capture_output=True, cwd=self.root, check=False,
            )  # fmt: skip
            if stopped.returncode != 0:  # not running, or stuck: make sure nothing is left
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        p.send_signal(signal.SIGKILL)
            # The postmaster is gone once pg_ctl returns; its children may take a moment.
            _wait_gone(procs, timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgPair:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------

    def _start(self, datadir: Path) -> None:
        self._run(
            ["pg_ctl", "-D", str(datadir), "-l", str(self.root / f"{datadir.name}.log"),
             "-w", "-t", "60", "start"]
        )  # fmt: skip

    def _run(self, cmd: list[str]) -> None:
        """A PostgreSQL program of `bindir`, as the clusters' owner."""
        done = subprocess.run(
            [*self.as_owner, str(self.bindir / cmd[0]), *cmd[1:]],
            capture_output=True, text=True, cwd=self.root, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()}")

    @staticmethod
    def _tree(datadir: Path) -> list[psutil.Process]:
        """The postmaster of `datadir` and its children ([] when it is not running)."""
        try:
            pid = int((datadir / "postmaster.pid").read_text().split()[0])
            root = psutil.Process(pid)
            if Path(root.cwd()).resolve() != datadir.resolve():
                return []  # a stale pid file: that pid is someone else's process now
            return [root, *root.children(recursive=True)]
        except (OSError, ValueError, IndexError, psutil.Error):
            return []


def alive(process: psutil.Process) -> bool:
    """Running, and not a zombie: an orphan's zombie stays until PID 1 reaps it, and in a
    container PID 1 may never do so."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    """Wait until none of these processes is alive; SIGKILL what is left at the end."""
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    for p in procs:
        if alive(p):
            with contextlib.suppress(psutil.Error):
                p.send_signal(signal.SIGKILL)
