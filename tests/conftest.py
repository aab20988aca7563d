"""Databases for tests: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL: a fresh database is created for the run and migrated once (Alembic), and
each test starts from empty tables. Under CI=true an unreachable PostgreSQL fails the
run instead of skipping. SQLite: the schema is migrated once into a template file and
each test gets a copy.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest

from examvault.store.migrate import upgrade
from examvault.store.tables import metadata

PG_HOST = os.environ.get("EXAMVAULT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("EXAMVAULT_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("EXAMVAULT_TEST_PG_USER", "postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
STORES = ["sqlite", "postgresql"]


def _blocking(sql: str) -> None:
    """Run an admin statement from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _pg_admin(sql)).result()


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database made for this run, migrated, dropped at the end."""
    name = f"examvault_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        _blocking(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {PG_HOST}:{PG_PORT} is not reachable: {exc}"
        if IN_CI:
            pytest.fail(message + " (CI=true: storage tests must run on PostgreSQL)")
        pytest.skip(message)
    url = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    upgrade(url)
    yield url
    _blocking(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "examvault.db"
    upgrade(f"sqlite:///{path}")
    return path


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql://", "postgresql://", 1))
    try:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY")
    finally:
        await conn.close()


@pytest.fixture(params=STORES)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "examvault.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_url")
    await _truncate(url)
    yield url


@pytest.fixture
async def server(database: str, tmp_path: Path) -> AsyncIterator[object]:
    """The app on each store, with a manual clock."""
    from tests.helpers import running

    async with running(database, tmp_path) as srv:
        yield srv
