"""Intake progress: consent and the answers given so far, saved after every answer.

Rasa's tracker also holds the answers, but the app's store is the record: a person who comes
back days later (a new Rasa session) continues from here, and "talk to a person" hands the
caseworker whatever exists.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.crypto import EncryptedJSON
from bot.store.models import Base, new_id, utcnow


class IntakeStatus(StrEnum):
    IN_PROGRESS = "in_progress"  # consent given, questions under way (or paused)
    DECLINED = "declined"  # the person said no to the consent statement
    SUBMITTED = "submitted"  # sent to the caseworker queue (a referral exists)


class IntakeProgress(Base):
    __tablename__ = "intake_progress"
    __table_args__ = (Index("uq_intake_progress_conversation", "conversation_id", unique=True),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    contact_id: Mapped[str] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=IntakeStatus.IN_PROGRESS)
    # Normalised answers keyed by intake field ("citizenship": "HU"). Personal data.
    answers: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    # Consent: when, to which wording (its version), and the answer.
    consent_given: Mapped[bool | None] = mapped_column()
    consent_at: Mapped[datetime | None] = mapped_column()
    consent_version: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(2))
    referral_id: Mapped[str | None] = mapped_column(String(32))
    submitted_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
