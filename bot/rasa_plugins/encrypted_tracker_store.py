"""Rasa's SQL tracker store with every event's data encrypted (``bot/crypto.py``).

Named in the generated endpoints.yml (``bot/runtime/services.py``) as
``type: bot.rasa_plugins.encrypted_tracker_store.EncryptedSQLTrackerStore``; runs in Rasa's
environment. Rasa 3.6's ``SQLTrackerStore`` keeps one row per event in ``events``:
``sender_id`` (our opaque conversation id: the erasure path deletes by it), ``type_name``,
``timestamp``, ``intent_name``, ``action_name`` and ``data`` (the whole event as JSON: the
person's text, entities, slot values). Here ``data`` is a Fernet token of that JSON, and
``intent_name`` / ``action_name`` keep only names the domain defines (a user message such as
"/anything" would otherwise put free text in ``intent_name``). Rows an older, unencrypted
store wrote are encrypted when the store starts.

The keys come from the environment the app starts Rasa with (``INTAKE_DATA_KEYS`` and
``INTAKE_LOOKUP_KEY``), else the key file (``INTAKE_DATA_KEY_FILE`` or
``$INTAKE_DATA_DIR/keys/data.key``).
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, _create_sequence
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import declarative_base

from bot import crypto

logger = logging.getLogger(__name__)


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose ``events.data`` is encrypted; same table, same queries."""

    Base: Any = declarative_base()

    class SQLEvent(Base):  # type: ignore[valid-type,misc]
        """The same ``events`` table as Rasa's, with ``data`` encrypted by its column type."""

        __tablename__ = "events"

        id = sa.Column(sa.Integer, _create_sequence(__tablename__), primary_key=True)
        sender_id = sa.Column(sa.String(255), nullable=False, index=True)
        type_name = sa.Column(sa.String(255), nullable=False)
        timestamp = sa.Column(sa.Float)
        intent_name = sa.Column(sa.String(255))
        action_name = sa.Column(sa.String(255))
        data = sa.Column(crypto.EncryptedText)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if crypto.installed() is None:
            crypto.install(crypto.keyring_from_environ(os.environ))
        super().__init__(*args, **kwargs)
        with self.engine.begin() as conn:
            encrypted = crypto.reencrypt_column(
                conn, "events", "data", crypto.current(), mode="encrypt"
            )
        if encrypted:
            logger.info("encrypted %d tracker events stored in clear", encrypted)

    def _known_name(self, name: Any) -> str | None:
        """``name`` when the domain defines it (intent, action, response, slot, form)."""
        if not isinstance(name, str) or self.domain is None:
            return None
        domain = self.domain
        known = (
            name in domain.intents
            or name in domain.action_names_or_texts
            or any(slot.name == name for slot in domain.slots)
            or name in domain.form_names
        )
        return name if known else None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``save``, with the event data encrypted (by the column type) and only
        domain-defined names in the clear columns."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                intent = data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=self._known_name(intent),
                        action_name=self._known_name(data.get("name")),
                        data=json.dumps(data),
                    )
                )
            session.commit()
