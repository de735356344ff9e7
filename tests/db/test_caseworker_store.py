"""Migration 0003_queue matches the caseworker models, and downgrades cleanly (both databases)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from bot.store import migrate
from bot.store.db import sync_url
from bot.store.models import Base

TABLES = {"caseworker_users", "caseworker_sessions", "audit_log", "referral_notes", "api_tokens"}


def _names(diff: object) -> set[str]:
    """Table names a diff entry of compare_metadata touches."""
    items = diff if isinstance(diff, list) else [diff]
    names = set()
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            table = getattr(part, "table", None)
            name = getattr(table, "name", None) or getattr(part, "name", None)
            if isinstance(part, str):
                names.add(part)
            elif name:
                names.add(name)
    return names


def test_migration_matches_the_caseworker_models(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = create_engine(sync_url(database_url))
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if _names(d) & TABLES] == []
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate.downgrade(database_url, "0002")
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate.upgrade(database_url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()
