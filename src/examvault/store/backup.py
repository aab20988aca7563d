"""`examvault backup` and `examvault restore`: a consistent copy of the whole database.

A backup is a snapshot: every transaction committed before it began is in it, none that
commits after its snapshot is taken is, and it can be taken while the server runs.

SQLite: SQLite's online backup API, from a read-only connection that holds one read
transaction for the whole copy (see `_sqlite_copy`). The file is a plain SQLite database
(rollback journal, no -wal beside it), created with mode 0600 and renamed into place
only once complete.

PostgreSQL: `pg_dump --format=custom` and `pg_restore`, the client programs of the local
PostgreSQL. The counts printed are read in the very snapshot pg_dump copies (exported
with `pg_export_snapshot()` and handed to it with `--snapshot`).

Restore goes into a database that does not exist yet or holds no data (anything else
only with `force`), checks that the file is an examvault backup of a schema this code
knows (its `alembic_version`), and migrates the result to the latest schema. It is not
meant for a database a server is using: stop the server first.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

# (what is being done, done, total); total 0 when unknown.
Progress = Callable[[str, int, int], None]

COUNTED = ("exams", "attempts", "answers")
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Pages copied per step of SQLite's backup API (4 KiB pages: 8 MiB per step). Only the
# granularity of the progress bar depends on it: the read transaction is held throughout.
SQLITE_STEP_PAGES = 2048
# libpq's environment variables for the URL query parameters pg_dump/pg_restore may need.
LIBPQ_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class Summary:
    """What a backup or restore did, for its one-line report."""

    action: str  # "backup" or "restore"
    store: str  # "sqlite" or "postgresql"
    database: str  # its URL, without a password
    file: Path
    size: int
    seconds: float
    counts: dict[str, int]
    revision: str

    def line(self) -> str:
        counts = ", ".join(f"{self.counts[name]:,} {name}" for name in COUNTED)
        what = (
            f"backup of {self.database} written to {self.file}"
            if self.action == "backup"
            else f"restore of {self.file} into {self.database}"
        )
        return (
            f"{what}: {_size(self.size)} in {self.seconds:.1f} s; {counts}; schema {self.revision}"
        )


def backup(url: str, out: Path, *, progress: Progress | None = None) -> Summary:
    """Write a consistent backup of the database at `url` to `out` (which must not exist)."""
    report = progress or _no_progress
    out = Path(out)
    if out.exists():
        raise BackupError(
            f"{out} already exists: choose a new name (backups are never overwritten)"
        )
    if not out.parent.is_dir():
        raise BackupError(f"{out.parent} is not a directory")
    began = time.monotonic()
    store, parsed = _store(url)
    partial = out.with_name(out.name + ".partial")
    _private_file(partial)
    try:
        if store == "sqlite":
            counts, revision = _sqlite_backup(_sqlite_path(parsed), partial, report)
        else:
            counts, revision = asyncio.run(_pg_backup(parsed, partial, report))
        _fsync(partial)
        os.replace(partial, out)
        _fsync(out.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    size, seconds = out.stat().st_size, time.monotonic() - began
    return Summary("backup", store, _safe(parsed), out, size, seconds, counts, revision)


def restore(
    file: Path, url: str, *, force: bool = False, progress: Progress | None = None
) -> Summary:
    """Restore a backup into the database at `url`, then migrate it to the latest schema.

    The database must not exist (SQLite) or hold no data; with `force` its content is
    replaced."""
    report = progress or _no_progress
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"{file}: no such file")
    began = time.monotonic()
    store, parsed = _store(url)
    with file.open("rb") as fh:
        magic = fh.read(len(SQLITE_MAGIC))
    if store == "sqlite":
        if magic.startswith(PGDUMP_MAGIC):
            raise BackupError(f"{file} is a PostgreSQL backup: restore it into a postgresql:// URL")
        if magic != SQLITE_MAGIC:
            raise BackupError(f"{file} is not an examvault backup (not a SQLite database)")
        counts, revision = _sqlite_restore(file, _sqlite_path(parsed), force, report)
    else:
        if magic == SQLITE_MAGIC:
            raise BackupError(f"{file} is a SQLite backup: restore it into a sqlite:/// URL")
        if not magic.startswith(PGDUMP_MAGIC):
            raise BackupError(f"{file} is not an examvault backup (not a pg_dump custom archive)")
        counts, revision = asyncio.run(_pg_restore(file, parsed, force, report))
    size, seconds = file.stat().st_size, time.monotonic() - began
    return Summary("restore", store, _safe(parsed), file, size, seconds, counts, revision)


# --- SQLite -----------------------------------------------------------------------------


def _sqlite_backup(path: Path, partial: Path, report: Progress) -> tuple[dict[str, int], str]:
    if not path.is_file():
        raise BackupError(f"{path}: no such database")
    # Read-only: a backup never writes to the live database, nor creates one by mistake.
    src = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    src.isolation_level = None
    try:
        revision = _sqlite_revision(src, path)
        dst = sqlite3.connect(partial)
        dst.isolation_level = None
        try:
            counts = _sqlite_copy(src, dst, report, "copying", hold_snapshot=True)
            # The copy carries the source's WAL flag: make it one self-contained file.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    return counts, revision


def _sqlite_copy(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    report: Progress,
    what: str,
    *,
    hold_snapshot: bool,
) -> dict[str, int]:
    """Copy every page of `src` into `dst` with SQLite's backup API, in steps.

    Copying in steps from a connection with no transaction of its own would never end
    under continuous writes: each step takes and drops its own read lock, and when
    another connection (the server) has committed in between, the next step starts the
    copy again from page 1 (Python's sqlite3 loops until it is done). One step
    (`pages=-1`) would finish but shows no progress. So the source connection opens a
    read transaction first (BEGIN, then a read: in WAL mode that fixes its snapshot) and
    keeps it until the last page is copied: each step then reuses that transaction, so
    every page comes from the same committed state, no commit made meanwhile restarts
    the copy, and the server's writers are never blocked (in WAL a reader does not block
    a writer; checkpoints just cannot pass the snapshot until we finish, so the -wal
    file grows for the duration). The counts are read in the same snapshot, so they
    describe exactly what the copy holds. (A database not in WAL mode, which the server
    never leaves, would instead hold its writers back until the copy ends.)
    """
    if hold_snapshot:
        src.execute("BEGIN")
    try:
        counts = _sqlite_counts(src)

        def step(_status: int, remaining: int, total: int) -> None:
            report(what, total - remaining, total)

        src.backup(dst, pages=SQLITE_STEP_PAGES, progress=step)
    finally:
        if hold_snapshot:
            src.execute("ROLLBACK")
    return counts


def _sqlite_restore(
    file: Path, path: Path, force: bool, report: Progress
) -> tuple[dict[str, int], str]:
    if path.exists() and path.resolve() == file.resolve():
        raise BackupError("the backup file and the database are the same file")
    src = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    src.isolation_level = None
    try:
        try:
            revision = _sqlite_revision(src, file)
            report("checking the backup", 0, 0)
            problems = [r[0] for r in src.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{file} is not a readable SQLite database: {exc}") from None
        if problems != ["ok"]:
            raise BackupError(f"{file} is damaged: {'; '.join(problems[:5])}")
        _check_revision(revision, file)
        if path.exists() and path.stat().st_size > 0:
            if _sqlite_has_data(path) and not force:
                raise BackupError(
                    f"{path} already holds data: restore into a new database, or pass "
                    "--force to replace it (stop the server first)"
                )
        elif not path.parent.is_dir():
            raise BackupError(f"{path.parent} is not a directory")
        else:
            _private_file(path, exclusive=False)
        dst = sqlite3.connect(path, timeout=30)
        dst.isolation_level = None
        try:
            # The backup API cannot write into a WAL database whose page size differs:
            # copy in rollback mode, then put the database back in WAL as the server runs it.
            dst.execute("PRAGMA journal_mode=DELETE")
            _sqlite_copy(src, dst, report, "restoring", hold_snapshot=False)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    return _migrate_and_count(f"sqlite:///{path.resolve()}", report, _sqlite_counts_at(path))


def _sqlite_revision(conn: sqlite3.Connection, path: Path) -> str:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        row = None
    if row is None:
        raise BackupError(f"{path} is not an examvault database (no alembic_version)")
    return str(row[0])


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in COUNTED}


def _sqlite_counts_at(path: Path) -> Callable[[], dict[str, int]]:
    def count() -> dict[str, int]:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        try:
            return _sqlite_counts(conn)
        finally:
            conn.close()

    return count


def _sqlite_has_data(path: Path) -> bool:
    """Whether any table but alembic_version has a row (or the file is not a database)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'"
            )
        ]
        return any(
            conn.execute(f'SELECT 1 FROM "{name}" LIMIT 1').fetchone() is not None for name in names
        )
    except sqlite3.DatabaseError:
        return True
    finally:
        conn.close()


