"""Erasing a person's conversations from Rasa's SQL tracker store (the "delete my data" path).

Rasa 3.6 keeps each conversation's events in the ``events`` table of its own database
(``RASA_TRACKER_DB_URL``), keyed by ``sender_id``, which is our conversation id.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import inspect, text

from bot.store.db import sync_engine

log = logging.getLogger(__name__)


def _erase(url: str, sender_ids: list[str]) -> int:
    engine = sync_engine(url)
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
            return deleted
    finally:
        engine.dispose()


async def erase_conversations(url: str, sender_ids: list[str]) -> None:
    deleted = await asyncio.to_thread(_erase, url, sender_ids)
    log.info("tracker events erased conversations=%d events=%d", len(sender_ids), deleted)
