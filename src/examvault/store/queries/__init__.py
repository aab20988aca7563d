"""Every named query of the store, one module per table.

A service never writes SQL: it calls the query of the table it reads or changes, so each
statement has one home and one name (a reviewer looking for "who seals attempts" finds
`attempts.seal_expired`). The hot path's fixed-shape statements are in
`store/batch_sql.py`, for the reasons given there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert(conn: AsyncConnection, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT on this connection's store."""
    is_pg = conn.dialect.name == "postgresql"
    return (postgresql.insert if is_pg else sqlite.insert)(table)


def is_postgresql(conn: AsyncConnection) -> bool:
    """Whether rows can be locked (`FOR UPDATE`): SQLite's writer holds the whole file."""
    return conn.dialect.name == "postgresql"