def _sqlite_path(parsed: URL) -> Path:
    if parsed.database in (None, "", ":memory:"):
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(parsed.database)


# --- PostgreSQL -------------------------------------------------------------------------


async def _pg_backup(parsed: URL, partial: Path, report: Progress) -> tuple[dict[str, int], str]:
    pg_dump = pg_program("pg_dump")
    conn = await _pg_connect(parsed)
    try:
        # One repeatable-read transaction whose snapshot pg_dump adopts (--snapshot):
        # the counts below and the dump describe the very same committed state.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            revision = await _pg_revision(conn, parsed)
            counts = await _pg_counts(conn)
            tables = await conn.fetchval(
                "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                "('pg_catalog', 'information_schema')"
            )
            args, env = libpq_args(parsed)
            await _run_pg_tool(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--verbose",
                 f"--file={partial}", *args],
                env, report, r'dumping contents of table "?([^"]+)"?', "dumping", int(tables),
            )  # fmt: skip
    finally:
        await conn.close()
    return counts, revision


async def _pg_restore(
    file: Path, parsed: URL, force: bool, report: Progress
) -> tuple[dict[str, int], str]:
    pg_restore = pg_program("pg_restore")
    toc = await _output([pg_restore, "--list", str(file)], f"{file} is not a readable archive")
    entries = [line for line in toc.splitlines() if line.strip() and not line.startswith(";")]
    if not any(re.search(r"\bTABLE \S+ alembic_version\b", line) for line in entries):
        raise BackupError(f"{file} is not an examvault backup (no alembic_version table)")
    data = await _output(
        [pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(file)],
        f"{file}: cannot read its alembic_version",
    )
    revision = _copy_rows(data)
    _check_revision(revision, file)
    try:
        conn = await _pg_connect(parsed)
    except BackupError as exc:
        if "does not exist" in str(exc):
            raise BackupError(
                f"{exc}; create it first, e.g. createdb -h {parsed.host or 'localhost'} "
                f"-p {parsed.port or 5432} -U {parsed.username or '$USER'} {parsed.database}"
            ) from None
        raise
    try:
        tables = await conn.fetch(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS name, "
            "tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        has_data = False
        for t in tables:
            if t["tablename"] != "alembic_version" and await conn.fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {t['name']})"
            ):
                has_data = True
                break
    finally:
        await conn.close()
    if has_data and not force:
        raise BackupError(
            f"database {parsed.database!r} already holds data: restore into an empty "
            "database, or pass --force to replace it (stop the servers first)"
        )
    args, env = libpq_args(parsed)
    # --single-transaction: a restore that fails leaves the database as it was.
    # --clean --if-exists: drop what the archive holds first (a migrated but empty
    # database, or one being replaced with --force).
    clean = ["--clean", "--if-exists"] if tables else []
    await _run_pg_tool(
        [pg_restore, "--verbose", "--exit-on-error", "--single-transaction", "--no-owner",
         *clean, *args, str(file)],
        env, report, r'(?:creating \S+|processing data for table) "?([^"]+)"?', "restoring",
        len(entries),
    )  # fmt: skip

    async def count() -> dict[str, int]:
        conn = await _pg_connect(parsed)
        try:
            return await _pg_counts(conn)
        finally:
            await conn.close()

    return await asyncio.to_thread(
        _migrate_and_count, parsed.render_as_string(hide_password=False), report,
        lambda: asyncio.run(count()),
    )  # fmt: skip


