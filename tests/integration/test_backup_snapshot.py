"""The SQLite backup is one snapshot even when another connection commits between its steps.

SQLite's backup API, copying in steps, starts again from page 1 whenever another
connection has written to the source since the last step; under an exam's continuous
saves that would never end. store/backup.py copies in steps from a connection holding
one read transaction. Here a commit is made by another connection between every two
steps (from the progress callback, so without any timing): the copy must still go
forward step by step, never restarting, and hold exactly the state of its start.
"""

from __future__ import annotations

import shutil
import sqlite3
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from examvault.store import backup as backup_module
from examvault.store.backup import BackupError, backup, libpq_args, restore


def _exam_row(conn: sqlite3.Connection, i: int) -> None:
    conn.execute(
        "INSERT INTO exams (id, version, key_version, fingerprint, definition, title, "
        "grace_seconds, created_at, updated_at) VALUES (?, 1, 1, 'f', '{}', 't', 30, 0, 0)",
        (f"exam-{i}",),
    )


def test_commits_between_steps_neither_restart_the_copy_nor_enter_it(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = tmp_path / "live.db"
    shutil.copy(sqlite_template, live)
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")  # as the server runs it (store/engine.py)
    writer.execute("BEGIN")
    for i in range(3):
        _exam_row(writer, i)
    writer.executemany(
        "INSERT INTO audit (at, actor, action, detail) VALUES (0, 'test', 'filler', ?)",
        [("x" * 3000,) for _ in range(300)],
    )
    writer.execute("COMMIT")
    monkeypatch.setattr(backup_module, "SQLITE_STEP_PAGES", 8)

    remaining: list[int] = []
    commits = 30  # bounded: were the copy to restart on every commit, it would never end

    def progress(what: str, done: int, total: int) -> None:
        if what == "copying":
            remaining.append(total - done)
            if len(remaining) <= commits:
                _exam_row(writer, 100 + len(remaining))  # committed before the next step

    out = tmp_path / "snapshot.backup"
    summary = backup(f"sqlite:///{live}", out, progress=progress)
    assert len(remaining) > commits  # many steps, each of the first followed by a commit
    # every step went forward: a restart would copy page 1 onwards again
    assert all(a > b for a, b in pairwise(remaining)) and remaining[-1] == 0
    assert summary.counts["exams"] == 3
    copy = sqlite3.connect(out)
    assert copy.execute("SELECT count(*) FROM exams").fetchone() == (3,)
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one file
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    copy.close()
    assert writer.execute("SELECT count(*) FROM exams").fetchone()[0] == 3 + commits
    writer.close()
    assert out.stat().st_mode & 0o777 == 0o600
    assert not out.with_name(out.name + ".partial").exists()
    with pytest.raises(BackupError, match="already exists"):
        backup(f"sqlite:///{live}", out)

    target = tmp_path / "restored.db"
    restored = restore(out, f"sqlite:///{target}")
    assert restored.counts["exams"] == 3 and target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(BackupError, match="already holds data"):
        restore(out, f"sqlite:///{target}")
    (tmp_path / "notes.txt").write_text("not a backup")
    with pytest.raises(BackupError, match="not an examvault backup"):
        restore(tmp_path / "notes.txt", f"sqlite:///{tmp_path / 'other.db'}")


def test_a_database_that_is_not_examvault_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(BackupError, match="not an examvault database"):
        backup(f"sqlite:///{plain}", tmp_path / "plain.backup")
    assert not (tmp_path / "plain.backup").exists()
    assert not (tmp_path / "plain.backup.partial").exists()


def test_the_postgresql_url_reaches_the_client_programs_without_the_password() -> None:
    url = make_url("postgresql://exam:s3cret@db.example:6543/vault?sslmode=require")
    args, env = libpq_args(url)
    assert args == ["--no-password", "--host=db.example", "--port=6543", "--username=exam",
                    "--dbname=vault"]  # fmt: skip
    assert env["PGPASSWORD"] == "s3cret" and env["PGSSLMODE"] == "require"
    assert not any("s3cret" in a for a in args)
