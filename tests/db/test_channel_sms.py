"""SMS end to end through the real twilio client: signed webhooks in, the fake Twilio REST API
(real HTTP on loopback) out, on SQLite and PostgreSQL. Rasa is the fake echo server here; the
real trained Rasa runs the same flows in tests/e2e/test_channels_e2e.py."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.settings import Settings
from bot.store.channels import ContactOptOut, Delivery, DeliveryStatus
from bot.store.models import Direction, Message
from tests.fakes import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.helpers import FakeRasa, make_settings, rows, running_app, settle, wait_for

PUBLIC = "https://intake.example.org"
OUR_NUMBER = "+14165550000"


def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Echo, plus a menu with two buttons, and a long answer, on request."""
    language = (body.get("metadata") or {}).get("language")
    text = body["message"]
    if text == "menu":
        return [
            {
                "text": f"{language}: pick one",
                "buttons": [
                    {"title": "What is it", "payload": "/program_what"},
                    {"title": "A person", "payload": "/human_handoff"},
                ],
            }
        ]
    if text == "long":
        sentence = "This sentence is part of a long answer about the program."
        return [{"text": " ".join([sentence] * 12)}]
    return [{"text": f"{language}: {text}"}]


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa(answer)
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


def sms_settings(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> Settings:
    """The app with SMS on, pointed at the fake Twilio, with a fast outbox."""
    return make_settings(
        tmp_path,
        database_url,
        fake_rasa.url,
        public_base_url=PUBLIC,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from_number=OUR_NUMBER,
        twilio_api_base_url=twilio.url,
        outbox_poll_seconds=0.1,
        outbox_retry_base_seconds=0.05,
        channel_send_timeout_seconds=5.0,
    )


@pytest.fixture
async def client(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> AsyncIterator[httpx.AsyncClient]:
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio)
    async with running_app(settings) as c:
        yield c


def sign(path: str, params: dict[str, str]) -> str:
    return RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)


async def post_sms(
    client: httpx.AsyncClient, body: str, sender: str, sid: str | None = None, **extra: str
) -> httpx.Response:
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }
    path = "/channels/sms/inbound"
    return await client.post(path, data=params, headers={"X-Twilio-Signature": sign(path, params)})


async def post_status(
    client: httpx.AsyncClient, sid: str, status: str, error: str | None = None
) -> httpx.Response:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": TWILIO_SID}
    if error:
        params["ErrorCode"] = error
    path = "/channels/sms/status"
    return await client.post(path, data=params, headers={"X-Twilio-Signature": sign(path, params)})


def number() -> str:
    return "+1416555" + str(uuid.uuid4().int)[:4]


async def sent_to(twilio: FakeTwilio, to: str, count: int) -> list[str]:
    async def enough() -> list[str]:
        bodies = twilio.bodies(to)
        return bodies if len(bodies) >= count else []

    return await wait_for(enough, timeout=20)


