"""The migrations create exactly the schema tables.py describes, on both stores."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from examvault.store.migrate import drift, upgrade
from tests.helpers import running, small_exam


async def test_migrations_and_models_do_not_drift(database: str) -> None:
    assert await drift(database) == []


@pytest.mark.parametrize("migrated_by", ["upgrade", "the server"])
async def test_a_new_sqlite_database_is_readable_by_its_owner_only(
    tmp_path: Path, migrated_by: str
) -> None:
    """Found by the hostile probe: the database file (names, answers, token hashes) was
    created world-readable. It is 0600 whatever the umask, and so are its -wal and -shm."""
    path = tmp_path / "new" / "examvault.db"
    url = f"sqlite:///{path}"
    old = os.umask(0o022)
    try:
        if migrated_by == "upgrade":
            upgrade(url)
        async with running(url, tmp_path, migrate_on_start=migrated_by != "upgrade") as server:
            await server.create_exam(small_exam())  # a write: the -wal and -shm are there
            files = [path, path.with_name("examvault.db-wal"), path.with_name("examvault.db-shm")]
            assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {
                f.name: 0o600 for f in files
            }
    finally:
        os.umask(old)
