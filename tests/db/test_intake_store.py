"""Intake progress, intake referrals and hand-back, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import Session

from bot import referrals
from bot.intake import progress
from bot.store import migrate
from bot.store.db import install_sqlite_pragmas, sync_url
from bot.store.intake import IntakeStatus
from bot.store.models import (
    Contact,
    Conversation,
    Referral,
)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    migrate.upgrade(database_url)
    engine = create_engine(sync_url(database_url))
    install_sqlite_pragmas(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def conversation(s: Session, address: str = "web-1") -> Conversation:
    contact = Contact(channel="web", address=address)
    s.add(contact)
    s.flush()
    row = Conversation(contact_id=contact.id, channel="web", language="fr")
    s.add(row)
    s.commit()
    return row


def submit(s: Session, conversation_id: str, outcome: str, **intake: object) -> Referral:
    referral = referrals.submit_intake(
        s,
        conversation_id,
        intake=dict(intake),
        language="fr",
        outcome=outcome,
        reasons=[{"rule_id": "r", "outcome": outcome, "en": "e", "fr": "f", "source": "§1"}],
        flags=["children_travelling"],
        priority=1,
    )
    assert referral is not None
    return referral


def test_migration_creates_the_intake_table(session: Session) -> None:
    assert "intake_progress" in inspect(session.get_bind()).get_table_names()


def test_consent_then_answers_are_saved(session: Session) -> None:
    c = conversation(session)
    assert progress.save_answers(session, c.id, {"area": "gta"}, "fr") is None  # no consent yet
    saved = progress.record_consent(session, c.id, True, "v1", "fr")
    assert saved is not None and saved.consent_at is not None and saved.consent_version == "v1"
    progress.save_answers(session, c.id, {"area": "gta"}, "fr")
    progress.save_answers(session, c.id, {"citizenship": "HU"}, "fr")
    session.expire_all()
    saved = progress.get(session, c.id)
    assert saved is not None and saved.answers == {"area": "gta", "citizenship": "HU"}
    progress.clear_answers(session, c.id)
    session.expire_all()
    cleared = progress.get(session, c.id)
    assert cleared is not None and cleared.answers == {} and cleared.consent_given is True


def test_declining_keeps_nothing(session: Session) -> None:
    c = conversation(session)
    progress.record_consent(session, c.id, True, "v1", "en")
    progress.save_answers(session, c.id, {"area": "gta"}, "en")
    declined = progress.record_consent(session, c.id, False, "v1", "en")
    assert declined is not None
    assert (declined.status, declined.answers) == (IntakeStatus.DECLINED, {})
    assert progress.record_consent(session, "no-such-conversation", True, "v1", "en") is None


def test_second_submission_updates_the_one_open_referral(session: Session) -> None:
    c = conversation(session)
    progress.record_consent(session, c.id, True, "v1", "fr")
    first = submit(session, c.id, "likely_eligible", area="gta")
    second = submit(session, c.id, "needs_review", area="unclear")
    assert first.id == second.id
    rows = session.scalars(select(Referral)).all()
    assert len(rows) == 1
    assert (rows[0].kind, rows[0].screening_outcome, rows[0].intake) == (
        "intake", "needs_review", {"area": "unclear"},
    )  # fmt: skip
    saved = progress.get(session, c.id)
    assert saved is not None and saved.status == IntakeStatus.SUBMITTED
    assert saved.referral_id == first.id


def test_contact_request_carries_the_answers_so_far(session: Session) -> None:
    c = conversation(session)
    progress.record_consent(session, c.id, True, "v1", "fr")
    progress.save_answers(session, c.id, {"area": "gta", "children": 2}, "fr")
    referral = referrals.request_contact(
        session, c.id, "fr", flags=["children_travelling"], priority=1
    )
    assert referral is not None
    assert (referral.kind, referral.intake, referral.flags, referral.priority) == (
        "contact_request", {"area": "gta", "children": 2}, ["children_travelling"], 1,
    )  # fmt: skip
    # Submitting later turns the same referral into an intake referral.
    assert submit(session, c.id, "likely_eligible", area="gta").id == referral.id
    # A later "talk to a person" never overwrites the submitted intake.
    again = referrals.request_contact(session, c.id, "fr")
    assert again is not None and again.kind == "intake" and again.intake == {"area": "gta"}
