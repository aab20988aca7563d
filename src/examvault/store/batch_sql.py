"""The SQL of the save/submit batch, and the driver connection that runs it.

The writer applies every batch with the same few statements (services/journal.py): the
reads, the writes (on PostgreSQL the three INSERTs as one statement, `insert_rows`), and
the attempts' UPDATE. Profiled
under steady autosave, building them with SQLAlchemy's expression language took 40 % of
the writer's time (a read of N attempts' answers had a new shape, so a new compilation,
for every N), and running them through SQLAlchemy's execution layer most of the rest:
for an executemany it processes every parameter set in Python. So here each statement
has one fixed shape whatever the batch holds — the keys travel as a single JSON
(SQLite) or array (PostgreSQL) parameter — and the batch runs them on the driver
connection under the writer's SQLAlchemy connection, in the same transaction, with
rows as tuples. The first read, of the attempts, goes through SQLAlchemy's connection
(`exec_driver_sql`, no compilation): on PostgreSQL that is what begins the transaction,
which `BatchDriver.of` then checks.

Both reads go through the primary key: SQLite answers a row-value `IN` over `json_each`
with `SEARCH … USING INDEX` (tests/integration/test_batch_sql.py checks the plan).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

# Columns of the attempts read (with their exam's key version and close), in this order.
ATTEMPT_COLUMNS = (
    "id", "exam_id", "candidate_id", "exam_version", "status", "deadline", "end_at",
    "submitted_at", "submit_kind", "last_seq", "answered", "totals", "last_seen_at", "rank",
    "percentile", "paused_at", "reopened", "exam_key_version", "closed_at",
)  # fmt: skip
_ATTEMPTS_SELECT = (
    "SELECT "
    + ", ".join(f"a.{c}" for c in ATTEMPT_COLUMNS[:-2])
    + ", e.key_version AS exam_key_version, e.closed_at "
    "FROM attempts a JOIN exams e ON e.id = a.exam_id "
)
# Columns of the answers read, in this order.
ANSWER_COLUMNS = ("attempt_id", "question_id", "seq", "response", "marked", "outcome", "score")
# Parameters of the writes, in this order.
JOURNAL_COLUMNS = (
    "attempt_id", "question_id", "seq", "response", "marked", "time_spent_ms", "received_at",
    "late",
)  # fmt: skip
ANSWER_WRITE_COLUMNS = (
    "attempt_id", "question_id", "seq", "response", "marked", "time_spent_ms", "outcome",
    "score", "saved_at",
)  # fmt: skip
ATTEMPT_UPDATE_COLUMNS = (
    "status", "submitted_at", "submit_kind", "last_seq", "answered", "totals", "last_seen_at",
    "id",
)  # fmt: skip

_SQLITE_ANSWERS = (
    f"SELECT {', '.join(ANSWER_COLUMNS)} FROM answers WHERE (attempt_id, question_id) IN "
    "(SELECT json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]') "
    "FROM json_each(?) AS k)"
)
# PostgreSQL: one primary-key lookup per pair, whatever the statistics say. asyncpg
# prepares the statement once per connection and PostgreSQL soon keeps one generic plan
# for it; planned while `answers` was nearly empty, the `IN (SELECT … unnest …)` form
# kept a hash join over a sequential scan of the whole table: 18–36 ms a batch at 200,000
# answers in stampede_2k, growing with the table. A LATERAL subquery with a LIMIT cannot
# be flattened into a join (nor can one with OFFSET 0), so it is always a nested loop of
# index lookups.
_POSTGRESQL_BY_PAIR = (
    "SELECT x.* FROM unnest(CAST(? AS text[]), CAST(? AS text[])) AS k(a, q) CROSS JOIN "
    "LATERAL (SELECT {columns} FROM {table} WHERE attempt_id = k.a AND question_id = k.q"
    "{fence}) AS x"
)
_POSTGRESQL_ANSWERS = _POSTGRESQL_BY_PAIR.format(
    columns=", ".join(ANSWER_COLUMNS), table="answers", fence=" LIMIT 1"
)
# The late journal entries of these (attempt, question) pairs: read only for a reopened
# attempt, whose items journaled late before the reopen must stay late (docs/api.md).
_SQLITE_LATE = (
    "SELECT attempt_id, question_id, seq FROM journal WHERE late AND (attempt_id, question_id) "
    "IN (SELECT json_extract(k.value, '$[0]'), json_extract(k.value, '$[1]') "
    "FROM json_each(?) AS k)"
)
_POSTGRESQL_LATE = _POSTGRESQL_BY_PAIR.format(
    columns="attempt_id, question_id, seq", table="journal", fence=" AND late OFFSET 0"
)
_WRITES = {
    "insert_journal": (
        f"INSERT INTO journal ({', '.join(JOURNAL_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(JOURNAL_COLUMNS))}) ON CONFLICT DO NOTHING"
    ),
    "upsert_answers": (
        f"INSERT INTO answers ({', '.join(ANSWER_WRITE_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(ANSWER_WRITE_COLUMNS))}) "
        "ON CONFLICT (attempt_id, question_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in ANSWER_WRITE_COLUMNS[2:])
        # A new response (possible only after a reopen) is not what was marked.
        + ", mark = NULL, mark_comment = NULL, marked_by = NULL, marked_at = NULL"
    ),
    "update_attempts": (
        "UPDATE attempts SET "
        + ", ".join(f"{c} = ?" for c in ATTEMPT_UPDATE_COLUMNS[:-1])
        + " WHERE id = ?"
    ),
    "upsert_save_stats": (
        'INSERT INTO save_stats (exam_id, "second", shard, saved, late) VALUES (?, ?, ?, ?, ?) '
        'ON CONFLICT (exam_id, "second", shard) DO UPDATE SET '
        "saved = save_stats.saved + excluded.saved, late = save_stats.late + excluded.late"
    ),
}


# PostgreSQL: the journal's rows, the answers' rows and the save counts of a batch in
# one statement, one round trip instead of three: each table's rows travel as one array
# a column (unnest), and data-modifying CTEs write them in the batch's transaction. Each
# INSERT finds its conflicts through its table's unique index, whatever plan was kept.
_PG_TYPES = {
    "journal": ("text", "text", "bigint", "text", "boolean", "bigint", "bigint", "boolean"),
    "answers": ("text", "text", "bigint", "text", "boolean", "bigint", "text", "text", "bigint"),
    "save_stats": ("text", "bigint", "integer", "integer", "integer"),
}


def _unnest(types: Sequence[str], first: int) -> str:
    return "unnest(" + ", ".join(f"${first + i}::{t}[]" for i, t in enumerate(types)) + ")"


def _postgresql_inserts() -> str:
    journal, answers, stats = _PG_TYPES["journal"], _PG_TYPES["answers"], _PG_TYPES["save_stats"]
    upsert_answers = _WRITES["upsert_answers"]
    upsert_stats = _WRITES["upsert_save_stats"]
    return (
        f"WITH j AS (INSERT INTO journal ({', '.join(JOURNAL_COLUMNS)}) "
        f"SELECT * FROM {_unnest(journal, 1)} ON CONFLICT DO NOTHING), "
        f"a AS (INSERT INTO answers ({', '.join(ANSWER_WRITE_COLUMNS)}) "
        f"SELECT * FROM {_unnest(answers, 1 + len(journal))} "
        + upsert_answers[upsert_answers.index("ON CONFLICT") :]
        + '), s AS (INSERT INTO save_stats (exam_id, "second", shard, saved, late) '
        f"SELECT * FROM {_unnest(stats, 1 + len(journal) + len(answers))} "
        + upsert_stats[upsert_stats.index("ON CONFLICT") :]
        + ") SELECT 1"
    )


def insert_rows_params(
    journal: Sequence[tuple[Any, ...]],
    answers: Sequence[tuple[Any, ...]],
    save_stats: Sequence[tuple[Any, ...]],
) -> list[list[Any]]:
    """The parameters of `insert_rows`: each table's rows as one list a column."""
    params: list[list[Any]] = []
    for rows, table in ((journal, "journal"), (answers, "answers"), (save_stats, "save_stats")):
        width = len(_PG_TYPES[table])
        params += [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width
    return params


def _numbered(sql: str) -> str:
    """`?` placeholders to asyncpg's `$1, $2, …`."""
    counter = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


@dataclass(frozen=True)
class BatchSql:
    """The statements of one store's dialect, and how their keys are passed."""

    arrays: bool  # PostgreSQL takes arrays; SQLite a JSON text it reads with json_each
    load_attempts: str
    load_answers: str
    load_late: str
    insert_journal: str
    upsert_answers: str
    update_attempts: str
    upsert_save_stats: str
    # PostgreSQL: the three INSERTs in one statement over column arrays; None on SQLite,
    # whose statements cost no round trip.
    insert_rows: str | None = None

    def ids(self, ids: Sequence[str]) -> tuple[Any, ...]:
        """Parameters of `load_attempts`."""
        return (list(ids) if self.arrays else orjson.dumps(list(ids)).decode(),)

    def pairs(self, pairs: Sequence[tuple[str, str]]) -> tuple[Any, ...]:
        """Parameters of `load_answers` and `load_late`."""
        if self.arrays:
            return ([a for a, _ in pairs], [q for _, q in pairs])
        return (orjson.dumps(pairs).decode(),)


SQLITE = BatchSql(
    arrays=False,
    load_attempts=(
        _ATTEMPTS_SELECT + "WHERE a.id IN (SELECT value FROM json_each(?)) ORDER BY a.id"
    ),
    load_answers=_SQLITE_ANSWERS,
    load_late=_SQLITE_LATE,
    **_WRITES,
)

POSTGRESQL = BatchSql(
    arrays=True,
    # Locked in id order, so two processes' batches never wait on each other in a cycle;
    # one primary-key lookup per id, as the answers are read (see _POSTGRESQL_BY_PAIR:
    # `a.id = ANY(…)` kept a scan of `attempts` from a plan made while it was empty).
    load_attempts=(
        "SELECT x.* FROM (SELECT DISTINCT unnest($1::text[]) AS id ORDER BY 1) AS k "
        "CROSS JOIN LATERAL ("
        + _ATTEMPTS_SELECT
        + "WHERE a.id = k.id LIMIT 1 FOR UPDATE OF a) AS x ORDER BY x.id"
    ),
    load_answers=_numbered(_POSTGRESQL_ANSWERS),
    load_late=_numbered(_POSTGRESQL_LATE),
    **{name: _numbered(sql) for name, sql in _WRITES.items()},
    insert_rows=_postgresql_inserts(),
)


class BatchDriver:
    """The driver connection (aiosqlite or asyncpg) under the writer's connection."""

    def __init__(self, raw: Any, postgresql: bool) -> None:
        self._raw = raw
        self._postgresql = postgresql

    @classmethod
    async def of(cls, conn: AsyncConnection, postgresql: bool) -> BatchDriver:
        """The driver under `conn`, inside `conn`'s transaction.

        SQLite's transaction began with `conn` (BEGIN IMMEDIATE, store/engine.py);
        SQLAlchemy begins PostgreSQL's at the first statement sent through it, so call
        this after one: a statement sent past SQLAlchemy before that would run in a
        transaction of its own, committed before the batch is.
        """
        raw: Any = (await conn.get_raw_connection()).driver_connection
        if postgresql and not raw.is_in_transaction():
            raise RuntimeError("the batch's transaction has not begun on the driver")
        return cls(raw, postgresql)

    async def fetch(self, sql: str, params: tuple[Any, ...]) -> Sequence[Sequence[Any]]:
        if self._postgresql:
            rows: Sequence[Sequence[Any]] = await self._raw.fetch(sql, *params)
            return rows
        return list(await self._raw.execute_fetchall(sql, params))

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            await self._raw.executemany(sql, rows)

    async def execute(self, sql: str, params: Sequence[Any]) -> None:
        """One statement (PostgreSQL's `insert_rows`)."""
        await self._raw.execute(sql, *params)
