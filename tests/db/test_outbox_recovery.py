"""The outbox under faults, on SQLite and PostgreSQL, through the real twilio client and the fake
Twilio REST API (tests/fakes.py): a dead process's claims freed within the lease, a live one's
renewed, two workers (two engines: two processes' worth of connections) never sending a message
twice and keeping each conversation in order, bounded concurrent sends, Twilio's Retry-After,
the retry budget, failed replies shown to caseworkers, and exactly once into Rasa across a
restart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from bot import referrals
from bot.channels.outbox import Outbox, OutboxPolicy, aware
from bot.channels.setup import outbox_policy
from bot.settings import Settings
from bot.store.channels import Delivery, DeliveryStatus
from bot.store.db import create_engine as create_async_engine
from bot.store.db import session_factory, sync_url
from bot.store.models import Contact, Conversation, Direction, InboundStatus, Message, utcnow
from tests.caseworker_support import add_user, login
from tests.fakes import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.helpers import (
    RULES,
    FakeRasa,
    another_browser,
    echo_answer,
    make_settings,
    rows,
    running_app,
    wait_for,
)

PUBLIC = "https://intake.example.org"
OUR_NUMBER = "+14165550000"


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
    fake.hold = False
    fake.stop()


def sms_settings(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "public_base_url": PUBLIC,
        "twilio_account_sid": TWILIO_SID,
        "twilio_auth_token": TWILIO_TOKEN,
        "twilio_from_number": OUR_NUMBER,
        "twilio_api_base_url": twilio.url,
        "outbox_poll_seconds": 0.1,
        "outbox_retry_base_seconds": 0.05,
        "outbox_lease_seconds": 1.5,
        "channel_send_timeout_seconds": 10.0,
        **overrides,
    }
    return make_settings(tmp_path, database_url, fake_rasa.url, **values)


async def post_sms(client: httpx.AsyncClient, body: str, sender: str) -> None:
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
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


def number() -> str:
    return "+1416555" + str(uuid.uuid4().int)[:4]


def outbox_of(client: httpx.AsyncClient) -> Outbox:
    return client.app.state.channels.outbox  # type: ignore[attr-defined]


async def answered(client: httpx.AsyncClient) -> None:
    """Every inbound message answered and its replies rendered into deliveries (no send)."""
    channels = client.app.state.channels  # type: ignore[attr-defined]
    await channels.pipeline.drain()
    await channels.outbox._render_new()


async def sent_to(twilio: FakeTwilio, to: str, count: int) -> list[str]:
    async def enough() -> list[str]:
        bodies = twilio.bodies(to)
        return bodies if len(bodies) >= count else []

    return await wait_for(enough, timeout=20, interval=0.05)


# -- leases ------------------------------------------------------------------------------------


async def test_a_dead_process_claim_is_released_and_sent_within_the_lease(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio)
    async with running_app(settings, run_worker=False) as client:
        person = number()
        await post_sms(client, "hello", person)
        await answered(client)
        # A process claimed it, then died: its lease runs out, nobody renews it.
        claimed_at = utcnow()
        lease = timedelta(seconds=settings.outbox_lease_seconds)
        sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
        async with sessions() as s:
            await s.execute(
                update(Delivery).values(
                    claimed_by="dead-host:1:dead", claimed_until=claimed_at + lease
                )
            )
            await s.commit()
        outbox = outbox_of(client)
        assert await outbox.run_once() == 0  # still the dead process's
        assert twilio.requests == 0

        async def sent() -> bool:
            await outbox.run_once()  # what the worker does every poll
            return bool(twilio.bodies(person))

        await wait_for(sent, timeout=settings.outbox_lease_seconds + 10, interval=0.05)
        assert utcnow() >= claimed_at + lease  # taken over only once the lease ran out
        assert twilio.bodies(person) == ["en: hello"]
        [delivery] = await rows(client, Delivery)
        assert delivery.status == "sent"
        assert delivery.claimed_by is None and delivery.claimed_until is None


async def test_two_workers_never_send_twice_and_keep_each_conversation_in_order(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    """Two outboxes with their own owner ids and their own database engines (what two app
    processes are to the database) drain the same deliveries at once; one of them holds its
    first sends open past its lease's renewal, so the other must respect a live lease."""
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio, outbox_lease_seconds=0.9)
    async with running_app(settings, run_worker=False) as client:
        people = [number() for _ in range(6)]
        for turn in range(5):
            for person in people:
                await post_sms(client, f"m{turn}", person)
        await answered(client)
        first = outbox_of(client)
        other_db = create_async_engine(settings.database_url)
        try:
            second = Outbox(
                session_factory(other_db),
                first.senders,
                client.app.state.conversations,  # type: ignore[attr-defined]
                outbox_policy(settings),
                owner="second-process",
            )
            assert first.owner != second.owner
            twilio.hold = True  # the first sends stay open: leases must be renewed meanwhile
            first_round = asyncio.create_task(first.run_once())

            async def all_heads_in_flight() -> bool:
                return twilio.in_flight == len(people)

            await wait_for(all_heads_in_flight, interval=0.02)
            claims = await rows(client, Delivery, Delivery.claimed_by == first.owner)
            until = {d.id: aware(d.claimed_until) for d in claims}

            async def renewed() -> bool:
                again = await rows(client, Delivery, Delivery.id.in_(list(until)))
                return all(aware(d.claimed_until) > until[d.id] for d in again)

            await wait_for(renewed, timeout=10, interval=0.05)
            assert await second.run_once() == 0  # every head is leased to a live process
            assert twilio.requests == len(people)
            twilio.hold = False
            counts = await asyncio.gather(first_round, second.run_once(), first.run_once())
        finally:
            await other_db.dispose()
        assert sum(counts) == 5 * len(people)
        for person in people:  # once each, in order
            assert twilio.bodies(person) == [f"en: m{turn}" for turn in range(5)]
        assert twilio.requests == 5 * len(people)