def pg_program(name: str) -> str:
    """The path of a PostgreSQL client program: `pg_config --bindir`, else the newest
    /usr/lib/postgresql/*/bin (Debian), else PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            candidates.append(Path(bindir) / name)

    def version(path: str) -> int:
        found = re.search(r"/postgresql/(\d+)/", path)
        return int(found.group(1)) if found else 0

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        candidates.append(Path(bindir) / name)
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    raise BackupError(
        f"{name} not found (looked in `pg_config --bindir`, /usr/lib/postgresql/*/bin and "
        "PATH): install the PostgreSQL client programs, of the server's version or newer "
        "(Debian: apt install postgresql-client)"
    )


def libpq_args(parsed: URL) -> tuple[list[str], dict[str, str]]:
    """Command-line options and environment for pg_dump/pg_restore from a database URL.

    The password goes in the environment (PGPASSWORD), never on a command line."""
    if not parsed.database:
        raise BackupError("the PostgreSQL URL names no database")
    args: list[str] = []
    host = parsed.query.get("host") or parsed.host
    if isinstance(host, tuple):
        host = host[0]
    if host:
        args.append(f"--host={host}")
    if parsed.port:
        args.append(f"--port={parsed.port}")
    if parsed.username:
        args.append(f"--username={parsed.username}")
    args.append(f"--dbname={parsed.database}")
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    for key, var in LIBPQ_ENV.items():
        value = parsed.query.get(key)
        if isinstance(value, str):
            env[var] = value
    env["PGAPPNAME"] = "examvault-backup"
    return ["--no-password", *args], env


async def _run_pg_tool(
    command: list[str],
    env: dict[str, str],
    report: Progress,
    step: str,
    what: str,
    total: int,
) -> None:
    """Run pg_dump/pg_restore --verbose; each line matching `step` advances the progress."""
    proc = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    done = 0
    tail: list[str] = []
    report(what, 0, total)
    async for raw in proc.stderr:
        line = raw.decode(errors="replace").rstrip()
        tail = [*tail[-19:], line]
        found = re.search(step, line)
        if found:
            done += 1
            report(f"{what} {found.group(1)}", min(done, total), total)
    if await proc.wait() != 0:
        errors = [line for line in tail if "error" in line.lower()] or tail[-5:]
        raise BackupError(f"{Path(command[0]).name} failed: " + " | ".join(errors))
    report(what, total, total)


async def _output(command: list[str], failure: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise BackupError(f"{failure}: {err.decode(errors='replace').strip()}")
    return out.decode(errors="replace")


def _copy_rows(sql: str) -> str:
    """The one value of the COPY block in pg_restore's SQL for alembic_version."""
    lines = iter(sql.splitlines())
    for line in lines:
        if line.startswith("COPY "):
            values = []
            for row in lines:
                if row == "\\.":
                    break
                values.append(row)
            if len(values) == 1:
                return values[0]
    raise BackupError("the backup's alembic_version does not hold exactly one revision")


