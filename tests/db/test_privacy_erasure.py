"""Complete erasure with a receipt (bot/erasure.py), on SQLite and PostgreSQL, through the real
twilio and python-telegram-bot clients against the fake providers: the durable job (it survives
a failure after the app part and a killed worker), deletes at Twilio and Telegram, the receipt
in English and French, audit entries without personal data, the supervisor's erasure in the
caseworker UI (a caseworker gets 403), ``intake erase``, and ``secure_delete`` on SQLite."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text, update
from twilio.request_validator import RequestValidator

from bot import tracker_store
from bot.cli import main
from bot.erasure import REFERENCE_ALPHABET, new_reference, receipt_text
from bot.settings import Settings
from bot.sms import cost, to_gsm7
from bot.store.caseworkers import AuditEntry
from bot.store.channels import Delivery
from bot.store.models import Contact, Conversation, Message, Referral, utcnow
from bot.store.privacy import ErasureJob
from tests.caseworker_support import CSRF, add_user, csrf_of, db_rows, login, make_referral
from tests.fakes import (
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakeTelegram,
    FakeTwilio,
    tg_callback,
    tg_message,
)
from tests.helpers import (
    FakeRasa,
    echo_answer,
    make_settings,
    rows,
    running_app,
    settle,
    wait_for,
    web_address,
    web_post,
)

PUBLIC = "https://intake.example.org"
OUR_NUMBER = "+14165550000"
SECRET = "s3cret-Token_for-tests-0123456789abcdef"
REFERENCE = re.compile(r"ER-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")
CANARY_NAME = "Zorbalina Quickfeather"


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa(echo_answer)
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(
    tmp_path: Path,
    database_url: str,
    fake_rasa: FakeRasa,
    twilio: FakeTwilio,
    telegram: FakeTelegram,
) -> Settings:
    # Rasa's tracker store (SQLite beside the test database), with the table Rasa writes.
    tracker = create_engine(f"sqlite:///{tmp_path / 'rasa-tracker.db'}")
    with tracker.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), "
                "type_name VARCHAR(255), data TEXT)"
            )
        )
    tracker.dispose()
    return make_settings(
        tmp_path,
        database_url,
        fake_rasa.url,
        public_base_url=PUBLIC,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from_number=OUR_NUMBER,
        twilio_api_base_url=twilio.url,
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=SECRET,
        telegram_api_base_url=telegram.base_url,
        outbox_poll_seconds=0.1,
        outbox_retry_base_seconds=0.05,
        channel_send_timeout_seconds=5.0,
        erasure_retry_base_seconds=0.05,
        erasure_poll_seconds=3600,  # the tests run the worker themselves
        retention_enabled=False,
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(settings) as c:
        yield c


# -- helpers ------------------------------------------------------------------------------


async def post_sms(client: httpx.AsyncClient, body: str, sender: str, sid: str) -> None:
    params = {
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    path = "/channels/sms/inbound"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)
    response = await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    await settle(client)


async def post_update(client: httpx.AsyncClient, update: dict[str, Any]) -> None:
    response = await client.post(
        "/channels/telegram/webhook",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == 200
    await settle(client)


async def web_says(client: httpx.AsyncClient, user: str, text_: str) -> list[dict[str, Any]]:
    response = await web_post(client, user, text_)
    assert response.status_code == 200, response.text
    return response.json()["replies"]


def tracker_events(settings: Settings, conversation_id: str, add: int = 0) -> int:
    """Events of a conversation in Rasa's tracker store (``add`` some first, as Rasa would)."""
    engine = create_engine(settings.rasa_tracker_db_url)
    try:
        with engine.begin() as conn:
            for n in range(add):
                conn.execute(
                    text("INSERT INTO events (sender_id, type_name, data) VALUES (:s, 'user', :d)"),
                    {"s": conversation_id, "d": json.dumps({"text": f"{CANARY_NAME} {n}"})},
                )
            return conn.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": conversation_id}
            ).scalar_one()
    finally:
        engine.dispose()


async def conversation_of(client: httpx.AsyncClient, channel: str, address: str) -> str:
    if channel == "web":  # a web person is known by their token's keyed hash
        address = web_address(address)
    [contact] = await rows(client, Contact, Contact.matches(channel, address))
    [conversation] = await rows(client, Conversation, Conversation.contact_id == contact.id)
    return conversation.id


async def the_job(client: httpx.AsyncClient) -> ErasureJob:
    [job] = await rows(client, ErasureJob)
    return job


async def audit_dump(client: httpx.AsyncClient) -> str:
    entries = await rows(client, AuditEntry)
    return json.dumps([[e.actor, e.action, e.referral_id, e.detail] for e in entries])


