"""The migrations create exactly the schema tables.py describes, on both stores."""

from __future__ import annotations

from examvault.store.migrate import drift


async def test_migrations_and_models_do_not_drift(database: str) -> None:
    assert await drift(database) == []
