"""Tables of the app. Migrations in ``migrations/versions`` must match these models.

Personal data lives only here (and in Rasa's tracker store): never in logs, and never in clear in
the database: every personal column is ``EncryptedText`` or ``EncryptedJSON`` (``bot/crypto.py``);
a contact is found by the keyed hash of its address (``Contact.matches``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from bot.crypto import EncryptedJSON, EncryptedText, lookup_hash


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored, not yet given to the engine
    PENDING = "pending"  # the engine did not answer; the retry worker will try again
    ANSWERED = "answered"  # the engine answered; replies are stored as outbound messages
    HANDLED = "handled"  # answered by the app itself (keyword layer), not by the engine


class OutboundStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"  # WhatsApp read receipts
    FAILED = "failed"  # not delivered: caseworkers see it on the referral (bot/channels/outbox.py)
    SUPPRESSED = "suppressed"  # never sent: the contact had opted out


class Author(StrEnum):
    PERSON = "person"
    ASSISTANT = "assistant"
    SYSTEM = "system"  # app-level notices such as "the assistant will answer shortly"
    CASEWORKER = "caseworker"


class ConversationStatus(StrEnum):
    BOT = "bot"
    HANDOFF_REQUESTED = "handoff_requested"
    HUMAN = "human"
    CLOSED = "closed"


class Contact(Base):
    """A person on one channel, identified by the channel's own address for them."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index("uq_contacts_channel_address_hash", "channel", "address_hash", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(16))
    # Web: the opaque id the page sends; SMS: E.164 number; Telegram: chat id. Personal data:
    # encrypted; found through ``address_hash`` (HMAC-SHA256 under the lookup key), set with it.
    address: Mapped[str] = mapped_column(EncryptedText)
    address_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversations: Mapped[list[Conversation]] = relationship(back_populates="contact")

    @validates("address")
    def _hash_address(self, _key: str, address: str) -> str:
        self.address_hash = lookup_hash(address)
        return address

    @classmethod
    def matches(cls, channel: str, address: str) -> Any:
        """The WHERE clause finding the contact with this address on this channel."""
        return (cls.channel == channel) & (cls.address_hash == lookup_hash(address))


class Conversation(Base):
    """One thread with a contact. Its id is the sender id Rasa sees (opaque, no personal data)."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_contact", "contact_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(24), default=ConversationStatus.BOT)
    handoff_requested_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="conversations")
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id"
    )


class Message(Base):
    """A message in either direction. Inbound ones are unique on the channel's own id."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "channel_message_id", name="uq_messages_channel_message_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_status", "direction", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    author: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    channel_message_id: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(EncryptedText, default="")
    # Buttons and other structured parts of an outbound reply, channel-neutral.
    payload: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    language: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))
    # For outbound replies: the inbound message they answer.
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    # Inbound: how many times it was handed to the engine (counted *before* each call, so that
    # a retry knows Rasa may already have it: ``ConversationService._ask_engine``).
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class ReferralKind(StrEnum):
    INTAKE = "intake"  # a submitted intake form
    CONTACT_REQUEST = "contact_request"  # "talk to a person", with whatever intake exists


class ReferralStatus(StrEnum):
    OPEN = "open"  # waiting in the caseworker queue
    CLAIMED = "claimed"  # a caseworker is on it
    CLOSED = "closed"  # closed with an outcome


class Referral(Base):
    """What the caseworker queue shows: one open referral per contact at most.

    Created by the assistant (intake submitted, or a request to talk to a person) and worked on
    by caseworkers. ``intake`` holds normalised field values; ``screening_reasons`` the rules that
    fired, each with its English and French reason.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        # At most one open (not closed) referral per contact: a new request updates it.
        Index(
            "uq_referrals_open_contact",
            "contact_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
        Index("ix_referrals_queue", "status", "priority", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default=ReferralStatus.OPEN)
    language: Mapped[str | None] = mapped_column(String(2))
    channel: Mapped[str] = mapped_column(String(16))
    intake: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    screening_outcome: Mapped[str | None] = mapped_column(String(32))
    # Derived from the answers (a declared conviction...): personal, encrypted like them.
    screening_reasons: Mapped[list[dict[str, Any]]] = mapped_column(EncryptedJSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(default=0)  # higher is more urgent
    assigned_to: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(32))
    outcome_note: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


# Tables of the other areas live in their own modules; importing them here registers them on
# Base.metadata, which Alembic and the tests read.
from bot.store import caseworkers, channels, intake, privacy, safety  # noqa: E402,F401
