"""Which database errors mean "away, retry" (503) rather than "this write is wrong"."""

from __future__ import annotations

import asyncpg
import pytest

from examvault.store.engine import is_unreachable


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),  # the server is down
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection: administrator"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients already"),
        TimeoutError(),
    ],
)
def test_a_database_that_is_away_is_unreachable(error: BaseException) -> None:
    assert is_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UndefinedTableError("no such table"),
        ValueError("a bug"),
    ],
)
def test_a_wrong_statement_is_not(error: BaseException) -> None:
    assert not is_unreachable(error)