async def test_different_conversations_are_sent_concurrently_within_the_bound(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio, outbox_concurrency=4)
    async with running_app(settings, run_worker=False) as client:
        people = [number() for _ in range(6)]
        for person in people:
            await post_sms(client, "one", person)
        for _ in range(2):  # the first person has three replies waiting
            await post_sms(client, "more", people[0])
        await answered(client)
        twilio.hold = True  # a slow Twilio: nothing comes back until the test lets go
        sending = asyncio.create_task(outbox_of(client).run_once())

        async def four_in_flight() -> bool:
            return twilio.in_flight == 4

        await wait_for(four_in_flight, interval=0.02)
        twilio.hold = False
        assert await sending == 8
        assert twilio.max_in_flight == 4  # concurrent, and never more than the bound
        assert twilio.max_in_flight_to == 1  # one conversation: one send at a time
        assert twilio.bodies(people[0]) == ["en: one", "en: more", "en: more"]


async def test_a_part_waiting_for_a_retry_holds_the_next_replies_even_once_delivered(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    """A long reply goes out in two SMS; the second fails and waits for its retry, and Twilio
    reports the first delivered meanwhile (the message moves on to "delivered"): the next reply
    still waits behind the second part."""
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio)
    async with running_app(settings, run_worker=False) as client:
        person = number()
        long_text = " ".join(["This sentence is part of a long message."] * 15)
        await post_sms(client, long_text, person)
        await answered(client)
        parts = await rows(client, Delivery)
        assert len(parts) == 2
        twilio.fail_next = [None, (429, "120")]  # the first part goes, the second gets a 429
        outbox = outbox_of(client)
        assert await outbox.run_once() == 1
        params = {"MessageSid": twilio.sent[0]["Sid"], "MessageStatus": "delivered"}
        params["AccountSid"] = TWILIO_SID
        path = "/channels/sms/status"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)
        status = await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        assert status.status_code == 200
        [first] = await rows(client, Message, Message.direction == Direction.OUT)
        assert first.status == "delivered"
        await post_sms(client, "next", person)
        await answered(client)
        assert await outbox.run_once() == 0
        assert len(twilio.bodies(person)) == 1  # "next" waits for the second part


# -- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(
    tmp_path: Path,
    database_url: str,
    fake_rasa: FakeRasa,
    twilio: FakeTwilio,
    status: int,
) -> None:
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio)
    async with running_app(settings, run_worker=False) as client:
        person = number()
        await post_sms(client, "hello", person)
        await answered(client)
        # Seconds for the 429, an HTTP date for the 503 (both forms are allowed).
        header = (
            "120"
            if status == 429
            else format_datetime(datetime.now(UTC) + timedelta(seconds=300), usegmt=True)
        )
        twilio.fail_next = [(status, header)]
        before = utcnow()
        assert await outbox_of(client).run_once() == 0
        [delivery] = await rows(client, Delivery)
        wait = 120 if status == 429 else 299  # an HTTP date has whole seconds
        assert delivery.status == "queued" and delivery.attempts == 1
        assert aware(delivery.next_attempt_at) >= before + timedelta(seconds=wait)
        assert delivery.error_code == f"{status}/{20429 if status == 429 else 20500}"
        assert await outbox_of(client).run_once() == 0  # not before that time
        assert twilio.requests == 1


def test_backoff_is_capped_and_the_budget_is_a_duration() -> None:
    policy = OutboxPolicy(retry_budget_seconds=3600, retry_base_seconds=2, max_backoff_seconds=60)
    queued = datetime(2026, 1, 1, tzinfo=UTC)
    now = queued + timedelta(seconds=10)
    waits = [
        (policy.next_attempt(now, queued, n, None) - now).total_seconds()  # type: ignore[operator]
        for n in (1, 2, 3, 6, 7, 50)
    ]
    assert waits == [2, 4, 8, 60, 60, 60]  # doubling, then capped
    # Near the end of the budget: one last attempt at its end, then given up.
    late = queued + timedelta(seconds=3590)
    assert policy.next_attempt(late, queued, 9, None) == queued + timedelta(seconds=3600)
    assert policy.next_attempt(queued + timedelta(seconds=3600), queued, 10, None) is None
    # Retry-After is a floor, even over the cap; past the budget's end it means giving up.
    assert policy.next_attempt(now, queued, 1, 300) == now + timedelta(seconds=300)
    assert policy.next_attempt(late, queued, 1, 300) is None
    # SQLite's naive datetimes are UTC.
    naive = queued.replace(tzinfo=None)
    assert policy.next_attempt(now, naive, 1, None) == now + timedelta(seconds=2)


