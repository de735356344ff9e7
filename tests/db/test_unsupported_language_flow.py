"""A message in a language the assistant does not speak, through the web chat on SQLite and
PostgreSQL (Rasa replaced by a fake server: the app answers such a message itself)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.i18n import t
from bot.sms import cost, to_gsm7
from bot.store.models import Conversation, ConversationStatus, InboundStatus, Message
from tests.db.test_channel_sms import number, post_sms, sent_to, sms_settings
from tests.fakes import FakeTwilio
from tests.helpers import FakeRasa, running_app, web_replies

SPANISH = "hola, necesito ayuda para volver a mi pais"
PERSON = {"title": "Talk to a person / Parler à une personne", "payload": "/human_handoff"}


say = web_replies


async def conversation_of(client: httpx.AsyncClient) -> Conversation:
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        conversation = await s.scalar(select(Conversation))
        assert conversation is not None
        return conversation


async def test_other_language_gets_one_bilingual_reply_and_a_person_button(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    replies = await say(client, SPANISH, "es-1")
    assert replies == [
        {"id": replies[0]["id"], "text": t("unsupported_language", "en"), "buttons": [PERSON]}
    ]
    text = replies[0]["text"]
    assert "HUMAN" in text and "HUMAIN" in text and "English" in text and "français" in text
    assert fake_rasa.received == []  # the app answered; nothing went to Rasa
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        inbound = await s.scalar(select(Message).where(Message.direction == "in"))
        assert inbound is not None and inbound.status == InboundStatus.HANDLED
    # Pressing the button (or HUMAN) goes to Rasa's human_handoff: the contact request.
    await say(client, PERSON["payload"], "es-1")
    await say(client, "HUMAIN", "es-1")
    assert [m["message"] for m in fake_rasa.received] == ["/human_handoff", "/human_handoff"]
    assert fake_rasa.received[-1]["metadata"]["language"] == "fr"


async def test_french_first_in_a_french_conversation_and_language_is_kept(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    await say(client, "bonjour, j'ai une question", "fr-1")
    replies = await say(client, "Jó napot, segítségre van szükségem", "fr-1")
    assert replies[0]["text"] == t("unsupported_language", "fr")
    assert replies[0]["text"].startswith("Désolé, je réponds seulement en anglais ou en français.")
    assert (await conversation_of(client)).language == "fr"
    await say(client, "ok", "fr-1")
    assert fake_rasa.received[-1]["metadata"]["language"] == "fr"


async def test_a_caseworkers_conversation_keeps_the_message_for_the_caseworker(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    await say(client, "hello", "cw-1")
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        conversation = await s.scalar(select(Conversation))
        assert conversation is not None
        conversation.status = ConversationStatus.HUMAN
        await s.commit()
    assert await say(client, "我想回家", "cw-1") == []  # the caseworker may read it: no bot reply
    async with sessions() as s:
        [waiting] = [m for m in await s.scalars(select(Message)) if m.text == "我想回家"]
        assert waiting.status == InboundStatus.RECEIVED


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


async def test_on_sms_one_short_reply_and_the_person_option_by_number(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, twilio: FakeTwilio
) -> None:
    async with running_app(sms_settings(tmp_path, database_url, fake_rasa, twilio)) as client:
        person = number()
        await post_sms(client, "Olá, preciso de ajuda, não falo inglês", person)
        [body] = await sent_to(twilio, person, 1)
        options = "\nReply 1 for Talk to a person / Parler à une personne."
        assert body == to_gsm7(t("unsupported_language", "en") + options)
        assert cost(body).encoding == "GSM-7" and cost(body).segments <= 2
        assert fake_rasa.received == []
        await post_sms(client, "1", person)  # picks "Talk to a person"
        await sent_to(twilio, person, 2)
        assert fake_rasa.received[-1]["message"] == "/human_handoff"
