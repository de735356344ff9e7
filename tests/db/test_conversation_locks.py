"""Per-conversation ordering across app processes (bot/store/locks.py): PostgreSQL advisory
locks between two engines (two processes' connections), released when a holder's connection
dies; in-process locks on SQLite; and two app instances on one PostgreSQL database answering the
same person at once, each message into Rasa once and in order; the retry worker leaving a
just-received message to the request that stored it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from bot.store.db import create_engine
from bot.store.locks import ConversationLocks, advisory_key
from bot.store.models import Direction, Message
from tests.fakes import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.helpers import FakeRasa, echo_answer, make_settings, rows, running_app, wait_for

PUBLIC = "https://intake.example.org"


async def test_sqlite_locks_are_in_process(tmp_path: Path) -> None:
    db = create_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    try:
        locks = ConversationLocks.for_engine(db)
        assert not locks.cross_process
        async with locks.hold("c1"):
            async with locks.try_hold("c1") as held:
                assert not held
            async with locks.try_hold("c2") as held:
                assert held
        async with locks.try_hold("c1") as held:
            assert held
        await locks.aclose()
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_advisory_lock_between_processes_and_released_by_a_dead_connection(
    postgres_url: str,
) -> None:
    first_db, second_db = create_engine(postgres_url), create_engine(postgres_url)
    first, second = ConversationLocks.for_engine(first_db), ConversationLocks.for_engine(second_db)
    assert first.cross_process and second.cross_process
    key = f"conversation-{uuid.uuid4().hex}"
    order: list[str] = []
    try:
        async with first.hold(key):
            async with second.try_hold(key) as held:
                assert not held  # the other process has it
            async with second.try_hold(key + "-other") as held:
                assert held  # other conversations are free

            async def waiter() -> None:
                async with second.hold(key):
                    order.append("second in")

            waiting = asyncio.create_task(waiter())
            await asyncio.sleep(0)
            order.append("first out")
        await asyncio.wait_for(waiting, 10)
        assert order == ["first out", "second in"]

        # A process killed while holding it: PostgreSQL ends its session, the lock goes with it.
        raw = await psycopg.AsyncConnection.connect(
            make_url(postgres_url).set(drivername="postgresql").render_as_string(False),
            autocommit=True,
        )
        await raw.execute("SELECT pg_advisory_lock(%s)", (advisory_key(key),))
        async with second.try_hold(key) as held:
            assert not held
        await raw.close()

        async def free() -> bool:
            async with second.try_hold(key) as held:
                return held

        assert await wait_for(free, timeout=10, interval=0.05)
    finally:
        await first.aclose()
        await second.aclose()
        await first_db.dispose()
        await second_db.dispose()


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


async def _post(client: httpx.AsyncClient, body: str, sender: str) -> None:
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": "+14165550000",
        "Body": body,
        "NumMedia": "0",
    }
    path = "/channels/sms/inbound"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)
    response = await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_app_processes_answer_one_conversation_in_order_and_once(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    """Messages of one person arrive at two app instances (two engines, two lock pools: what two
    processes are to PostgreSQL) at once; each instance answers the conversation's backlog."""
    settings = make_settings(
        tmp_path,
        database_url,
        fake_rasa.url,
        public_base_url=PUBLIC,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from_number="+14165550000",
        twilio_api_base_url=twilio.url,
    )
    person = "+14165559876"
    async with (
        running_app(settings, run_worker=False) as one,
        running_app(settings, run_worker=False) as two,
    ):
        texts = [f"message {n}" for n in range(12)]
        await asyncio.gather(*(_post((one, two)[n % 2], t, person) for n, t in enumerate(texts)))
        for app in (one, two):
            await app.app.state.channels.pipeline.drain()  # type: ignore[attr-defined]
            await app.app.state.conversations.process_pending()  # type: ignore[attr-defined]
        stored = await rows(one, Message, Message.direction == Direction.IN)
        in_order = [m.text for m in sorted(stored, key=lambda m: m.id)]
        assert sorted(in_order) == sorted(texts)
        assert [r["message"] for r in fake_rasa.received] == in_order  # once each, in order
        assert all(m.status == "answered" for m in stored)


async def test_the_retry_worker_leaves_a_just_received_message_to_its_request(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    """A message stored but not yet answered is its request's for a few seconds (the answer
    task carries the channel's language hint); after that it was left behind and the retry
    worker answers it."""
    from sqlalchemy import update

    from bot.conversation import RECEIVED_GRACE_SECONDS, InboundMessage
    from bot.store.models import utcnow

    settings = make_settings(tmp_path, database_url, fake_rasa.url)
    async with running_app(settings, run_worker=False) as client:
        service = client.app.state.conversations  # type: ignore[attr-defined]
        message = InboundMessage("web", "someone", uuid.uuid4().hex, "bonjour", "fr")
        accepted = await service.accept(message)  # stored; its answer never ran (a crash)
        assert await service.process_pending() == 0
        assert fake_rasa.received == []
        async with service._sessions() as s:
            await s.execute(
                update(Message)
                .where(Message.id == accepted.message_id)
                .values(created_at=utcnow() - timedelta(seconds=RECEIVED_GRACE_SECONDS + 1))
            )
            await s.commit()
        assert await service.process_pending() == 1
        assert [r["message"] for r in fake_rasa.received] == ["bonjour"]
