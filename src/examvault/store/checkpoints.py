"""SQLite's WAL checkpoints, run beside the writer instead of inside one of its commits.

By default SQLite checkpoints in the commit that takes the write-ahead log past 1,000
pages: that commit copies the pages into the database file and fsyncs it. The writer
runs on the request loop (store/writer.py), so every request would wait for that one
commit. The writer's connection never checkpoints (`PRAGMA wal_autocheckpoint=0`); this
thread does, every `interval` seconds, with a connection of its own, in PASSIVE mode: it
copies what no reader still needs and never waits for, or blocks, a reader or the
writer. The sqlite3 call gives up the GIL for the whole checkpoint, so the request loop
runs meanwhile.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("examvault.checkpoints")


class Checkpointer:
    """A daemon thread checkpointing one SQLite database file."""

    def __init__(self, path: str, interval: float = 1.0, busy_ms: int = 30_000) -> None:
        self.path = path
        self.interval = interval
        self.busy_ms = busy_ms
        self.runs = 0  # checkpoints made; for tests and metrics
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="examvault-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after a last checkpoint, so a clean stop leaves a short log behind."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, pages in the log, pages checkpointed)."""
        conn = sqlite3.connect(self.path, timeout=self.busy_ms / 1000, isolation_level=None)
        try:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            conn.close()
        self.runs += 1
        return int(row[0]), int(row[1]), int(row[2])

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.interval)
            try:
                self.checkpoint()
            except sqlite3.Error as error:  # the next one catches up; the log only grows
                log.warning("checkpoint failed: %s", error)
            if stopping:
                return
