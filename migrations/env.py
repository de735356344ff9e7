"""Alembic environment: migrates the app's database (never Rasa's tracker store)."""

from __future__ import annotations

from alembic import context

from bot import crypto
from bot.settings import Settings
from bot.store.db import ensure_sqlite_dir, install_sqlite_pragmas, sync_engine, sync_url
from bot.store.keys import check_keys
from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    # `intake migrate` and the tests pass the URL explicitly; otherwise DATABASE_URL.
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=sync_url(database_url()),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = database_url()
    # Migrations encrypt and decrypt personal columns (0006): the keys the app will use.
    crypto.ensure_installed(Settings.from_env())
    ensure_sqlite_dir(url)
    engine = sync_engine(url)  # errors never quote values (bot/store/db.py)
    install_sqlite_pragmas(engine)
    with engine.connect() as connection:
        # Batch mode lets later migrations alter columns on SQLite too.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        check_keys(connection, crypto.current())
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
