"""Safety flags raised in a conversation (crisis, a close removal date, fear of detention).

A flag, once raised, stays with its conversation: every referral made from it later carries it
(``bot/referrals.py``). No personal data: the flag id, when, and which detector raised it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utcnow


class FlagSource(StrEnum):
    PATTERNS = "patterns"  # the app's reviewed patterns (bot/safety.py)
    CLASSIFIER = "classifier"  # Rasa's intent classifier (urgent_help), seen in the actions
    INTAKE = "intake"  # an intake answer (a minor travelling alone)


class ConversationFlag(Base):
    __tablename__ = "conversation_flags"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    flag: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Crisis only: False until Rasa was told to stop any form in progress (retried before the
    # conversation's next message reaches Rasa, if Rasa was down at the time).
    engine_synced: Mapped[bool] = mapped_column(default=True)
