"""Key rotation over the stored data: every encrypted column of the app's database and the
``data`` of Rasa's tracker events, re-encrypted under the primary data key (``intake keys rotate``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text

from bot import crypto
from bot.store.db import install_sqlite_pragmas, sync_engine
from bot.store.models import Base

TRACKER_EVENTS = ("events", "data")  # Rasa's SQL tracker store (bot/rasa_plugins/)


def check_keys(conn: Any, keyring: crypto.Keyring) -> None:
    """Refuse to start with keys that do not decrypt the stored data (a lost or replaced key
    file would otherwise show up later as unreadable rows): ``SettingsError``."""
    from bot.settings import SettingsError

    inspector = inspect(conn)
    if not inspector.has_table("contacts"):
        return
    if "address_hash" not in {c["name"] for c in inspector.get_columns("contacts")}:
        return  # before migration 0006: nothing is encrypted yet
    value = conn.execute(
        text("SELECT address FROM contacts WHERE address IS NOT NULL LIMIT 1")
    ).scalar()
    if value is not None and not crypto.is_token(keyring, value):
        raise SettingsError(
            [
                f"the data keys ({keyring.source}, primary {keyring.primary_id}) do not decrypt "
                "the stored data: restore the key file or INTAKE_DATA_KEYS that was used with "
                "this database (was the key file lost, or the database copied from elsewhere?)"
            ]
        )


def encrypted_columns() -> list[tuple[str, str]]:
    """(table, column) of every encrypted column of the app's models."""
    return sorted(
        (table.name, column.name)
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, crypto.EncryptedText | crypto.EncryptedJSON)
    )


def reencrypt(
    database_url: str, tracker_url: str, keyring: crypto.Keyring, *, batch: int = 500
) -> dict[str, int]:
    """Re-encrypt under ``keyring``'s primary key every value that is not already under it;
    returns the number of values rewritten per ``table.column``. One transaction per column."""
    counts: dict[str, int] = {}
    engine = sync_engine(database_url)
    install_sqlite_pragmas(engine)
    try:
        for table, column in encrypted_columns():
            with engine.begin() as conn:
                counts[f"{table}.{column}"] = crypto.reencrypt_column(
                    conn, table, column, keyring, mode="rotate", batch=batch
                )
    finally:
        engine.dispose()
    tracker = sync_engine(tracker_url)
    try:
        if inspect(tracker).has_table(TRACKER_EVENTS[0]):
            with tracker.begin() as conn:
                counts["rasa events.data"] = crypto.reencrypt_column(
                    conn, *TRACKER_EVENTS, keyring, mode="rotate", batch=batch
                )
    finally:
        tracker.dispose()
    return counts
