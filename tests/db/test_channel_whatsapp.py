"""WhatsApp end to end through the real twilio client: signed webhooks in, the fake Twilio REST API
(real HTTP on loopback) out, on SQLite and PostgreSQL. Rasa is the fake echo server here; the
real trained Rasa runs full conversations in tests/e2e/test_channels_e2e.py.

Time is the window's clock, moved by the tests (``Clock.advance``): nothing sleeps for 24 hours.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from bot import referrals
from bot.caseworker import i18n as cw_i18n
from bot.caseworker.replies import send_reply
from bot.channels import window
from bot.settings import Settings
from bot.store.channels import ChannelWindow, ContactOptOut, Delivery, DeliveryStatus
from bot.store.db import sync_url
from bot.store.models import Contact, Conversation, Direction, Message, utcnow
from tests.caseworker_support import add_user, login
from tests.fakes import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.helpers import RULES, FakeRasa, make_settings, rows, running_app, settle, wait_for

PUBLIC = "https://intake.example.org"
OUR_SENDER = "whatsapp:+14155238886"  # the Twilio sandbox's number
TEMPLATE_EN = "HX" + "e" * 32
TEMPLATE_FR = "HX" + "f" * 32
VARIABLES = '{"1": "AVRR"}'


class Clock:
    """The window's clock: now, plus however far a test moved it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Echo, plus a menu with two buttons, and a long accented answer, on request."""
    language = (body.get("metadata") or {}).get("language")
    text = body["message"]
    if text == "menu":
        return [
            {
                "text": f"{language}: pick one",
                "buttons": [
                    {"title": "What is it", "payload": "/program_what"},
                    {"title": "Parler à quelqu'un", "payload": "/human_handoff"},
                ],
            }
        ]
    if text == "long":
        sentence = (
            "Cette phrase très précise fait partie d'une longue réponse à « votre » question."
        )
        return [{"text": " ".join([sentence] * 30)}]
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


@pytest.fixture
def clock() -> Clock:
    return Clock()


def whatsapp_settings(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio, **overrides: Any
) -> Settings:
    """WhatsApp on (and SMS off: no SMS sender), pointed at the fake Twilio, fast outbox."""
    values: dict[str, Any] = {
        "public_base_url": PUBLIC,
        "twilio_account_sid": TWILIO_SID,
        "twilio_auth_token": TWILIO_TOKEN,
        "twilio_whatsapp_from": OUR_SENDER,
        "whatsapp_template_sid_en": TEMPLATE_EN,
        "whatsapp_template_sid_fr": TEMPLATE_FR,
        "whatsapp_template_variables": VARIABLES,
        "twilio_api_base_url": twilio.url,
        "outbox_poll_seconds": 0.1,
        "outbox_retry_base_seconds": 0.05,
        "channel_send_timeout_seconds": 5.0,
        **overrides,
    }
    settings = make_settings(tmp_path, database_url, fake_rasa.url, **values)
    # (The tests speak plain http to the app, so their cookies are not marked secure.)
    assert [p for p in settings.problems() if not p.startswith("COOKIE_SECURE")] == []
    return settings


@pytest.fixture
async def client(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    settings = whatsapp_settings(tmp_path, database_url, fake_rasa, twilio)
    async with running_app(settings) as c:
        c.app.state.channels.window.clock = clock  # type: ignore[attr-defined]
        yield c


def sign(path: str, params: dict[str, str]) -> str:
    return RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)


async def post_wa(
    client: httpx.AsyncClient, body: str, sender: str, sid: str | None = None, **extra: str
) -> httpx.Response:
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": OUR_SENDER,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Test Person",
        "WaId": sender.removeprefix("whatsapp:+"),
        **extra,
    }
    path = "/channels/whatsapp/inbound"
    return await client.post(path, data=params, headers={"X-Twilio-Signature": sign(path, params)})


async def post_status(
    client: httpx.AsyncClient, sid: str, status: str, error: str | None = None
) -> httpx.Response:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": TWILIO_SID}
    if error:
        params["ErrorCode"] = error
    path = "/channels/whatsapp/status"
    return await client.post(path, data=params, headers={"X-Twilio-Signature": sign(path, params)})


