"""The durable erasure job: one row per erasure (a person's request, a supervisor's, the
operator's, or a retention run), worked on by ``bot/erasure.py`` until every part is done.

No personal data is kept here except what the remote parts still need, and only until each is
done: the Twilio message SIDs, the Telegram chat/message ids, and the address the receipt goes
to. Everything else is opaque ids (contacts, conversations, referrals), counts and states.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.crypto import EncryptedJSON, EncryptedText
from bot.store.models import Base, new_id, utcnow


class ErasureReason(StrEnum):
    PERSON = "person"  # DELETE / SUPPRIMER, confirmed
    SUPERVISOR = "supervisor"  # a request by phone or in person, in the caseworker UI
    OPERATOR = "operator"  # ``intake erase``
    RETENTION = "retention"  # the retention policy (no receipt)


class Part(StrEnum):
    """In the order the worker does them."""

    APP = "app"  # the app's database rows (collects the remote ids in the same transaction)
    TRACKER = "tracker"  # Rasa's tracker events
    RECEIPT = "receipt"  # the reference, sent to the person in their language
    TWILIO = "twilio"  # message bodies (and media) at Twilio
    TELEGRAM = "telegram"  # the bot's messages in the Telegram chat (< 48 h old)


PARTS: tuple[Part, ...] = tuple(Part)


class PartState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    SKIPPED = "skipped"  # nothing to do (no SMS, no receipt for retention...)


class JobStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"


class ErasureJob(Base):
    __tablename__ = "erasure_jobs"
    __table_args__ = (
        Index("uq_erasure_jobs_reference", "reference", unique=True),
        Index("ix_erasure_jobs_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(16))  # "ER-7K3Q-9XPA": the person's receipt
    reason: Mapped[str] = mapped_column(String(16))
    # Who asked: "person", a caseworker username, "cli", "retention".
    actor: Mapped[str] = mapped_column(String(128))
    actor_user_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.PENDING)
    # Part -> PartState.
    parts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Opaque ids. Contacts: erase everything of theirs; conversations: these only.
    contact_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    conversation_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    referral_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Counts per part (rows, events, messages deleted / not deletable). No personal data.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Needed to finish the remote parts; emptied as each is done.
    twilio_sids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [chat_id, message_id, sent_at (epoch seconds)]
    # Telegram chat ids identify a person: encrypted like every address (bot/crypto.py).
    telegram_messages: Mapped[list[list[Any]]] = mapped_column(EncryptedJSON, default=list)
    receipt_channel: Mapped[str | None] = mapped_column(String(16))
    receipt_address: Mapped[str | None] = mapped_column(EncryptedText)
    receipt_language: Mapped[str | None] = mapped_column(String(2))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(64))  # an error code, never a message
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()
