"""The settings that depend on the store: how many batches the writer keeps in flight."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from examvault.settings import Settings

PG = "postgresql://examvault@127.0.0.1/examvault"


def test_postgresql_keeps_two_batches_in_flight_unless_told_otherwise() -> None:
    assert Settings(database_url=PG).writer_tasks() == 2
    assert Settings(database_url=PG, writers=1).writer_tasks() == 1
    assert Settings(database_url=PG, writers=4).writer_tasks() == 4
    # the short scheme the store also takes for PostgreSQL
    assert Settings(database_url="postgres://examvault@db/x", writers=3).writer_tasks() == 3


def test_sqlite_has_one_writer() -> None:
    assert Settings().writer_tasks() == 1
    assert Settings(writers=1).writer_tasks() == 1


def test_more_writers_on_sqlite_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="needs PostgreSQL"):
        Settings(writers=2)
