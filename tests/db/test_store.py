"""Migrations and constraints, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import referrals
from bot.store import migrate
from bot.store.db import install_sqlite_pragmas, sync_url
from bot.store.models import (
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    Referral,
    ReferralKind,
    ReferralStatus,
)
from tests.helpers import RULES

TABLES = {"contacts", "conversations", "messages", "referrals"}


def engine_for(url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(sync_url(url))
    install_sqlite_pragmas(engine)
    return engine


def test_migrations_upgrade_and_downgrade(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = engine_for(database_url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate.downgrade(database_url, "base")
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate.upgrade(database_url)
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'wal.db'}"
    migrate.upgrade(url)
    engine = engine_for(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def _conversation(session: Session, address: str = "+15550001111") -> Conversation:
    contact = Contact(channel="sms", address=address)
    session.add(contact)
    session.flush()
    conversation = Conversation(contact_id=contact.id, channel="sms", language="fr")
    session.add(conversation)
    session.flush()
    return conversation


def test_channel_message_id_is_unique_per_channel(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = engine_for(database_url)
    with Session(engine) as s:
        conversation = _conversation(s)
        for channel in ("sms", "telegram"):  # the same id on two channels is fine
            s.add(
                Message(
                    conversation_id=conversation.id,
                    direction=Direction.IN,
                    author="person",
                    channel=channel,
                    channel_message_id="SM1",
                    text="x",
                    status="received",
                )
            )
        s.commit()
        s.add(
            Message(
                conversation_id=conversation.id,
                direction=Direction.IN,
                author="person",
                channel="sms",
                channel_message_id="SM1",
                text="again",
                status="received",
            )
        )
        with pytest.raises(IntegrityError):
            s.commit()
    engine.dispose()


def test_contact_request_creates_one_open_referral(database_url: str) -> None:
    migrate.upgrade(database_url)
    engine = engine_for(database_url)
    with Session(engine) as s:
        conversation = _conversation(s)
        s.commit()
        first = referrals.request_contact(s, conversation.id, rules=RULES)
        again = referrals.request_contact(s, conversation.id, rules=RULES)
        assert first is not None and again is not None and first.id == again.id
        assert first.kind == ReferralKind.CONTACT_REQUEST and first.language == "fr"
        assert s.get(Conversation, conversation.id).status == ConversationStatus.HANDOFF_REQUESTED
        assert referrals.request_contact(s, "no-such-conversation", rules=RULES) is None
        # The database itself refuses a second open referral for the same contact...
        s.add(
            Referral(
                contact_id=first.contact_id,
                conversation_id=conversation.id,
                kind=ReferralKind.INTAKE,
                channel="sms",
            )
        )
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        # ...but once it is closed, a new request opens a new one.
        first.status = ReferralStatus.CLOSED
        s.commit()
        newer = referrals.request_contact(s, conversation.id, rules=RULES)
        assert newer is not None and newer.id != first.id
        assert len(s.scalars(select(Referral)).all()) == 2
    engine.dispose()