def person() -> str:
    return "whatsapp:+1416555" + str(uuid.uuid4().int)[:4]


async def sent_to(twilio: FakeTwilio, to: str, count: int) -> list[str]:
    """What was sent to ``to`` (Body, or ``template:<sid>``) once there are ``count``."""

    async def enough() -> list[str]:
        contents = twilio.contents(to)
        return contents if len(contents) >= count else []

    return await wait_for(enough, timeout=20)


async def caseworker_writes(client: httpx.AsyncClient, address: str, text: str) -> None:
    """A caseworker's reply, through the one function the caseworker app sends with."""
    app = client.app  # type: ignore[attr-defined]
    async with app.state.conversations._sessions() as s:
        conversation = await s.scalar(
            select(Conversation)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Contact.matches("whatsapp", address))
        )
        assert conversation is not None
        await send_reply(s, app.state.conversations.delivery_hooks, conversation, text)


async def held(client: httpx.AsyncClient) -> list[Delivery]:
    return await rows(client, Delivery, Delivery.error_code == window.HELD)


# -- the channel -------------------------------------------------------------------------


async def test_signed_message_is_answered_by_rest_from_the_whatsapp_sender_with_accents(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    who = person()
    response = await post_wa(client, "bonjour, ça va? je suis allé à l'hôpital", who)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.endswith("<Response />")
    [reply] = await sent_to(twilio, who, 1)
    assert reply == "fr: bonjour, ça va? je suis allé à l'hôpital"  # no GSM-7 transliteration
    sent = twilio.sent[-1]
    assert (sent["From"], sent["To"]) == (OUR_SENDER, who)
    assert sent["StatusCallback"] == f"{PUBLIC}/channels/whatsapp/status"
    metadata = dict(fake_rasa.received[-1]["metadata"])
    assert metadata.pop("app_message_id").isdigit()  # exactly once into Rasa (bot/engine.py)
    assert metadata == {"language": "fr", "channel": "whatsapp"}
    [contact] = await rows(client, Contact)
    assert (contact.channel, contact.address) == ("whatsapp", who)


async def test_forged_signature_not_a_whatsapp_sender_and_sms_off(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    params = {"MessageSid": "SM" + "1" * 32, "From": person(), "Body": "hi"}
    path = "/channels/whatsapp/inbound"
    forged = RequestValidator("not-the-token").compute_signature(f"{PUBLIC}{path}", params)
    for headers in ({"X-Twilio-Signature": forged}, {}):
        assert (await client.post(path, data=params, headers=headers)).status_code == 403
    tampered = {**params, "Body": "something else"}
    response = await client.post(
        path, data=tampered, headers={"X-Twilio-Signature": sign(path, params)}
    )
    assert response.status_code == 403
    assert (
        await client.post("/channels/whatsapp/status", data={"MessageSid": "x"})
    ).status_code == 403
    # A plain phone number on the WhatsApp webhook is not a WhatsApp sender: acknowledged, ignored.
    assert (await post_wa(client, "hello", "+14165550123")).status_code == 200
    # SMS has no sender configured: off, although the Twilio credentials are set.
    off = await client.post("/channels/sms/inbound", data={"Body": "hi"})
    assert (off.status_code, off.json()["error"]) == (404, "channel_disabled")
    await settle(client)
    assert await rows(client, Message) == []
    assert fake_rasa.received == [] and twilio.requests == 0


async def test_duplicate_and_concurrent_duplicate_deliveries_are_processed_once(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    who, sid = person(), "SM" + uuid.uuid4().hex
    first = await post_wa(client, "hello once", who, sid=sid)
    again = await post_wa(client, "hello once", who, sid=sid)
    assert first.status_code == again.status_code == 200
    racing = "SM" + uuid.uuid4().hex
    results = await asyncio.gather(*(post_wa(client, "racing", who, sid=racing) for _ in range(8)))
    assert all(r.status_code == 200 for r in results)
    await settle(client)
    await sent_to(twilio, who, 2)
    await settle(client)
    assert twilio.contents(who) == ["en: hello once", "en: racing"]
    assert [r["message"] for r in fake_rasa.received] == ["hello once", "racing"]
    assert len(await rows(client, Message, Message.direction == Direction.IN)) == 2


async def test_numbered_options_in_bold_and_replies_by_number_or_word(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    who = person()
    await post_wa(client, "menu", who)
    [menu] = await sent_to(twilio, who, 1)
    assert menu == (
        "en: pick one\n\nReply with the number of your choice:\n*1* What is it\n"
        "*2* Parler à quelqu'un"
    )
    await post_wa(client, "1", who)
    await sent_to(twilio, who, 2)
    assert fake_rasa.received[-1]["message"] == "/program_what"
    await post_wa(client, "menu", who)
    await sent_to(twilio, who, 3)
    await post_wa(client, "deux", who)
    await sent_to(twilio, who, 4)
    assert fake_rasa.received[-1]["message"] == "/human_handoff"
    await post_wa(client, "2", who)  # no options on the last reply: just text
    await sent_to(twilio, who, 5)
    assert fake_rasa.received[-1]["message"] == "2"


async def test_long_reply_is_split_only_above_twilios_1600_characters(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    who = person()
    await post_wa(client, "long", who)
    await settle(client)
    parts = await sent_to(twilio, who, 2)
    await settle(client)
    parts = twilio.contents(who)
    print([len(p) for p in parts])
    assert len(parts) == 2 and all(len(p) <= 1600 and p.endswith("question.") for p in parts)
    sentence = "Cette phrase très précise fait partie d'une longue réponse à « votre » question."
    assert " ".join(parts) == " ".join([sentence] * 30)


@pytest.mark.parametrize(
    "extra",
    [
        {"NumMedia": "1", "MediaUrl0": "https://x/y.jpg", "MediaContentType0": "image/jpeg"},
        {"NumMedia": "1", "MediaUrl0": "https://x/v.ogg", "MediaContentType0": "audio/ogg"},
        {"Latitude": "43.65", "Longitude": "-79.38", "Address": "Toronto"},
    ],
    ids=["image", "voice", "location"],
)
async def test_media_and_location_get_a_text_only_reply_in_the_persons_language(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa, extra: dict[str, str]
) -> None:
    who = person()
    await post_wa(client, "bonjour, c'est quoi ce programme", who)
    await sent_to(twilio, who, 1)
    await post_wa(client, "", who, **extra)
    assert (await sent_to(twilio, who, 2))[-1].startswith("Désolé, je peux seulement lire")
    assert len(fake_rasa.received) == 1


async def test_delivery_and_read_statuses_are_recorded_in_any_order(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    who = person()
    await post_wa(client, "hello", who)
    await sent_to(twilio, who, 1)
    await settle(client)
    sid = twilio.sent[-1]["Sid"]
    for status in ("read", "delivered", "sent"):
        assert (await post_status(client, sid, status)).status_code == 200
    [delivery] = await rows(client, Delivery, Delivery.provider_id == sid)
    assert delivery.provider_status == "read"
    [reply] = await rows(client, Message, Message.id == delivery.message_id)
    assert reply.status == "read"


# -- opt-out -----------------------------------------------------------------------------


async def test_stop_then_nothing_is_sent_then_reprendre(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa
) -> None:
    who = person()
    await post_wa(client, "bonjour", who)
    await sent_to(twilio, who, 1)
    await post_wa(client, "Arrêt", who)
    assert (await sent_to(twilio, who, 2))[-1].startswith("Vous ne recevrez plus de messages")
    assert len(await rows(client, ContactOptOut)) == 1
    await post_wa(client, "STOP", who)  # confirmed once only
    await post_wa(client, "allô?", who)
    await caseworker_writes_if_allowed(client, who)
    await settle(client)
    assert len(twilio.contents(who)) == 2
    assert "allô?" not in [r["message"] for r in fake_rasa.received]
    await post_wa(client, "reprendre", who)
    assert (await sent_to(twilio, who, 3))[-1].startswith("Bon retour.")
    await post_wa(client, "ok merci", who)
    assert (await sent_to(twilio, who, 4))[-1] == "fr: ok merci"


async def caseworker_writes_if_allowed(client: httpx.AsyncClient, who: str) -> None:
    from bot.caseworker.replies import OptedOut

    with pytest.raises(OptedOut):  # the caseworker app refuses to write to an opted-out person
        await caseworker_writes(client, who, "are you there?")


@pytest.mark.parametrize("word", ["optout", "Revoke", "unsubscribe", "STOPALL"])
async def test_messaging_opt_out_words_opt_out_on_whatsapp(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa, word: str
) -> None:
    who = person()
    await post_wa(client, "hello", who)
    await sent_to(twilio, who, 1)
    await post_wa(client, word, who)
    assert "START" in (await sent_to(twilio, who, 2))[-1]
    assert len(await rows(client, ContactOptOut)) == 1


@pytest.mark.parametrize("word", ["cancel", "END", "quit"])
async def test_form_words_reach_the_assistant_on_whatsapp(
    client: httpx.AsyncClient, twilio: FakeTwilio, fake_rasa: FakeRasa, word: str
) -> None:
    # Twilio's SMS-only opt-out words mean "stop the form" inside a WhatsApp conversation.
    who = person()
    await post_wa(client, word, who)
    assert (await sent_to(twilio, who, 1)) == [f"en: {word}"]
    assert await rows(client, ContactOptOut) == []


# -- the 24-hour window ------------------------------------------------------------------


@pytest.mark.parametrize(("language", "greeting", "template"), [
    ("en", "hello", TEMPLATE_EN), ("fr", "bonjour", TEMPLATE_FR)])  # fmt: skip
async def test_outside_the_window_the_template_goes_once_and_held_replies_follow_the_answer(
    client: httpx.AsyncClient,
    twilio: FakeTwilio,
    clock: Clock,
    language: str,
    greeting: str,
    template: str,
) -> None:
    who = person()
    await post_wa(client, greeting, who)
    await sent_to(twilio, who, 1)
    await caseworker_writes(client, who, "First reply, within the window.")
    assert (await sent_to(twilio, who, 2))[-1] == "First reply, within the window."

    clock.advance(hours=24, minutes=1)  # the person has not written for a day
    await caseworker_writes(client, who, "Second reply, a day later.")
    await settle(client)
    assert (await sent_to(twilio, who, 3))[-1] == f"template:{template}"
    notice = twilio.sent[-1]
    assert "Body" not in notice and json.loads(notice["ContentVariables"]) == {"1": "AVRR"}
    assert (notice["From"], notice["StatusCallback"]) == (
        OUR_SENDER, f"{PUBLIC}/channels/whatsapp/status")  # fmt: skip
    await caseworker_writes(client, who, "Third reply, still waiting.")
    await settle(client)
    await settle(client)
    assert len(twilio.contents(who)) == 3  # the template once; both replies held
    assert [d.text for d in await held(client)] == ["Second reply, a day later."]
    later = "Second reply, a day later."
    held_message = [m for m in await rows(client, Message) if m.text == later]
    assert held_message[0].status == "held"
    # The template is recorded in the conversation (what the caseworker sees), in the
    # person's language, and its status callbacks are kept like any message's.
    [stored] = await rows(client, Message, Message.payload.is_not(None), Message.author == "system")
    assert stored.text.startswith(("You have a new message", "Vous avez un nouveau message"))
    assert stored.language == language
    assert (await post_status(client, notice["Sid"], "read")).status_code == 200
    assert (await rows(client, Message, Message.id == stored.id))[0].status == "read"

    clock.advance(hours=30)  # more time: still held, no second template
    await settle(client)
    assert len(twilio.contents(who)) == 3

    await post_wa(client, "ok", who)  # the person answers: the window reopens
    contents = await sent_to(twilio, who, 6)
    assert contents[3:] == [
        "Second reply, a day later.",
        "Third reply, still waiting.",
        f"{language}: ok",
    ]
    assert await held(client) == []
    [window_row] = await rows(client, ChannelWindow)
    assert window_row.notified_at is None and window_row.refused_at is None


async def test_assistant_replies_kept_while_rasa_was_down_wait_for_the_window_too(
    client: httpx.AsyncClient, twilio: FakeTwilio, clock: Clock
) -> None:
    # Any free-form message, not only a caseworker's: here a reply stored for a late answer.
    who = person()
    await post_wa(client, "hello", who)
    await sent_to(twilio, who, 1)
    clock.advance(hours=25)
    service = client.app.state.conversations  # type: ignore[attr-defined]
    [inbound] = [m for m in await rows(client, Message) if m.text == "hello"]
    async with service._sessions() as s:
        s.add(service._outbound(inbound.conversation_id, inbound, "late answer", None, "en",
                                "assistant"))  # fmt: skip
        await s.commit()
    await settle(client)
    assert (await sent_to(twilio, who, 2))[-1] == f"template:{TEMPLATE_EN}"
    await post_wa(client, "hi again", who)
    assert (await sent_to(twilio, who, 4))[2:] == ["late answer", "en: hi again"]


async def test_63016_when_sending_holds_the_reply_and_sends_the_template(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    # Our clock says the window is open, WhatsApp says it is not: WhatsApp wins.
    who = person()
    await post_wa(client, "hello", who)
    await sent_to(twilio, who, 1)
    twilio.window_closed.add(who)
    await caseworker_writes(client, who, "Are you still there?")

    async def template_sent() -> bool:
        await settle(client)
        return f"template:{TEMPLATE_EN}" in twilio.contents(who)

    await wait_for(template_sent)
    assert [d.text for d in await held(client)] == ["Are you still there?"]
    twilio.window_closed.discard(who)
    await post_wa(client, "yes", who)
    assert (await sent_to(twilio, who, 4))[2:] == ["Are you still there?", "en: yes"]


async def test_63016_in_a_status_callback_holds_the_reply_and_sends_the_template(
    client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    who = person()
    await post_wa(client, "hello", who)
    await sent_to(twilio, who, 1)
    await caseworker_writes(client, who, "News about your file.")
    await sent_to(twilio, who, 2)
    await settle(client)
    sid = twilio.sent[-1]["Sid"]
    assert (await post_status(client, sid, "failed", error="63016")).status_code == 200
    await settle(client)
    assert (await sent_to(twilio, who, 3))[-1] == f"template:{TEMPLATE_EN}"
    assert [d.text for d in await held(client)] == ["News about your file."]
    await post_wa(client, "ok", who)
    assert (await sent_to(twilio, who, 5))[3:] == ["News about your file.", "en: ok"]


async def test_63003_not_a_whatsapp_user_fails_clearly_without_logging_the_number(
    client: httpx.AsyncClient, twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    who = person()
    twilio.not_whatsapp.add(who)
    await post_wa(client, "hello", who)
    await settle(client)

    async def failed() -> list[Delivery]:
        return await rows(client, Delivery, Delivery.status == DeliveryStatus.FAILED)

    [delivery] = await wait_for(failed)
    assert delivery.error_code == "63003" and delivery.attempts == 1
    assert twilio.requests == 1  # not retried
    assert "not a WhatsApp user (63003)" in caplog.text
    assert who.removeprefix("whatsapp:") not in caplog.text
    assert await rows(client, ContactOptOut) == []


async def test_without_a_template_messages_wait_silently_for_the_person(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio, clock: Clock
) -> None:
    settings = whatsapp_settings(
        tmp_path, database_url, fake_rasa, twilio,
        whatsapp_template_sid_en="", whatsapp_template_sid_fr="",
    )  # fmt: skip
    async with running_app(settings) as client:
        client.app.state.channels.window.clock = clock  # type: ignore[attr-defined]
        who = person()
        await post_wa(client, "hello", who)
        await sent_to(twilio, who, 1)
        clock.advance(hours=25)
        await caseworker_writes(client, who, "Held without a template.")
        await settle(client)
        assert len(twilio.contents(who)) == 1 and len(await held(client)) == 1
        await post_wa(client, "hi", who)
        assert (await sent_to(twilio, who, 3))[1:] == ["Held without a template.", "en: hi"]


# -- the caseworker page -----------------------------------------------------------------


def _referral_for(database_url: str, address: str, language: str) -> str:
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            conversation_id = s.scalar(
                select(Conversation.id)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Contact.matches("whatsapp", address))
            )
            assert conversation_id
            referral = referrals.request_contact(s, conversation_id, language, rules=RULES)
            assert referral is not None
            s.commit()
            return referral.id
    finally:
        engine.dispose()


@pytest.mark.parametrize("ui", ["en", "fr"])
async def test_caseworker_page_says_whether_the_window_is_open_and_what_happens_to_a_reply(
    client: httpx.AsyncClient, twilio: FakeTwilio, clock: Clock, database_url: str, ui: str
) -> None:
    who = person()
    await post_wa(client, "hello", who)
    await sent_to(twilio, who, 1)
    referral_id = await asyncio.to_thread(_referral_for, database_url, who, "en")
    await add_user(database_url, "ana", ui_language=ui)
    assert (await login(client, "ana")).status_code == 303
    page = f"/caseworker/referrals/{referral_id}"

    def says(key: str, html: str) -> bool:
        import html as html_lib

        start = cw_i18n.ui(key, ui).split("{")[0]
        return start in html_lib.unescape(html)

    assert says("whatsapp_window_open", (await client.get(page)).text)
    clock.advance(hours=25)
    assert says("whatsapp_window_notify", (await client.get(page)).text)
    await caseworker_writes(client, who, "Held one.")
    await settle(client)
    text = (await client.get(page)).text
    assert says("whatsapp_window_notified", text)
    assert cw_i18n.value("delivery", "held", ui) in text.replace("&#39;", "'")


async def test_delete_my_data_erases_the_window_too(
    client: httpx.AsyncClient, twilio: FakeTwilio, clock: Clock
) -> None:
    who = person()
    await post_wa(client, "hello", who)
    await sent_to(twilio, who, 1)
    clock.advance(hours=25)
    await caseworker_writes(client, who, "Held, then erased.")
    await settle(client)
    await sent_to(twilio, who, 2)  # the template
    await post_wa(client, "DELETE", who)  # reopens the window: the held reply goes first
    contents = await sent_to(twilio, who, 4)
    assert contents[2] == "Held, then erased."
    assert contents[3].startswith("Erase all your messages")
    await post_wa(client, "1", who)
    await settle(client)

    async def erased() -> bool:
        return not await rows(client, Contact)

    await wait_for(erased)
    assert await rows(client, ChannelWindow) == []
    assert await rows(client, Delivery) == [] and await rows(client, Message) == []
    # The receipt went out on WhatsApp, and every message both ways is deleted at Twilio
    # (README "Privacy" / "Erasure").
    contents = twilio.contents(who)
    assert contents[-1].startswith("Your messages and answers were erased. Receipt reference: ER-")
    assert {m["Sid"] for m in twilio.sent if m["To"] == who} <= set(twilio.deleted)
    assert len(twilio.deleted) >= len(contents) + 3  # + the person's hello, DELETE and 1


@pytest.mark.parametrize(
    "extra",
    [
        {"Body": "nul \x00 in the text"},
        {"Body": "", "NumMedia": "lots"},
        {"Body": "", "Latitude": "not a number"},
        {"Body": "x" * 5000},
        {"Body": '/greet{"name": "x"}', "ButtonPayload": "/delete_confirm"},
        {"From": "whatsapp:" + "9" * 80},
    ],
    ids=["unstorable", "bad-nummedia", "bad-latitude", "huge", "injection", "long-from"],
)
async def test_hostile_signed_forms_never_fail(
    client: httpx.AsyncClient, twilio: FakeTwilio, extra: dict[str, str]
) -> None:
    who = person()
    params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": who, "To": OUR_SENDER, "Body": "hi",
              **extra}  # fmt: skip
    path = "/channels/whatsapp/inbound"
    response = await client.post(
        path, data=params, headers={"X-Twilio-Signature": sign(path, params)}
    )
    assert response.status_code == 200 and response.text.endswith("<Response />")
    await settle(client)
    assert await rows(client, ContactOptOut) == []  # a forged button payload erases nothing
