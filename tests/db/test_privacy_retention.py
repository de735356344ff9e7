"""The retention policy (bot/retention.py) on SQLite and PostgreSQL: ``intake purge --dry-run``
counts exactly what ``intake purge`` then deletes, per class; open, claimed and urgent referrals
are never purged; the purged conversations leave Rasa's tracker store and Twilio too (the real
twilio client against the fake); one audit entry per run, without personal data; and the app
runs the policy itself, as a task of its lifespan."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from bot.cli import main
from bot.store import migrate
from bot.store.caseworkers import AuditEntry
from bot.store.channels import Delivery
from bot.store.db import sync_url
from bot.store.intake import IntakeProgress
from bot.store.models import Contact, Conversation, Message, Referral, utcnow
from bot.store.privacy import ErasureJob
from tests.caseworker_support import db_rows
from tests.fakes import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.helpers import FakeRasa, echo_answer, make_settings, running_app, wait_for

PUBLIC = "https://intake.example.org"
KEPT = {"fresh", "declined_fresh", "urgent_open", "claimed_old", "closed_recent", "sms_fresh"}
PURGED = {"old": "no_referral", "declined_old": "declined_consent", "closed_old": "closed_referral"}


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


@dataclass
class Seeded:
    conversations: dict[str, str]  # name -> conversation id
    sids: dict[str, str]  # what -> Twilio SID


def seed(database_url: str, tracker_url: str, now: datetime) -> Seeded:
    """Conversations of every class, some within their period, some past it."""
    migrate.upgrade(database_url)
    engine = create_engine(sync_url(database_url))
    ids: dict[str, str] = {}
    sids: dict[str, str] = {}
    with Session(engine) as s:

        def conversation(name: str, days_ago: int, channel: str = "web") -> Conversation:
            contact = Contact(channel=channel, address=f"+1416555{len(ids):04d}")
            s.add(contact)
            s.flush()
            c = Conversation(
                contact_id=contact.id,
                channel=channel,
                created_at=now - timedelta(days=days_ago + 1),
            )
            s.add(c)
            s.flush()
            sid = f"SMin{name}"
            s.add(
                Message(
                    conversation_id=c.id,
                    direction="in",
                    author="person",
                    channel=channel,
                    channel_message_id=sid if channel == "sms" else f"web:{name}",
                    text=f"secret words of {name}",
                    status="answered",
                    created_at=now - timedelta(days=days_ago),
                )
            )
            if channel == "sms":
                sids[f"in:{name}"] = sid
            ids[name] = c.id
            return c

        def referral(c: Conversation, status: str, closed_days_ago: int | None = None) -> None:
            s.add(
                Referral(
                    contact_id=c.contact_id,
                    conversation_id=c.id,
                    kind="intake",
                    status=status,
                    channel=c.channel,
                    priority=100 if status == "open" else 0,
                    flags=["crisis"] if status == "open" else [],
                    created_at=now - timedelta(days=800),
                    closed_at=now - timedelta(days=closed_days_ago)
                    if closed_days_ago is not None
                    else None,
                )
            )

        def declined(c: Conversation) -> None:
            s.add(
                IntakeProgress(conversation_id=c.id, contact_id=c.contact_id, consent_given=False)
            )

        def delivered(c: Conversation, sid: str, days_ago: int, status: str = "sent") -> None:
            out = Message(
                conversation_id=c.id,
                direction="out",
                author="assistant",
                channel="sms",
                text="a reply",
                status=status,
                created_at=now - timedelta(days=days_ago),
            )
            s.add(out)
            s.flush()
            s.add(
                Delivery(
                    message_id=out.id,
                    conversation_id=c.id,
                    channel="sms",
                    text="a reply",
                    status=status,
                    provider_id=sid if status == "sent" else None,
                    updated_at=now - timedelta(days=days_ago),
                )
            )
            sids[sid] = sid

        conversation("fresh", 10)
        old = conversation("old", 40, "sms")
        delivered(old, "SMoutold", 40)  # goes with its conversation
        declined(conversation("declined_old", 10))
        declined(conversation("declined_fresh", 3))
        referral(conversation("urgent_open", 800), "open")
        referral(conversation("claimed_old", 800), "claimed")
        referral(conversation("closed_old", 400), "closed", closed_days_ago=400)
        referral(conversation("closed_recent", 400), "closed", closed_days_ago=100)
        fresh = conversation("sms_fresh", 1, "sms")
        delivered(fresh, "SMoutbox40", 40)  # the outbox class: 30 days after it was sent
        delivered(fresh, "SMoutbox5", 5)
        delivered(fresh, "SMqueued", 40, status="queued")  # never settled: kept
        s.commit()
    engine.dispose()
    tracker = create_engine(tracker_url)
    with tracker.begin() as conn:
        conn.execute(
            text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL)")
        )
        insert = text("INSERT INTO events (sender_id, timestamp) VALUES (:s, :t)")
        for cid in ids.values():
            conn.execute(insert, {"s": cid, "t": (now - timedelta(days=2)).timestamp()})
        # Conversations the app no longer has: an old one (purged), a fresh one (a day's grace).
        conn.execute(insert, {"s": "orphan-old", "t": (now - timedelta(days=2)).timestamp()})
        conn.execute(insert, {"s": "orphan-new", "t": now.timestamp()})
    tracker.dispose()
    return Seeded(ids, sids)


def counts(out: str) -> dict[str, int]:
    found = {}
    for line in out.splitlines():
        if line.startswith("[purge] "):
            name, _, rest = line.removeprefix("[purge] ").partition(": ")
            found[name] = int(next(w for w in rest.split() if w.isdigit()))
    return found


def table_sizes(database_url: str) -> dict[str, int]:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            return {
                m.__tablename__: s.scalar(select(func.count()).select_from(m))  # type: ignore[misc]
                for m in (Contact, Conversation, Message, Delivery, Referral, IntakeProgress)
            }
    finally:
        engine.dispose()


def test_dry_run_counts_what_the_purge_deletes_and_open_referrals_stay(
    tmp_path: Path,
    database_url: str,
    twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tracker_url = f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
    seeded = seed(database_url, tracker_url, utcnow())
    for name, value in {
        "DATABASE_URL": database_url,
        "INTAKE_DATA_DIR": str(tmp_path),
        "RASA_TRACKER_DB_URL": tracker_url,
        "PUBLIC_BASE_URL": PUBLIC,
        "COOKIE_SECURE": "true",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+14165550000",
        "TWILIO_API_BASE_URL": twilio.url,
    }.items():
        monkeypatch.setenv(name, value)
    before = table_sizes(database_url)

    assert main(["purge", "--dry-run"]) == 0
    expected = {
        "tracker_orphans": 1, "declined_consent": 1, "no_referral": 1, "closed_referral": 1,
        "outbox": 1,
    }  # fmt: skip
    assert counts(capsys.readouterr().out) == expected
    assert table_sizes(database_url) == before  # a dry run deletes nothing
    assert twilio.deleted == [] and db_rows(database_url, select(AuditEntry)) == []

    assert main(["purge"]) == 0
    assert counts(capsys.readouterr().out) == expected
    left = {c.id for c in db_rows(database_url, select(Conversation))}
    assert left == {seeded.conversations[n] for n in KEPT}
    for name in PURGED:
        assert seeded.conversations[name] not in left
    # The open (urgent) and claimed referrals, however old, are all there.
    statuses = sorted(r.status for r in db_rows(database_url, select(Referral)))
    assert statuses == ["claimed", "closed", "open"]
    outbox = {d.provider_id for d in db_rows(database_url, select(Delivery))}
    assert outbox == {"SMoutbox5", None}  # the queued one waits; the 40-day copy is gone
    # Rasa's tracker and Twilio lost the same: the old SMS conversation both ways, the outbox.
    tracker = create_engine(tracker_url)
    with tracker.connect() as conn:
        senders = {r[0] for r in conn.execute(text("SELECT sender_id FROM events"))}
    tracker.dispose()
    assert senders == {seeded.conversations[n] for n in KEPT} | {"orphan-new"}
    assert sorted(twilio.deleted) == sorted(["SMinold", "SMoutold", "SMoutbox40"])
    jobs = db_rows(database_url, select(ErasureJob))
    assert {j.status for j in jobs} == {"done"} and {j.reason for j in jobs} == {"retention"}
    assert all(j.twilio_sids == [] for j in jobs)
    # One entry for the run, with the counts; nothing personal in the whole audit log.
    entries = db_rows(database_url, select(AuditEntry).order_by(AuditEntry.id))
    runs = [e for e in entries if e.action == "retention_purge"]
    assert [(e.actor, e.detail) for e in runs] == [("cli", expected)]
    dump = json.dumps([[e.actor, e.action, e.detail] for e in entries])
    assert "secret words" not in dump and "+1416555" not in dump

    # A second run finds nothing (and says so in the audit log: it came from the CLI).
    assert main(["purge"]) == 0
    assert set(counts(capsys.readouterr().out).values()) == {0}


async def test_the_app_applies_the_policy_on_its_own(tmp_path: Path, database_url: str) -> None:
    tracker_url = f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
    seeded = await asyncio.to_thread(seed, database_url, tracker_url, utcnow())
    rasa = FakeRasa(echo_answer)
    rasa.start()
    try:
        settings = make_settings(
            tmp_path,
            database_url,
            rasa.url,
            rasa_tracker_db_url=tracker_url,
            retention_enabled=True,
            retention_interval_minutes=60,
        )
        async with running_app(settings) as client:
            sessions = client.app.state.sessions  # type: ignore[attr-defined]

            async def purged() -> bool:
                async with sessions() as s:
                    run = await s.scalar(
                        select(AuditEntry).where(AuditEntry.action == "retention_purge")
                    )
                    return run is not None and run.actor == "retention"

            await wait_for(purged, timeout=30)
            async with sessions() as s:
                left = set(await s.scalars(select(Conversation.id)))
        assert left == {seeded.conversations[n] for n in KEPT}
    finally:
        rasa.stop()
