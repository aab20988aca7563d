"""The batch's statements: through the primary key, in the batch's transaction."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import text

from examvault.services.journal import AttemptRow
from examvault.store import batch_sql
from examvault.store.batch_sql import BatchDriver
from examvault.store.engine import open_store
from tests.helpers import running, small_exam


async def test_sqlite_reads_attempts_and_answers_through_their_primary_keys(
    sqlite_template: Path, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{sqlite_template}")
    try:
        async with store.read() as conn:
            for sql, params in (
                (batch_sql.SQLITE.load_attempts, batch_sql.SQLITE.ids(["a", "b"])),
                (batch_sql.SQLITE.load_answers, batch_sql.SQLITE.pairs([("a", "q1")])),
            ):
                plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)).all()
                details = " | ".join(str(row[-1]) for row in plan)
                assert "USING INDEX sqlite_autoindex" in details, details
                assert "SCAN a" not in details and "SCAN answers" not in details, details
    finally:
        await store.dispose()


async def test_postgresql_reads_by_key_even_with_a_plan_made_on_empty_tables(
    pg_url: str,
) -> None:
    """asyncpg prepares each statement once and PostgreSQL keeps a generic plan; one made
    while the tables were empty must not become a scan of them once they are full."""
    import asyncpg

    from examvault.store.engine import async_url

    conn = await asyncpg.connect(async_url(pg_url).replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        pairs = (["a", "b"], ["q1", "q2"])
        for sql, params in (
            (batch_sql.POSTGRESQL.load_attempts, (["a", "b"],)),
            (batch_sql.POSTGRESQL.load_answers, pairs),
            (batch_sql.POSTGRESQL.load_late, pairs),
        ):
            plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", *params))
            assert "Index Scan" in plan or "Index Only Scan" in plan, plan
            assert "Seq Scan" not in plan and "Hash" not in plan, plan
    finally:
        await conn.close()


async def test_a_batch_is_one_transaction_with_its_driver_statements(
    database: str, tmp_path: Path
) -> None:
    """The statements sent past SQLAlchemy are rolled back with the rest."""
    async with running(database, tmp_path) as server:
        await server.create_exam(small_exam("tx"))
        token = (await server.register("tx", "T1"))["T1"]
        attempt_id = (await server.start("tx", token))["attempt_id"]
        store = server.core.store
        sql = batch_sql.POSTGRESQL if store.is_postgresql else batch_sql.SQLITE
        async with store.write_engine.connect() as conn:
            await conn.begin()
            rows = (await conn.exec_driver_sql(sql.load_attempts, sql.ids([attempt_id]))).all()
            assert [r[0] for r in rows] == [attempt_id]
            driver = await BatchDriver.of(conn, store.is_postgresql)
            await driver.executemany(
                sql.insert_journal, [(attempt_id, "s0", 1, orjson.dumps("B").decode(), False,
                                      None, 1, False)],
            )  # fmt: skip
            assert await driver.fetch(sql.load_answers, sql.pairs([(attempt_id, "s0")])) == []
            await conn.rollback()
        async with store.read() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM journal"))).scalar_one()
        assert count == 0


def test_the_attempt_row_reads_the_columns_the_statement_selects() -> None:
    assert AttemptRow._fields == batch_sql.ATTEMPT_COLUMNS
