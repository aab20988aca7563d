"""Queries of the `answers` table outside the hot path: views, rescoring, the tally."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from examvault.store.queries import is_postgresql
from examvault.store.tables import answers, attempts


async def of_attempt(conn: AsyncConnection, attempt_id: str) -> Sequence[Any]:
    """What the attempt view shows of each answer."""
    return (
        await conn.execute(
            select(
                answers.c.question_id,
                answers.c.response,
                answers.c.seq,
                answers.c.marked,
                answers.c.time_spent_ms,
            ).where(answers.c.attempt_id == attempt_id)
        )
    ).all()


async def for_rescore(
    conn: AsyncConnection, ids: Sequence[str], questions: frozenset[str] | None
) -> Any:
    """(attempt_id, question_id, response, outcome, score, mark) of these attempts (and
    only these questions, if given)."""
    query = select(
        answers.c.attempt_id,
        answers.c.question_id,
        answers.c.response,
        answers.c.outcome,
        answers.c.score,
        answers.c.mark,
    ).where(answers.c.attempt_id.in_(ids))
    if questions is not None:
        query = query.where(answers.c.question_id.in_(sorted(questions)))
    return await conn.execute(query)


async def scripts(conn: AsyncConnection, exam_id: str, questions: Sequence[str]) -> Sequence[Any]:
    """(attempt_id, question_id, mark, mark_comment, marked_by, marked_at) of every answered
    one of these questions in a submitted attempt of the exam: the scripts, without their
    responses (a page of them is read by `responses`)."""
    return (
        await conn.execute(
            select(
                answers.c.attempt_id,
                answers.c.question_id,
                answers.c.mark,
                answers.c.mark_comment,
                answers.c.marked_by,
                answers.c.marked_at,
            )
            .join(attempts, attempts.c.id == answers.c.attempt_id)
            .where(
                attempts.c.exam_id == exam_id,
                attempts.c.status == "submitted",
                answers.c.question_id.in_(list(questions)),
                answers.c.response.is_not(None),
            )
        )
    ).all()


async def responses(
    conn: AsyncConnection, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str | None]:
    """The stored response (JSON text) of each (attempt_id, question_id)."""
    if not pairs:
        return {}
    rows = await conn.execute(
        select(answers.c.attempt_id, answers.c.question_id, answers.c.response).where(
            tuple_(answers.c.attempt_id, answers.c.question_id).in_(list(pairs))
        )
    )
    return {(r.attempt_id, r.question_id): r.response for r in rows}


async def for_marks(conn: AsyncConnection, pairs: Sequence[tuple[str, str]]) -> Sequence[Any]:
    """(attempt_id, question_id, response, outcome, score) of the answers being marked,
    locked on PostgreSQL (their attempts are locked first, by `attempts.for_marks`)."""
    query = select(
        answers.c.attempt_id,
        answers.c.question_id,
        answers.c.response,
        answers.c.outcome,
        answers.c.score,
    ).where(tuple_(answers.c.attempt_id, answers.c.question_id).in_(list(pairs)))
    if is_postgresql(conn):
        query = query.with_for_update()
    return (await conn.execute(query)).all()


async def set_marks(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Rows of b_a (attempt), b_q (question), outcome, score, mark, mark_comment,
    marked_by, marked_at."""
    if rows:
        await conn.execute(
            update(answers).where(
                answers.c.attempt_id == bindparam("b_a"),
                answers.c.question_id == bindparam("b_q"),
            ),
            rows,
        )


async def review(conn: AsyncConnection, attempt_id: str) -> Sequence[Any]:
    """What a candidate's review shows of each answer: response, outcome, score, comment."""
    return (
        await conn.execute(
            select(
                answers.c.question_id,
                answers.c.response,
                answers.c.outcome,
                answers.c.score,
                answers.c.mark_comment,
            ).where(answers.c.attempt_id == attempt_id)
        )
    ).all()


