"""Erasing conversations from Rasa's SQL tracker store (erasure and retention: ``bot/erasure.py``).

Rasa 3.6 keeps each conversation's events in the ``events`` table of its own database
(``RASA_TRACKER_DB_URL``), keyed by ``sender_id``, which is our conversation id. On SQLite the
connection deletes with ``secure_delete`` on (the rows are overwritten, not left in free pages)
and the write-ahead log, if any, is checkpointed and truncated afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.engine import make_url

from bot.store.db import sync_engine, sync_url

log = logging.getLogger(__name__)


def _secure_delete(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def engine_for(url: str) -> Engine:
    """An engine on the tracker database; on SQLite every connection has ``secure_delete``."""
    engine = sync_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _secure_delete)
    return engine


def _missing_sqlite_file(url: str) -> bool:
    """A SQLite tracker Rasa has not created yet: nothing to read or erase (and no empty file
    created by looking)."""
    parsed = make_url(sync_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return False
    return not Path(parsed.database).exists()


def _erase(url: str, sender_ids: list[str]) -> int:
    if _missing_sqlite_file(url):
        return 0
    engine = engine_for(url)
    sqlite = engine.dialect.name == "sqlite"
    try:
        if not inspect(engine).has_table("events"):
            return 0  # Rasa has not written anything yet
        with engine.begin() as conn:
            deleted = 0
            for sender_id in sender_ids:
                result = conn.execute(
                    text("DELETE FROM events WHERE sender_id = :sender_id"),
                    {"sender_id": sender_id},
                )
                deleted += result.rowcount or 0
        if sqlite and deleted:
            with engine.connect() as conn:  # old page versions out of the WAL (if Rasa uses one)
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
    finally:
        engine.dispose()


async def erase_conversations(url: str, sender_ids: list[str]) -> int:
    """Deletes the events of these conversations; returns how many. Raises when the tracker
    database cannot be reached (the erasure job retries)."""
    if not url or not sender_ids:
        return 0
    deleted = await asyncio.to_thread(_erase, url, sender_ids)
    log.info("tracker events erased conversations=%d events=%d", len(sender_ids), deleted)
    return deleted


def _idle_senders(url: str, before: float) -> list[str]:
    if _missing_sqlite_file(url):
        return []
    engine = engine_for(url)
    try:
        if not inspect(engine).has_table("events"):
            return []
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT sender_id FROM events GROUP BY sender_id "
                    "HAVING max(timestamp) < :before"
                ),
                {"before": before},
            )
            return [r[0] for r in rows]
    finally:
        engine.dispose()


async def idle_senders(url: str, before: float) -> list[str]:
    """Conversation ids whose last event is older than ``before`` (epoch seconds): retention
    looks among them for conversations the app no longer has (``bot/retention.py``)."""
    if not url:
        return []
    return await asyncio.to_thread(_idle_senders, url, before)
