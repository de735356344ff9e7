"""Tables of the caseworker queue: accounts, sessions, the audit log, notes and API tokens.

Secrets are never stored in clear: passwords as argon2 hashes, session and API tokens as
SHA-256 digests of high-entropy random values (a stolen database does not open a session).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.crypto import EncryptedText
from bot.store.models import Base, new_id, utcnow


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"  # + audit log, export, numbers
    ADMIN = "admin"  # + accounts

    @property
    def rank(self) -> int:
        return [Role.CASEWORKER, Role.SUPERVISOR, Role.ADMIN].index(self)


class User(Base):
    __tablename__ = "caseworker_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default=Role.CASEWORKER)
    password_hash: Mapped[str] = mapped_column(String(255))
    ui_language: Mapped[str] = mapped_column(String(2), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)  # consecutive; reset on success
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()


class UserSession(Base):
    """A signed-in browser. ``id`` is the SHA-256 of the cookie value."""

    __tablename__ = "caseworker_sessions"
    __table_args__ = (Index("ix_caseworker_sessions_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("caseworker_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what, when: every view of a person's record, reveal, change, export, API call."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_referral", "referral_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # A caseworker account or an API token (exactly one is set), plus its name at the time.
    user_id: Mapped[str | None] = mapped_column(String(32))
    token_id: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(48))
    referral_id: Mapped[str | None] = mapped_column(String(32))
    # Ids, states and counts only: never message text or contact details.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Note(Base):
    """A note between caseworkers about a referral (never sent to the person)."""

    __tablename__ = "referral_notes"
    __table_args__ = (Index("ix_referral_notes_referral", "referral_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("caseworker_users.id"))
    text: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A token of a case-management system for the integration API (``/api/v1``)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