async def nothing_left(client: httpx.AsyncClient) -> None:
    for model in (Contact, Conversation, Message, Delivery, Referral):
        assert await rows(client, model) == [], model


# -- the person's DELETE / SUPPRIMER -------------------------------------------------------


@pytest.mark.parametrize(("delete_word", "language"), [("DELETE", "en"), ("SUPPRIMER", "fr")])
async def test_sms_erasure_deletes_every_message_at_twilio_and_sends_the_receipt(
    client: httpx.AsyncClient,
    settings: Settings,
    twilio: FakeTwilio,
    delete_word: str,
    language: str,
) -> None:
    sender = "+14165557788"
    inbound = ["SM" + uuid.uuid4().hex for _ in range(3)]
    await post_sms(client, f"my name is {CANARY_NAME}", sender, inbound[0])
    await post_sms(client, delete_word, sender, inbound[1])
    assert twilio.bodies(sender)[-1].startswith(("Erase all", "Effacer tous"))
    conversation_id = await conversation_of(client, "sms", sender)
    assert tracker_events(settings, conversation_id, add=4) == 4
    twilio.media[inbound[0]] = ["ME" + uuid.uuid4().hex]  # an MMS photo kept at Twilio
    await post_sms(client, "1", sender, inbound[2])  # "1": erase my data

    receipt = twilio.bodies(sender)[-1]
    [reference] = REFERENCE.findall(receipt)
    assert receipt == to_gsm7(receipt_text(reference, language))
    assert cost(receipt).segments <= 2
    job = await the_job(client)
    assert (job.reference, job.status, job.reason) == (reference, "done", "person")
    assert job.parts == {
        "app": "done", "tracker": "done", "receipt": "done", "twilio": "done",
        "telegram": "skipped",  # no Telegram messages to delete
    }  # fmt: skip
    # Nothing personal left in the job: the SIDs, Telegram ids and the address are gone.
    assert (job.twilio_sids, job.telegram_messages, job.receipt_address) == ([], [], None)
    await nothing_left(client)
    assert tracker_events(settings, conversation_id) == 0
    # Every message at Twilio, both ways, the receipt included, and the photo.
    outbound = [m["Sid"] for m in twilio.sent if m["To"] == sender]
    assert len(outbound) >= 3
    assert set(twilio.deleted) == set(inbound) | set(outbound)
    assert twilio.media_deleted == twilio.media[inbound[0]]
    assert job.counts["twilio_deleted"] == len(inbound) + len(outbound)
    # The audit log: who asked, the reference, counts; never the number or the words.
    actions = [e.action for e in await rows(client, AuditEntry)]
    assert actions == ["erased", "erasure_completed"]
    dump = await audit_dump(client)
    assert reference in dump and '"requested_by": "person"' in dump
    for secret in (sender, sender[2:], CANARY_NAME, "Zorbalina"):
        assert secret not in dump


async def test_web_receipt_is_the_answer_in_both_languages(client: httpx.AsyncClient) -> None:
    for user, word, expected in (
        ("web-en", "DELETE", "Receipt reference"),
        ("web-fr", "SUPPRIMER", "Référence du reçu"),
    ):
        await web_says(client, user, f"hello, I am {CANARY_NAME}")
        [ask] = await web_says(client, user, word)
        assert [b["payload"] for b in ask["buttons"]] == ["/delete_confirm", "/delete_cancel"]
        [receipt] = await web_says(client, user, "/delete_confirm")
        assert expected in receipt["text"] and REFERENCE.search(receipt["text"])
    assert await rows(client, Contact) == []
    jobs = await rows(client, ErasureJob)
    assert {j.counts["receipt"] for j in jobs} == {"in_response"}