async def update_scores(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Rows of b_a (attempt), b_q (question), outcome, score."""
    if rows:
        await conn.execute(
            update(answers).where(
                answers.c.attempt_id == bindparam("b_a"),
                answers.c.question_id == bindparam("b_q"),
            ),
            rows,
        )


# One pass over the answers of the submitted attempts, aggregated by the database: per
# question, distinct stored answer and rank group (1 upper, 2 lower, 3 both), how many
# attempts, the sum of their scaled totals and their times. About 1,000 rows instead of
# 2 M for 10,000 attempts × 200 questions: reading every answer row into Python through
# SQLAlchemy was most of the time (docs/performance.md). The groups travel in a temporary
# table of this connection's transaction; the sums are exact integers on both stores.
_GROUPS = "ev_rank_groups"
# A question whose figures never look at what was answered (numeric, text: no options to
# count) is grouped by answered or not, with one of its responses to stand for the rest:
# every written answer is different, and 10,000 of them per question would be 10,000
# rows instead of a handful (docs/performance.md, "Analytics and regrade").
_TALLY = """
SELECT a.question_id, MIN(a.response), a.outcome, a.score, g.grp, COUNT(*), SUM(g.y), {times}
FROM {groups} g JOIN answers a ON a.attempt_id = g.attempt_id
GROUP BY a.question_id,
    CASE WHEN a.response IS NOT NULL AND a.question_id IN ({keyless}) THEN '' ELSE a.response END,
    a.outcome, a.score, g.grp
"""
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


def _keyless(question_ids: Sequence[str]) -> str:
    """Question ids as an SQL list; they are identifiers (docs/exam-format.md), checked
    again here since they are written into the statement."""
    if not all(_IDENT.match(q) for q in question_ids):
        raise ValueError("a question id that is not an identifier")
    return ", ".join(f"'{q}'" for q in question_ids) or "NULL"


async def tally(
    conn: AsyncConnection,
    groups: list[tuple[str, int, int]],
    keyless: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """The aggregated answer rows of these (attempt_id, group, scaled total) rows, through
    the raw driver (the rows need no mapping). `keyless`: the questions whose answers are
    counted only as answered or not."""
    keyless_sql = _keyless(keyless)
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "postgresql":
        # The transaction has begun (SQLAlchemy ran the caller's queries), so ON COMMIT
        # DROP removes the table when the read ends, whether it succeeded or not.
        await driver.execute(
            f"CREATE TEMP TABLE {_GROUPS} (attempt_id TEXT PRIMARY KEY, grp INTEGER NOT NULL,"
            " y BIGINT NOT NULL) ON COMMIT DROP"
        )
        await driver.copy_records_to_table(_GROUPS, records=groups)
        await driver.execute(f"ANALYZE {_GROUPS}")  # else it is planned as a tiny table
        times = "string_agg(a.time_spent_ms::text, ',')"
        rows = await driver.fetch(_TALLY.format(times=times, groups=_GROUPS, keyless=keyless_sql))
        return [tuple(r) for r in rows]
    # SQLite: a temporary table lives in the connection's own temp database, so creating
    # it takes no lock on the main database and the read stays a reader.
    await driver.execute(f"DROP TABLE IF EXISTS temp.{_GROUPS}")
    await driver.execute(
        f"CREATE TEMP TABLE {_GROUPS} (attempt_id TEXT PRIMARY KEY, grp INTEGER NOT NULL,"
        " y INTEGER NOT NULL)"
    )
    try:
        await driver.executemany(f"INSERT INTO temp.{_GROUPS} VALUES (?, ?, ?)", groups)
        sql = _TALLY.format(
            times="group_concat(a.time_spent_ms)", groups=f"temp.{_GROUPS}", keyless=keyless_sql
        )
        async with driver.execute(sql) as cursor:
            return [tuple(r) for r in await cursor.fetchall()]
    finally:
        await driver.execute(f"DROP TABLE temp.{_GROUPS}")