async def test_signed_sms_is_acknowledged_with_empty_twiml_and_answered_by_rest(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    person = number()
    response = await post_sms(client, "hello, what is this program", person)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.endswith("<Response />")
    assert await sent_to(twilio, person, 1) == ["en: hello, what is this program"]
    sent = twilio.sent[-1]
    assert sent["From"] == OUR_NUMBER
    assert sent["StatusCallback"] == f"{PUBLIC}/channels/sms/status"
    metadata = fake_rasa.received[-1]["metadata"]
    # The app's own message id goes with it (exactly once into Rasa: bot/engine.py).
    assert metadata.pop("app_message_id").isdigit()
    assert metadata == {"language": "en", "channel": "sms"}


async def test_forged_or_missing_signature_is_rejected(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    params = {"MessageSid": "SM" + "1" * 32, "From": number(), "Body": "hi"}
    path = "/channels/sms/inbound"
    forged = RequestValidator("not-the-token").compute_signature(f"{PUBLIC}{path}", params)
    wrong_url = RequestValidator(TWILIO_TOKEN).compute_signature(f"http://app{path}", params)
    for headers in ({"X-Twilio-Signature": forged}, {"X-Twilio-Signature": wrong_url}, {}):
        assert (await client.post(path, data=params, headers=headers)).status_code == 403
    # A signed body that was tampered with afterwards.
    good = sign(path, params)
    tampered = {**params, "Body": "something else"}
    response = await client.post(path, data=tampered, headers={"X-Twilio-Signature": good})
    assert response.status_code == 403
    status = await client.post("/channels/sms/status", data={"MessageSid": "SMx"})
    assert status.status_code == 403
    assert await rows(client, Message) == []
    assert fake_rasa.received == [] and twilio.requests == 0


async def test_duplicate_and_concurrent_duplicate_deliveries_are_processed_once(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    person, sid = number(), "SM" + uuid.uuid4().hex
    first = await post_sms(client, "hello once", person, sid=sid)
    again = await post_sms(client, "hello once", person, sid=sid)
    assert first.status_code == again.status_code == 200
    racing_sid = "SM" + uuid.uuid4().hex
    results = await asyncio.gather(
        *(post_sms(client, "racing hello", person, sid=racing_sid) for _ in range(8))
    )
    assert all(r.status_code == 200 for r in results)
    await settle(client)
    await sent_to(twilio, person, 2)
    await asyncio.sleep(0.3)
    assert twilio.bodies(person) == ["en: hello once", "en: racing hello"]
    assert [r["message"] for r in fake_rasa.received] == ["hello once", "racing hello"]
    assert len(await rows(client, Message, Message.direction == Direction.IN)) == 2


async def test_status_callbacks_out_of_order_keep_the_most_advanced(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    person = number()
    await post_sms(client, "hello", person)
    await sent_to(twilio, person, 1)
    await settle(client)
    sid = twilio.sent[-1]["Sid"]
    for status in ("delivered", "sent", "queued", "sending"):
        assert (await post_status(client, sid, status)).status_code == 200
    [delivery] = await rows(client, Delivery, Delivery.provider_id == sid)
    assert delivery.provider_status == "delivered"
    [reply] = await rows(client, Message, Message.id == delivery.message_id)
    assert reply.status == "delivered"
    # A callback for a message that is not ours is acknowledged and ignored.
    assert (await post_status(client, "SM" + "0" * 32, "delivered")).status_code == 200


async def test_21610_when_sending_opts_the_contact_out_and_nothing_more_is_sent(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    person = number()
    twilio.blocked.add(person)
    await post_sms(client, "hello", person)
    await settle(client)
    await wait_for(lambda: rows(client, ContactOptOut))
    [delivery] = await rows(client, Delivery)
    assert (delivery.status, delivery.error_code) == (DeliveryStatus.FAILED, "21610")
    twilio.blocked.clear()  # even if Twilio would now accept, we do not send
    await post_sms(client, "are you there", person)
    await settle(client)
    assert twilio.bodies(person) == []
    assert fake_rasa.received[-1]["message"] == "hello"  # the second one never reached Rasa


async def test_21610_in_a_status_callback_opts_the_contact_out(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    person = number()
    await post_sms(client, "hello", person)
    await sent_to(twilio, person, 1)
    await settle(client)
    await post_status(client, twilio.sent[-1]["Sid"], "undelivered", error="21610")
    assert len(await rows(client, ContactOptOut)) == 1


async def test_stop_then_a_reply_attempt_sends_nothing_then_start(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    person = number()
    await post_sms(client, "bonjour, je veux des informations", person)
    await sent_to(twilio, person, 1)
    await post_sms(client, "Arrêt", person)
    confirmation = (await sent_to(twilio, person, 2))[-1]
    assert confirmation.startswith("Vous ne recevrez plus de messages")
    # The assistant tries to reply (e.g. an answer produced after an outage): nothing goes out.
    service = client.app.state.conversations  # type: ignore[attr-defined]
    [inbound] = [m for m in await rows(client, Message) if m.text == "Arrêt"]
    async with service._sessions() as s:
        s.add(
            service._outbound(
                inbound.conversation_id, inbound, "late reply", None, "fr", "assistant"
            )
        )
        await s.commit()
    await post_sms(client, "STOP", person)  # confirmed once only
    await post_sms(client, "hello?", person)
    await settle(client)
    await asyncio.sleep(0.3)
    assert len(twilio.bodies(person)) == 2
    suppressed = await rows(client, Delivery, Delivery.status == DeliveryStatus.SUPPRESSED)
    assert [d.text for d in suppressed] == ["late reply"]
    assert "hello?" not in [r["message"] for r in fake_rasa.received]

    await post_sms(client, "reprendre", person)
    welcome = (await sent_to(twilio, person, 3))[-1]
    assert welcome.startswith("Bon retour.")
    await post_sms(client, "ok merci", person)
    assert (await sent_to(twilio, person, 4))[-1] == "fr: ok merci"


async def test_numbered_options_and_replies_by_number_or_word(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    person = number()
    await post_sms(client, "menu", person)
    [menu] = await sent_to(twilio, person, 1)
    assert menu == "en: pick one\nReply 1 for What is it, 2 for A person."
    await post_sms(client, "1", person)
    await sent_to(twilio, person, 2)
    assert fake_rasa.received[-1]["message"] == "/program_what"
    await post_sms(client, "menu", person)
    await sent_to(twilio, person, 3)
    await post_sms(client, "deux", person)
    await sent_to(twilio, person, 4)
    assert fake_rasa.received[-1]["message"] == "/human_handoff"
    # Without options on the last reply, "2" is just text.
    await post_sms(client, "2", person)
    await sent_to(twilio, person, 5)
    assert fake_rasa.received[-1]["message"] == "2"


async def test_long_reply_is_split_on_sentences_within_the_segment_budget(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    from bot.sms import cost

    person = number()
    await post_sms(client, "long", person)
    await settle(client)
    parts = await sent_to(twilio, person, 2)
    for part in parts:
        print(f"{cost(part).encoding} {cost(part).segments} segment(s): {len(part)} chars")
        assert cost(part).segments <= 3
        assert part.endswith(".")
    sentence = "This sentence is part of a long answer about the program."
    assert " ".join(parts) == " ".join([sentence] * 12)


async def test_media_gets_a_text_only_reply_in_the_persons_language(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    person = number()
    await post_sms(client, "bonjour, c'est quoi ce programme", person)
    await sent_to(twilio, person, 1)
    await post_sms(client, "", person, NumMedia="1", MediaUrl0="https://x/y.jpg")
    assert (await sent_to(twilio, person, 2))[-1].startswith("Désolé, je peux seulement lire")
    assert len(fake_rasa.received) == 1


async def test_help_and_aide(client: httpx.AsyncClient, twilio: FakeTwilio) -> None:
    person = number()
    await post_sms(client, "HELP", person)
    assert "Reply HUMAN" in (await sent_to(twilio, person, 1))[-1]
    await post_sms(client, "aide", person)
    assert "Répondez HUMAIN" in (await sent_to(twilio, person, 2))[-1]


async def test_failing_api_and_429_are_retried_until_delivered_once(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    person = number()
    twilio.fail_next = [500, 429, 503]
    await post_sms(client, "hello retry", person)
    assert await sent_to(twilio, person, 1) == ["en: hello retry"]
    await post_sms(client, "second", person)
    await sent_to(twilio, person, 2)
    await settle(client)
    assert twilio.bodies(person) == ["en: hello retry", "en: second"]  # in order, once each
    assert twilio.requests == 5
    deliveries = await rows(client, Delivery)
    assert [(d.status, d.attempts) for d in deliveries] == [("sent", 4), ("sent", 1)]


async def test_api_down_keeps_replies_and_sends_them_when_it_is_back(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    twilio.stop()  # connection refused
    settings = sms_settings(tmp_path, database_url, fake_rasa, twilio)
    async with running_app(settings) as client:
        person = number()
        await post_sms(client, "hello while down", person)
        await settle(client)

        async def retried() -> bool:
            return any(d.attempts >= 2 for d in await rows(client, Delivery))

        await wait_for(retried)
        twilio.start()
        assert await sent_to(twilio, person, 1) == ["en: hello while down"]
        sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(Delivery)) == 1


@pytest.mark.parametrize("word", ["CANCEL", "end", "Quit", "stopall"])
async def test_twilio_opt_out_words_opt_out_on_sms(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa, word: str
) -> None:
    # Twilio and the carrier stop delivery on these words whatever we do: the app agrees, and
    # says how to come back.
    person = number()
    await post_sms(client, "hello", person)
    await sent_to(twilio, person, 1)
    await post_sms(client, word, person)
    confirmation = (await sent_to(twilio, person, 2))[-1]
    assert "START" in confirmation
    assert len(await rows(client, ContactOptOut)) == 1
    assert word not in [r["message"] for r in fake_rasa.received]


async def test_a_crisis_after_stop_still_gets_the_emergency_guidance_by_sms(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    person = number()
    await post_sms(client, "STOP", person)
    await sent_to(twilio, person, 1)
    await post_sms(client, "i want to kill myself", person)
    guidance = (await sent_to(twilio, person, 2))[-1]
    assert guidance.startswith("I'm sorry you are going through this.") and "911" in guidance
    assert fake_rasa.received == []
