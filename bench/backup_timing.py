"""How long `examvault backup` and `examvault restore` take on a full exam's database.

    .venv/bin/python bench/backup_timing.py [--attempts 10000] [--questions 100]
                                            [--stores sqlite,postgresql]

For each store: a fresh database (bench/run.py's `Database`: a temp SQLite file, or a new
PostgreSQL database dropped afterwards), migrated; the exam and its candidates written
through the app's own write path (`Exams.put`, `Directory.register` on a `Core`); then every attempt
filled in by bulk insert into the real schema, as a finished exam leaves it: submitted
attempts with their totals, about 90 % of the questions answered, each answer scored
with `examvault.marking` and journaled, three in ten of them after an earlier change.
Then the commands an operator runs, as subprocesses, timed from outside: `examvault
backup` of the database, and `examvault restore` of that file into another fresh one
(migration to the latest schema included). Prints one table row per store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `bench.run`

from bench.run import Database
from examvault.core import Core
from examvault.domain.answers import encode_response, normal_form
from examvault.domain.exams import Exam, parse_definition
from examvault.domain.marking import score
from examvault.domain.totals import Totals
from examvault.loadtest.scenarios import exam_document
from examvault.loadtest.verify import compiled
from examvault.settings import Settings
from examvault.store.migrate import upgrade

EXAM_ID = "backup-bench"
CHUNK = 250  # attempts per insert batch
MICROS = 1_000_000
ATTEMPT_COLUMNS = (
    "id", "exam_id", "candidate_id", "exam_version", "status", "started_at", "deadline",
    "end_at", "submitted_at", "submit_kind", "last_seq", "answered", "totals", "key_version",
    "last_seen_at",
)  # fmt: skip
ANSWER_COLUMNS = (
    "attempt_id", "question_id", "seq", "response", "marked", "time_spent_ms", "outcome",
    "score", "saved_at",
)  # fmt: skip
JOURNAL_COLUMNS = (
    "attempt_id", "question_id", "seq", "response", "marked", "time_spent_ms", "received_at",
    "late",
)  # fmt: skip


def _raw_response(qtype: str, rng: random.Random) -> Any:
    if qtype == "single":
        return rng.choice("ABCD")
    if qtype == "multiple":
        return sorted(rng.sample("ABCD", rng.randint(1, 3)))
    return Decimal(f"{rng.uniform(2.3, 2.7):.2f}")


def rows(exam: Exam, attempts: int, seed: int = 7) -> Iterator[tuple[list[Any], ...]]:
    """(attempts, answers, journal) rows, CHUNK attempts at a time; the same every run."""
    rng = random.Random(seed)
    t0 = 1_700_000_000 * MICROS
    for start in range(0, attempts, CHUNK):
        att: list[Any] = []
        ans: list[Any] = []
        jnl: list[Any] = []
        for n in range(start, min(attempts, start + CHUNK)):
            aid = f"{rng.getrandbits(128):032x}"
            began = t0 + rng.randrange(600) * MICROS
            seq = 0
            outcomes = {}
            for q in exam.questions:
                if rng.random() >= 0.9:
                    continue
                at = began + rng.randrange(3 * 3600) * MICROS
                if rng.random() < 0.3:  # changed once: the earlier response is journaled
                    seq += 1
                    first = encode_response(_raw_response(q.type, rng))
                    jnl.append((aid, q.id, seq, first, False, 20_000, at - MICROS, False))
                seq += 1
                raw = _raw_response(q.type, rng)
                text = encode_response(raw)
                outcome, points = score(q.rule, normal_form(q, raw))
                outcomes[q.id] = (outcome, points)
                marked = rng.random() < 0.05
                spent = rng.randrange(5_000, 120_000)
                ans.append((aid, q.id, seq, text, marked, spent, outcome, str(points), at))
                jnl.append((aid, q.id, seq, text, marked, spent, at, False))
            deadline = began + 3 * 3600 * MICROS
            submitted = deadline - rng.randrange(1800) * MICROS
            att.append((
                aid, EXAM_ID, f"C{n:05d}", 1, "submitted", began, deadline, deadline + 30 * MICROS,
                submitted, "manual", seq, len(outcomes), Totals.of(exam, outcomes).dumps(), 1,
                submitted,
            ))  # fmt: skip
        yield att, ans, jnl


async def _app_writes(url: str, data_dir: Path, doc: dict[str, Any], attempts: int) -> None:
    """The exam and its candidates, through the app's own write path."""
    settings = Settings(database_url=url, data_dir=data_dir, admin_token="bench")
    core = Core.create(settings)
    await core.start(background=False)
    try:
        definition = parse_definition(json.loads(json.dumps(doc), parse_float=Decimal))
        await core.exams.put(definition, "bench")
        people = [(f"C{n:05d}", f"Candidate {n}") for n in range(attempts)]
        for i in range(0, attempts, 2000):
            await core.directory.register(EXAM_ID, people[i : i + 2000], "bench")
    finally:
        await core.stop()


