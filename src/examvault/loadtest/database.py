"""Restarting the PostgreSQL under a running server, for the database-restart drill.

The drill is what an exam day can bring: the database restarts (an operator, a
crash and recovery, a fail-over) while students are submitting. The examvault server
keeps running; it must answer 503 + Retry-After while the database is away, reconnect
by itself, and lose nothing. The restart is a real one — the local cluster that serves
the URL's port, stopped with a fast shutdown (every connection dropped) and started
again — so it needs the Debian tools `pg_lsclusters` and `pg_ctlcluster` and the right
to use them, as on the development and CI machines.
"""

from __future__ import annotations

import shutil
import subprocess
import time

from sqlalchemy.engine import make_url


def local_cluster(url: str) -> tuple[str, str]:
    """The (version, name) of the local cluster listening on the URL's port."""
    parsed = make_url(url)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError("the database-restart drill needs --database postgresql://…")
    if parsed.host not in (None, "localhost", "127.0.0.1", "::1"):
        raise ValueError("the database-restart drill restarts a local PostgreSQL only")
    if shutil.which("pg_lsclusters") is None or shutil.which("pg_ctlcluster") is None:
        raise ValueError("the database-restart drill needs pg_lsclusters and pg_ctlcluster")
    port = parsed.port or 5432
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        version, name, cluster_port, *_ = line.split()
        if int(cluster_port) == port:
            return version, name
    raise ValueError(f"no local PostgreSQL cluster listens on port {port}")


def restart(cluster: tuple[str, str]) -> float:
    """Restart the cluster with a fast shutdown; the seconds it was away."""
    version, name = cluster
    began = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"],
        check=True,
        capture_output=True,
    )
    return time.monotonic() - began
