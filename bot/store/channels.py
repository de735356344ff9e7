"""Channel state: opt-out per contact, and the durable outbox of SMS / Telegram deliveries.

An outbound ``Message`` on a push channel (SMS, Telegram) is rendered into one or more
``Delivery`` rows (one per SMS or Telegram message actually sent). The outbox worker
(``bot/channels/outbox.py``) claims due rows, sends them with the channel's real client and records
the provider's id and status; failures are retried with backoff. Nothing here is personal data
except ``Delivery.text`` and ``extra`` (a copy of what we send; encrypted), which are erased with
their message.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.crypto import EncryptedJSON, EncryptedText
from bot.store.models import Base, utcnow


class OptOutSource(StrEnum):
    KEYWORD = "keyword"  # the person sent STOP / ARRET / /stop ...
    CARRIER = "carrier"  # Twilio refused to send (error 21610): the number is blocked at Twilio
    BLOCKED = "blocked"  # the Telegram user blocked the bot (403 Forbidden)


class ContactOptOut(Base):
    """A contact who asked not to be messaged. No row: the contact may be messaged.

    One row per contact, kept on the contact (deleted with it). While the row exists nothing is
    sent to the contact on any channel except the one confirmation of the opt-out itself.
    """

    __tablename__ = "contact_opt_outs"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(16))
    opted_out_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryStatus(StrEnum):
    QUEUED = "queued"  # waiting to be sent (or to be retried at ``next_attempt_at``)
    SENT = "sent"  # the provider accepted it; ``provider_status`` follows its callbacks
    FAILED = "failed"  # gave up (permanent error, or the retry budget ran out)
    SUPPRESSED = "suppressed"  # never sent: the contact opted out before it went


# Twilio's message statuses in the order a message advances; a callback that arrives late with a
# less advanced status never overwrites a more advanced one.
PROVIDER_STATUS_RANK: dict[str, int] = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "failed": 5,
    "undelivered": 5,
    "delivered": 6,
    "read": 7,
}


class Delivery(Base):
    """One physical message to send for an outbound ``Message`` (part ``part`` of it)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "part", name="uq_deliveries_message_part"),
        UniqueConstraint("channel", "provider_id", name="uq_deliveries_channel_provider_id"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_conversation", "conversation_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    part: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(EncryptedText, default="")
    # Channel-specific extras (the Telegram inline keyboard).
    extra: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    # Sent even to an opted-out contact: the single confirmation of their opt-out.
    always_send: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The process whose outbox claimed the row (``Outbox.owner``) owns it until
    # ``claimed_until``: a lease of a few seconds that the live process renews, so that a crashed
    # process's claims are free again within seconds.
    claimed_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    provider_id: Mapped[str | None] = mapped_column(String(64))  # Twilio SID, Telegram message id
    provider_status: Mapped[str | None] = mapped_column(String(24))
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ChannelWindow(Base):
    """WhatsApp's 24-hour customer-service window for one contact (``bot/channels/window.py``).

    ``last_inbound_at``: when the person last wrote (the window is open for 24 hours after it).
    ``notified_at``: when the approved template ("you have a message, reply to read it") went out
    since then, so that it goes out once. ``refused_at``: Twilio answered 63016 (outside the
    window) since then, whatever our clock said. A new message from the person resets both.
    No personal data (times only); deleted with the contact.
    """

    __tablename__ = "channel_windows"

    contact_id: Mapped[str] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    last_inbound_at: Mapped[datetime] = mapped_column()
    notified_at: Mapped[datetime | None] = mapped_column()
    refused_at: Mapped[datetime | None] = mapped_column()