async def test_a_reply_that_finally_fails_is_shown_to_caseworkers_and_counted(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    settings = sms_settings(
        tmp_path,
        database_url,
        fake_rasa,
        twilio,
        outbox_retry_budget_seconds=1.0,
        outbox_retry_base_seconds=0.1,
        cookie_secure=False,
    )
    async with running_app(settings) as client:
        person = number()
        twilio.fail_next = [500] * 1000  # Twilio keeps failing for longer than the budget
        await post_sms(client, "hello", person)

        async def given_up() -> list[Any]:
            return await rows(client, Delivery, Delivery.status == DeliveryStatus.FAILED)

        [delivery] = await wait_for(given_up, timeout=20, interval=0.1)
        assert delivery.attempts > 2  # retried within the budget, then failed
        [reply] = await rows(client, Message, Message.direction == Direction.OUT)
        assert reply.status == "failed"
        twilio.fail_next = []

        referral_id = await asyncio.to_thread(_contact_request, settings.database_url, person)
        await add_user(settings.database_url, "cam")
        await add_user(settings.database_url, "sam", role="supervisor")
        assert (await login(client, "cam")).status_code == 303
        page = await client.get(f"/caseworker/referrals/{referral_id}")
        assert page.status_code == 200
        assert 'id="undelivered"' in page.text
        assert "1 message(s) to this person could not be delivered" in page.text
        assert "msg-failed" in page.text and "not delivered" in page.text

        async with another_browser(client) as supervisor:
            assert (await login(supervisor, "sam")).status_code == 303
            numbers = await supervisor.get("/caseworker/supervisor/numbers")
        assert numbers.status_code == 200
        assert '<p class="big" id="undelivered-replies">1</p>' in numbers.text
        assert "Replies not delivered" in numbers.text
        assert "conversations affected: 1" in numbers.text


def _contact_request(database_url: str, address: str) -> str:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            conversation_id = s.scalar(
                select(Conversation.id)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Contact.matches("sms", address))
            )
            assert conversation_id
            referral = referrals.request_contact(s, conversation_id, "en", rules=RULES)
            assert referral is not None
            s.commit()
            return referral.id
    finally:
        engine.dispose()


# -- exactly once into Rasa --------------------------------------------------------------------


async def test_a_message_rasa_already_has_is_not_sent_again_after_a_restart(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    """Rasa takes the message and answers it, but the app never stores the answer (it died on
    the way: here Rasa's answer is lost). The next app reads Rasa's tracker instead of sending the
    message a second time, and delivers the replies Rasa gave."""
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio)
    person = number()
    fake_rasa.lose_answers = 1
    async with running_app(settings, run_worker=False) as client:
        await post_sms(client, "my answer to the form", person)
        await answered(client)
        [inbound] = await rows(client, Message, Message.direction == Direction.IN)
        assert inbound.status == InboundStatus.PENDING and inbound.attempts == 1
    assert [r["message"] for r in fake_rasa.received] == ["my answer to the form"]

    async with running_app(replace(settings), run_worker=True) as client:  # the restart
        bodies = await sent_to(twilio, person, 2)
        [inbound] = await rows(client, Message, Message.direction == Direction.IN)
        assert inbound.status == InboundStatus.ANSWERED
        # The notice sent while the answer was missing, then Rasa's own reply, from its tracker.
        assert bodies[-1] == "en: my answer to the form"
        assert [r["message"] for r in fake_rasa.received] == ["my answer to the form"]
        # The next message goes to Rasa normally, once.
        await post_sms(client, "next", person)
        assert (await sent_to(twilio, person, 3))[-1] == "en: next"
        assert [r["message"] for r in fake_rasa.received] == ["my answer to the form", "next"]


async def test_a_message_rasa_never_got_is_sent_after_the_tracker_check(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio)
    person = number()
    fake_rasa.stop()  # refused: Rasa never sees it
    async with running_app(settings) as client:
        await post_sms(client, "hello while rasa is down", person)
        await answered(client)
        [inbound] = await rows(client, Message, Message.direction == Direction.IN)
        assert inbound.status == InboundStatus.PENDING and inbound.attempts == 1
        fake_rasa.start()
        bodies = await sent_to(twilio, person, 2)
        assert bodies[-1] == "en: hello while rasa is down"
        assert [r["message"] for r in fake_rasa.received] == ["hello while rasa is down"]
