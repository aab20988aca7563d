"""Which database errors mean "away, retry" (503) rather than "this write is wrong"."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from examvault.store.engine import async_url, is_unreachable, parse_url


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),  # the server is down
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection: administrator"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients already"),
        TimeoutError(),
        # mid fail-over: a connection on a standby, and no host of the URL the primary
        asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only"),
        asyncpg.exceptions.TargetServerAttributeNotMatched("None of the hosts match"),
        # the writer's connection when its server was SIGKILLed in the middle of a batch
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 13; another operation (2) is in progress"
        ),
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


def test_libpq_multi_host_urls_become_sqlalchemy_host_lists() -> None:
    url = "postgresql://postgres@10.0.0.1:5433,db-b:5434/exams?target_session_attrs=read-write"
    parsed = parse_url(url)
    assert parsed.host is None
    assert parsed.database == "exams"
    assert parsed.username == "postgres"
    assert parsed.query == {
        "host": ("10.0.0.1:5433", "db-b:5434"),
        "target_session_attrs": "read-write",
    }
    # the async driver's URL keeps both hosts, and asyncpg gets them as lists
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(async_url(url))
    _, kwargs = engine.dialect.create_connect_args(engine.url)
    assert kwargs["host"] == ["10.0.0.1", "db-b"]
    assert kwargs["port"] == [5433, 5434]
    assert kwargs["target_session_attrs"] == "read-write"


@pytest.mark.parametrize(
    ("url", "hosts"),
    [
        ("postgresql://u:p@a,b/db", ("a:5432", "b:5432")),  # libpq's default port
        ("postgresql://a:1,[::1]:2/db", ("a:1", "[::1]:2")),
        ("postgresql://u@/db?host=a:1&host=b:2", ("a:1", "b:2")),  # SQLAlchemy's own form
    ],
)
def test_multi_host_forms(url: str, hosts: tuple[str, ...]) -> None:
    assert parse_url(url).query["host"] == hosts


def test_single_host_urls_are_left_alone() -> None:
    for url in ("postgresql://postgres@127.0.0.1:5432/x", "sqlite:////tmp/a,b.db"):
        assert parse_url(url) == make_url(url)