def _fill_sqlite(url: str, exam: Exam, attempts: int) -> dict[str, int]:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    counts = {"answers": 0, "journal": 0}
    try:
        for att, ans, jnl in rows(exam, attempts):
            conn.execute("BEGIN")
            for table, columns, batch in (("attempts", ATTEMPT_COLUMNS, att),
                                          ("answers", ANSWER_COLUMNS, ans),
                                          ("journal", JOURNAL_COLUMNS, jnl)):  # fmt: skip
                marks = ", ".join("?" * len(columns))
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch
                )
            conn.execute("COMMIT")
            counts["answers"] += len(ans)
            counts["journal"] += len(jnl)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return counts


async def _fill_postgresql(url: str, exam: Exam, attempts: int) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    counts = {"answers": 0, "journal": 0}
    try:
        for att, ans, jnl in rows(exam, attempts):
            async with conn.transaction():
                await conn.copy_records_to_table("attempts", records=att, columns=ATTEMPT_COLUMNS)
                await conn.copy_records_to_table("answers", records=ans, columns=ANSWER_COLUMNS)
                await conn.copy_records_to_table("journal", records=jnl, columns=JOURNAL_COLUMNS)
            counts["answers"] += len(ans)
            counts["journal"] += len(jnl)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return counts


async def _pg_size(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    finally:
        await conn.close()


def _timed(*args: str) -> tuple[float, str]:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "examvault", *args], capture_output=True, text=True, check=False
    )
    elapsed = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"examvault {args[0]} failed: {done.stderr.strip()}")
    return elapsed, done.stdout.strip()


def measure(
    store: str, attempts: int, questions: int, tmp: Path, console: Console
) -> dict[str, Any]:
    doc = exam_document(EXAM_ID, questions, 3 * 3600, 30)
    exam = compiled(doc)
    with Database(store, tmp) as url:
        upgrade(url)
        began = time.monotonic()
        asyncio.run(_app_writes(url, tmp, doc, attempts))
        if store == "sqlite":
            counts = _fill_sqlite(url, exam, attempts)
            size = Path(url.removeprefix("sqlite:///")).stat().st_size
        else:
            counts = asyncio.run(_fill_postgresql(url, exam, attempts))
            size = asyncio.run(_pg_size(url))
        console.print(f"{store}: filled in {time.monotonic() - began:.0f} s ({counts})")
        out = tmp / f"{store}.backup"
        backup_s, backup_line = _timed("backup", str(out), "--database", url)
        console.print(backup_line)
        with Database(store, tmp) as target:  # new and empty
            restore_s, restore_line = _timed("restore", str(out), "--database", target)
        console.print(restore_line)
        backup_size = out.stat().st_size
        out.unlink()

    def inside(line: str) -> str:  # the time the command itself reports, start-up excluded
        found = re.search(r" in ([\d.]+) s;", line)
        return found.group(1) if found else "?"

    return {
        "store": store,
        "attempts": attempts,
        "answers": counts["answers"],
        "journal": counts["journal"],
        "database MB": round(size / 1e6, 1),
        "backup MB": round(backup_size / 1e6, 1),
        "backup s": f"{backup_s:.1f} ({inside(backup_line)})",
        "restore s": f"{restore_s:.1f} ({inside(restore_line)})",
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench/backup_timing.py")
    parser.add_argument("--attempts", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    console = Console(width=120)
    results = []
    with tempfile.TemporaryDirectory(prefix="examvault-backup-bench-") as tmp_name:
        for store in args.stores.split(","):
            results.append(measure(store, args.attempts, args.questions, Path(tmp_name), console))
    table = Table(
        title=f"backup and restore, {args.attempts:,} attempts × {args.questions} questions"
    )
    for column in results[0]:
        table.add_column(column, justify="left" if column == "store" else "right")
    for r in results:
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in r.values()))
    console.print(table)


if __name__ == "__main__":
    main()
