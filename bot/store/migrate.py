"""Run Alembic migrations from code (``intake migrate``, app start-up, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from bot.settings import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # ConfigParser treats "%" as interpolation: URL-encoded passwords need it doubled.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def pending(database_url: str) -> bool:
    """True when the database is not at the latest revision (``intake serve`` refuses to start
    then: with several app processes, ``intake migrate`` runs once, before them)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from bot.store.db import sync_engine

    heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    engine = sync_engine(database_url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return current != heads