async def test_the_job_survives_a_failure_after_the_app_part_and_a_killed_worker(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await web_says(client, "crashy", f"I am {CANARY_NAME}")
    conversation_id = await conversation_of(client, "web", "crashy")
    tracker_events(settings, conversation_id, add=3)
    real = tracker_store.erase_conversations

    async def down(url: str, sender_ids: list[str]) -> int:
        raise ConnectionError("tracker database unreachable")

    monkeypatch.setattr(tracker_store, "erase_conversations", down)
    await web_says(client, "crashy", "DELETE")
    [receipt] = await web_says(client, "crashy", "/delete_confirm")
    job = await the_job(client)
    assert job.reference in receipt["text"]  # the person has their reference at once
    # The app's rows are gone (and audited); the tracker part waits for its retry.
    assert (job.status, job.parts["app"], job.parts["tracker"]) == ("pending", "done", "pending")
    assert job.last_error == "tracker:ConnectionError" and job.attempts == 1
    await nothing_left(client)
    assert tracker_events(settings, conversation_id) == 3
    assert [e.action for e in await rows(client, AuditEntry)] == ["erased"]

    # A worker claimed it, then was killed: while its claim lasts nobody else runs the job.
    monkeypatch.setattr(tracker_store, "erase_conversations", real)
    sessions = client.app.state.sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        await s.execute(
            update(ErasureJob).values(
                next_attempt_at=utcnow(), claimed_until=utcnow() + timedelta(minutes=5)
            )
        )
        await s.commit()
    service = client.app.state.erasure  # type: ignore[attr-defined]
    assert await service.run_due() == 0
    assert tracker_events(settings, conversation_id) == 3
    # Its claim expires: the next run finishes the job.
    async with sessions() as s:
        await s.execute(update(ErasureJob).values(claimed_until=utcnow() - timedelta(seconds=1)))
        await s.commit()
    assert await service.run_due() == 1
    job = await the_job(client)
    assert job.status == "done" and job.last_error is None
    assert tracker_events(settings, conversation_id) == 0
    assert [e.action for e in await rows(client, AuditEntry)] == ["erased", "erasure_completed"]


async def test_twilio_refusing_a_delete_is_retried_until_done(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    sender = "+14165550101"
    await post_sms(client, "hello", sender, "SM" + uuid.uuid4().hex)
    await post_sms(client, "DELETE", sender, "SM" + uuid.uuid4().hex)
    twilio.fail_delete_next = [409]  # "still being delivered": not deletable yet
    await post_sms(client, "1", sender, "SM" + uuid.uuid4().hex)
    job = await the_job(client)
    assert job.status == "pending" and job.parts["twilio"] == "pending"
    assert job.last_error == "twilio:409/20009" and job.twilio_sids  # kept to try again
    service = client.app.state.erasure  # type: ignore[attr-defined]
    await wait_for(lambda: service.run_due(), timeout=10, interval=0.1)
    job = await the_job(client)
    assert job.status == "done" and job.twilio_sids == []
    assert set(twilio.deleted) >= {m["Sid"] for m in twilio.sent if m["To"] == sender}


async def test_telegram_bot_messages_deleted_where_the_api_allows(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    person = 55_667_788
    first = tg_message(person, f"I am {CANARY_NAME}")
    second = tg_message(person, "/delete", language_code="fr")
    incoming = [(person, u["message"]["message_id"]) for u in (first, second)]
    telegram.incoming.update(incoming)
    await post_update(client, first)
    await post_update(client, second)
    sent_before = [m["message_id"] for m in telegram.sent if int(m["chat_id"]) == person]
    assert len(sent_before) == 2
    # The first reply is three days old: Telegram no longer lets a bot delete it.
    old = sent_before[0]
    telegram.too_old.add(old)
    async with client.app.state.sessions() as s:  # type: ignore[attr-defined]
        await s.execute(
            update(Delivery)
            .where(Delivery.provider_id == str(old))
            .values(updated_at=utcnow() - timedelta(days=3))
        )
        await s.commit()
    await post_update(client, tg_callback(person, "/delete_confirm", "fr"))
    job = await the_job(client)
    assert job.status == "done"
    # The person's two messages and the bot's recent one; the old one was not even asked.
    assert sorted(telegram.deleted) == sorted([*incoming, (person, sent_before[1])])
    assert (job.counts["telegram_deleted"], job.counts["telegram_not_deletable"]) == (3, 1)
    receipt = telegram.texts(person)[-1]
    assert receipt == receipt_text(job.reference, "en")  # kept in the chat: the person's proof
    assert "deleteMessage" in telegram.methods()
    await nothing_left(client)
    dump = await audit_dump(client)
    assert str(person) not in dump and CANARY_NAME not in dump


# -- a supervisor, for a request by phone or in person --------------------------------------


async def test_supervisor_erases_with_confirmation_and_a_caseworker_cannot(
    client: httpx.AsyncClient, database_url: str
) -> None:
    await web_says(client, "by-phone", f"I am {CANARY_NAME}")
    referral_id = make_referral(database_url, "by-phone", priority=100, flags=["crisis"])
    await add_user(database_url, "casey", "caseworker")
    await add_user(database_url, "sam", "supervisor", ui_language="fr")

    assert (await login(client, "casey")).status_code == 303
    csrf = await csrf_of(client, f"/caseworker/referrals/{referral_id}")
    page = await client.get(f"/caseworker/referrals/{referral_id}")
    assert 'id="erase-start"' not in page.text  # not offered to a caseworker
    refused = await client.post(
        f"/caseworker/referrals/{referral_id}/erase", data={"csrf": csrf, "confirm": "yes"}
    )
    assert refused.status_code == 403
    assert len(await rows(client, Referral)) == 1
    client.cookies.clear()

    assert (await login(client, "sam")).status_code == 303
    page = await client.get(f"/caseworker/referrals/{referral_id}")
    assert "Effacer les données de la personne" in page.text
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    # Without the CSRF token: refused like every other form.
    no_csrf = await client.post(f"/caseworker/referrals/{referral_id}/erase")
    assert no_csrf.status_code == 403
    ask = await client.post(f"/caseworker/referrals/{referral_id}/erase", data={"csrf": csrf})
    assert ask.status_code == 200 and 'id="erase-confirm"' in ask.text
    assert len(await rows(client, Referral)) == 1  # asking to confirm erases nothing
    done = await client.post(
        f"/caseworker/referrals/{referral_id}/erase", data={"csrf": csrf, "confirm": "yes"}
    )
    assert done.status_code == 200
    [reference] = REFERENCE.findall(done.text)
    await nothing_left(client)
    queue = await client.get("/caseworker/")
    assert referral_id[:8] not in queue.text
    gone = await client.get(f"/caseworker/referrals/{referral_id}")
    assert gone.status_code == 410 and reference in gone.text
    assert "effacée à la demande de la personne" in gone.text
    audit_page = await client.get("/caseworker/supervisor/audit", params={"action": "erased"})
    assert reference in audit_page.text
    [erased] = db_rows(database_url, select(AuditEntry).where(AuditEntry.action == "erased"))
    assert (erased.actor, erased.referral_id) == ("sam", referral_id)
    assert erased.detail["requested_by"] == "supervisor" and erased.user_id is not None
    job = await the_job(client)
    assert job.counts["receipt"] == "not_reachable"  # a web chat: the supervisor tells them
    assert CANARY_NAME not in await audit_dump(client)


async def test_intake_erase_by_address(
    client: httpx.AsyncClient,
    settings: Settings,
    twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sender = "+14165550199"
    await post_sms(client, "hello", sender, "SM" + uuid.uuid4().hex)
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "INTAKE_DATA_DIR": str(settings.data_dir),
        "RASA_TRACKER_DB_URL": settings.rasa_tracker_db_url,
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": OUR_NUMBER,
        "TWILIO_API_BASE_URL": twilio.url,
        "COOKIE_SECURE": "true",
    }.items():
        monkeypatch.setenv(name, value)
    assert await _cli(["erase", "--address", sender]) == 0
    out = capsys.readouterr().out
    [reference] = REFERENCE.findall(out)
    assert "receipt: done" in out and "twilio: done" in out
    assert twilio.bodies(sender)[-1] == to_gsm7(receipt_text(reference, "en"))
    await nothing_left(client)
    assert await _cli(["erase", "--address", sender]) == 1  # nothing left to erase
    assert "nothing found to erase" in capsys.readouterr().err


async def _cli(argv: list[str]) -> int:
    import asyncio

    return await asyncio.to_thread(main, argv)


# -- the reference, secure_delete ----------------------------------------------------------


def test_references_are_unguessable_and_fit_the_sms_budget() -> None:
    references = {new_reference() for _ in range(2000)}
    assert len(references) == 2000
    assert all(REFERENCE.fullmatch(r) for r in references)
    assert not set("01ILO") & set(REFERENCE_ALPHABET)
    for language in ("en", "fr"):
        assert cost(to_gsm7(receipt_text("ER-XXXX-XXXX", language))).segments <= 2


async def test_secure_delete_is_on_for_every_sqlite_connection(tmp_path: Path) -> None:
    """A SQLite setting (PostgreSQL overwrites nothing in place: see README "Erasure")."""
    database_url = f"sqlite:///{tmp_path / 'intake.db'}"
    tracker_url = f"sqlite:///{tmp_path / 'rasa-tracker.db'}"
    from bot.store.db import create_engine as create_app_engine
    from bot.store.db import install_sqlite_pragmas, sync_url

    app_engine = create_app_engine(database_url)
    async with app_engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA secure_delete")).scalar_one() == 1
    await app_engine.dispose()
    # The action server's and Alembic's synchronous engines share the same listener.
    sync_engine = create_engine(sync_url(database_url))
    install_sqlite_pragmas(sync_engine)
    with sync_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
    sync_engine.dispose()
    # Rasa's tracker database, when it is SQLite, for the connection that erases from it.
    tracker = tracker_store.engine_for(tracker_url)
    with tracker.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
    tracker.dispose()
