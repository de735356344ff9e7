"""Full WhatsApp conversations in English and French against the real trained Rasa and action
server: signed Twilio webhooks in, the real twilio client out to the fake Twilio on loopback; and
the 24-hour window with a caseworker's reply held, the template sent, and both released when the
person answers (the window's clock is moved, never waited for)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from bot.caseworker.replies import send_reply
from bot.runtime.services import Services
from bot.settings import Settings
from bot.store.models import Contact, Conversation, Referral, utcnow
from tests.fakes import TWILIO_SID, TWILIO_TOKEN, FakeTwilio
from tests.helpers import running_app, wait_for

pytestmark = pytest.mark.e2e

PUBLIC = "https://intake.example.org"
SENDER = "whatsapp:+14155238886"
TEMPLATES = {"en": "HX" + "1" * 32, "fr": "HX" + "2" * 32}


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
async def app(
    stack_settings: Settings, services: Services, twilio: FakeTwilio, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    settings = replace(
        stack_settings,
        public_base_url=PUBLIC,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_whatsapp_from=SENDER,
        whatsapp_template_sid_en=TEMPLATES["en"],
        whatsapp_template_sid_fr=TEMPLATES["fr"],
        twilio_api_base_url=twilio.url,
        outbox_poll_seconds=0.1,
    )
    async with running_app(settings) as client:
        client.app.state.channels.window.clock = clock  # type: ignore[attr-defined]
        yield client


class WhatsApp:
    def __init__(self, client: httpx.AsyncClient, twilio: FakeTwilio) -> None:
        self.client, self.twilio = client, twilio
        self.address = "whatsapp:+1647" + str(uuid.uuid4().int)[:7]

    async def flush(self) -> None:
        await self.client.app.state.channels.pipeline.drain()  # type: ignore[attr-defined]
        await self.client.app.state.channels.outbox.run_once()  # type: ignore[attr-defined]

    async def replies_after(self, before: int) -> list[str]:
        async def replied() -> list[str]:
            await self.flush()
            sent = self.twilio.contents(self.address)
            return sent[before:] if len(sent) > before else []

        return await wait_for(replied, timeout=60)

    async def post(self, body: str) -> None:
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": self.address, "Body": body,
                  "To": SENDER, "NumMedia": "0"}  # fmt: skip
        path = "/channels/whatsapp/inbound"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)
        response = await self.client.post(
            path, data=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200

    async def say(self, body: str) -> str:
        """Send one WhatsApp message; return the text of the reply (its messages joined)."""
        before = len(self.twilio.contents(self.address))
        await self.post(body)
        parts = await self.replies_after(before)
        for part in parts:
            print(f"WhatsApp {len(part)} chars: {part!r}")
            assert len(part) <= 1600
        return "\n".join(parts)


async def referral_for(client: httpx.AsyncClient, address: str) -> Referral | None:
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        return await s.scalar(
            select(Referral)
            .join(Contact, Contact.id == Referral.contact_id)
            .where(Contact.matches("whatsapp", address))
        )


async def test_whatsapp_conversation_in_english(app: httpx.AsyncClient, twilio: FakeTwilio) -> None:
    wa = WhatsApp(app, twilio)
    greeting = await wa.say("hello")
    assert greeting.startswith("Hello! I'm an automated assistant.")
    assert greeting.endswith(
        "Reply with the number of your choice:\n*1* What is the program?\n*2* Is it still open?\n"
        "*3* Talk to a person\n*4* Français"  # accents kept, unlike SMS
    )
    assert "Canada Border Services Agency (CBSA)" in await wa.say("1")
    assert "was not renewed" in await wa.say("is it still open")
    help_text = await wa.say("HELP")
    assert "Reply HUMAN" in help_text and "STOP" in help_text
    handoff = await wa.say("HUMAN")
    assert handoff.startswith("OK. I have passed your request to the program's caseworkers.")
    referral = await referral_for(app, wa.address)
    assert referral is not None and (referral.channel, referral.language) == ("whatsapp", "en")
    assert (await wa.say("STOP")).startswith("You will get no more messages")
    assert (await wa.say("START")).startswith("Welcome back.")


async def test_whatsapp_conversation_in_french(app: httpx.AsyncClient, twilio: FakeTwilio) -> None:
    wa = WhatsApp(app, twilio)
    greeting = await wa.say("bonjour")
    assert greeting.startswith("Bonjour! Je suis un assistant automatisé.")
    assert "Répondez avec le numéro de votre choix :\n*1* " in greeting
    assert greeting.endswith("*4* English")
    assert "n'a pas été renouvelé" in await wa.say("deux")
    assert "Répondez HUMAIN" in await wa.say("aide")
    handoff = await wa.say("humain")
    assert "intervenant" in handoff or "personne" in handoff
    referral = await referral_for(app, wa.address)
    assert referral is not None and referral.language == "fr"
    assert (await wa.say("Arrêt")).startswith("Vous ne recevrez plus de messages")
    assert (await wa.say("REPRENDRE")).startswith("Bon retour.")


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_caseworker_reply_after_a_day_waits_for_the_person(
    app: httpx.AsyncClient, twilio: FakeTwilio, clock: Clock, language: str
) -> None:
    wa = WhatsApp(app, twilio)
    await wa.say("hello" if language == "en" else "bonjour")
    await wa.say("HUMAN" if language == "en" else "humain")
    clock.offset += timedelta(hours=26)
    try:
        conversations = app.app.state.conversations  # type: ignore[attr-defined]
        async with conversations._sessions() as s:
            conversation = await s.scalar(
                select(Conversation)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Contact.matches("whatsapp", wa.address))
            )
            assert conversation is not None
            before = len(twilio.contents(wa.address))
            await send_reply(
                s, conversations.delivery_hooks, conversation, "Caseworker here: can we talk?"
            )
        assert await wa.replies_after(before) == [f"template:{TEMPLATES[language]}"]
        # The person answers the template: the held reply goes first, then whatever answers
        # their message.
        before = len(twilio.contents(wa.address))
        await wa.post("yes" if language == "en" else "oui")
        assert (await wa.replies_after(before))[0] == "Caseworker here: can we talk?"
    finally:
        clock.offset = timedelta(0)
