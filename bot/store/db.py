"""Database connection: one URL from settings, async engine for the app, sync URL for migrations.

Operators write plain URLs (``sqlite:///var/intake.db``, ``postgresql://user@host/db``); the
drivers are chosen here so that no other module cares which database it runs on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Every engine of the app, the action server, the tracker erasure and the migrations: an error
# never quotes the statement's bound values (a message's text, a phone number, a name), so a
# logged or re-raised database error carries no personal data (issue 12, bot/logging_setup.py).
ENGINE_OPTIONS: dict[str, Any] = {"hide_parameters": True}


def sync_url(url: str) -> str:
    """The URL for synchronous use (Alembic, the action server)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def async_url(url: str) -> str:
    """The URL for the app's async engine."""
    parsed = make_url(sync_url(url))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return parsed.render_as_string(hide_password=False)  # psycopg 3 is sync and async


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_dir(url: str) -> None:
    """The SQLite file's directory (made 0700 when it is new); an existing file closed to other
    users (0600: files made before this version had default modes)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for existing in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if existing.is_file():
                existing.chmod(0o600)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers (the caseworker UI, health checks) run while the app writes; the busy
    # timeout turns "database is locked" into a short wait instead of an error.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten with zeros, not left in free pages of the file (erasure and
    # retention must really remove what they delete: README "Privacy").
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def install_sqlite_pragmas(sync_engine) -> None:  # type: ignore[no-untyped-def]
    if sync_engine.dialect.name == "sqlite":
        event.listen(sync_engine, "connect", _sqlite_pragmas)


def create_engine(url: str) -> AsyncEngine:
    """The app's async engine (values hidden from errors, SQLite pragmas)."""
    ensure_sqlite_dir(url)
    engine = create_async_engine(async_url(url), pool_pre_ping=True, **ENGINE_OPTIONS)
    install_sqlite_pragmas(engine.sync_engine)
    return engine


def sibling_engine(db: AsyncEngine, **options: Any) -> AsyncEngine:
    """Another async engine to the same database as ``db``, with its own pool (the advisory
    locks of bot/store/locks.py), values hidden like the app's."""
    return create_async_engine(db.url, pool_pre_ping=True, **ENGINE_OPTIONS, **options)


def sync_engine(url: str, **options: Any) -> Engine:
    """A synchronous engine (the action server, the tracker erasure, migrations), with values
    hidden from its errors like the app's. Every engine is made here or in ``create_engine``
    (tests/unit/test_private_logs.py checks the code for any other)."""
    return create_sync_engine(sync_url(url), **ENGINE_OPTIONS, **options)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