async def _pg_connect(parsed: URL) -> Any:
    import asyncpg  # type: ignore[import-untyped]

    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return await asyncpg.connect(dsn, timeout=10)
    except asyncpg.InvalidCatalogNameError:
        raise BackupError(f"database {parsed.database!r} does not exist") from None
    except (OSError, asyncpg.PostgresError) as exc:
        raise BackupError(f"cannot connect to {_safe(parsed)}: {exc}") from None


async def _pg_revision(conn: Any, parsed: URL) -> str:
    import asyncpg

    try:
        return str(await conn.fetchval("SELECT version_num FROM alembic_version"))
    except asyncpg.UndefinedTableError:
        raise BackupError(
            f"{_safe(parsed)} is not an examvault database (no alembic_version)"
        ) from None


async def _pg_counts(conn: Any) -> dict[str, int]:
    return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in COUNTED}


# --- both -------------------------------------------------------------------------------


def _store(url: str) -> tuple[str, URL]:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return "sqlite", parsed
    if backend in ("postgresql", "postgres"):
        return "postgresql", parsed
    raise BackupError(f"unsupported database {backend!r}: use sqlite:///… or postgresql://…")


def _check_revision(revision: str, file: Path) -> None:
    from alembic.script import ScriptDirectory

    from examvault.store.migrate import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    known = {rev.revision for rev in script.walk_revisions()}
    if revision not in known:
        raise BackupError(
            f"{file} holds schema revision {revision!r}, unknown to this examvault "
            f"(it knows {', '.join(sorted(known))}): restore it with the examvault that made it"
        )


def _migrate_and_count(
    url: str, report: Progress, count: Callable[[], dict[str, int]]
) -> tuple[dict[str, int], str]:
    from alembic.script import ScriptDirectory

    from examvault.store.migrate import MIGRATIONS, upgrade

    report("migrating to the latest schema", 0, 0)
    upgrade(url)
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    return count(), str(head)


def _private_file(path: Path, *, exclusive: bool = True) -> None:
    """Create `path` readable and writable by its owner only (0600): a backup holds
    every candidate's answers and token hashes."""
    if exclusive:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # what a failed earlier run left behind
    flags = os.O_CREAT | os.O_WRONLY | (os.O_EXCL if exclusive else 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
    finally:
        os.close(fd)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    value, unit = n / 1000, "KB"
    for bigger in ("MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}"


def _safe(parsed: URL) -> str:
    return parsed.render_as_string(hide_password=True)


def _no_progress(_what: str, _done: int, _total: int) -> None:
    return None
