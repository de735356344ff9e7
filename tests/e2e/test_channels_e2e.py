"""Full conversations on SMS and Telegram, in English and French, against the real trained Rasa
and action server: signed Twilio webhooks and Telegram updates in, the real twilio and
python-telegram-bot clients out to fake provider APIs on loopback."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from twilio.request_validator import RequestValidator

from bot.runtime.services import Services
from bot.settings import Settings
from bot.sms import cost
from bot.store.db import sync_url
from bot.store.models import Contact, Conversation, Referral
from tests.fakes import (
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakeTelegram,
    FakeTwilio,
    tg_callback,
    tg_message,
)
from tests.helpers import running_app, wait_for

pytestmark = pytest.mark.e2e

PUBLIC = "https://intake.example.org"
SECRET = "e2e-secret"


@dataclass
class Fakes:
    twilio: FakeTwilio
    telegram: FakeTelegram


@pytest.fixture(scope="module")
def fakes() -> Iterator[Fakes]:
    twilio, telegram = FakeTwilio(), FakeTelegram()
    twilio.start()
    telegram.start()
    yield Fakes(twilio, telegram)
    twilio.stop()
    telegram.stop()


@pytest.fixture(scope="module")
async def app(
    stack_settings: Settings, services: Services, fakes: Fakes
) -> AsyncIterator[httpx.AsyncClient]:
    # Same database as the action server writes referrals to; channels switched on.
    settings = replace(
        stack_settings,
        public_base_url=PUBLIC,
        twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN,
        twilio_from_number="+14165550000",
        twilio_api_base_url=fakes.twilio.url,
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=SECRET,
        telegram_api_base_url=fakes.telegram.base_url,
        outbox_poll_seconds=0.1,
    )
    async with running_app(settings) as client:
        yield client


class Sms:
    def __init__(self, client: httpx.AsyncClient, twilio: FakeTwilio) -> None:
        self.client, self.twilio = client, twilio
        self.number = "+1647" + str(uuid.uuid4().int)[:7]

    async def say(self, body: str) -> str:
        """Send one SMS; return the text of the reply (its parts joined)."""
        before = len(self.twilio.bodies(self.number))
        params = {"MessageSid": "SM" + uuid.uuid4().hex, "From": self.number, "Body": body}
        path = "/channels/sms/inbound"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", params)
        response = await self.client.post(
            path, data=params, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200

        async def replied() -> list[str]:
            await self.client.app.state.channels.pipeline.drain()  # type: ignore[attr-defined]
            await self.client.app.state.channels.outbox.run_once()  # type: ignore[attr-defined]
            bodies = self.twilio.bodies(self.number)
            return bodies[before:] if len(bodies) > before else []

        parts = await wait_for(replied, timeout=60)
        for part in parts:
            c = cost(part)
            print(f"SMS {c.encoding} {c.segments} segment(s): {part!r}")
            assert c.segments <= 3
        return "\n".join(parts)


class Tg:
    def __init__(self, client: httpx.AsyncClient, telegram: FakeTelegram, lang: str) -> None:
        self.client, self.telegram, self.lang = client, telegram, lang
        self.chat = random.randint(10_000_000, 99_999_999)

    async def send(self, update: dict) -> list[dict]:
        before = len([m for m in self.telegram.sent if int(m["chat_id"]) == self.chat])
        response = await self.client.post(
            "/channels/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status_code == 200

        async def replied() -> list[dict]:
            await self.client.app.state.channels.pipeline.drain()  # type: ignore[attr-defined]
            await self.client.app.state.channels.outbox.run_once()  # type: ignore[attr-defined]
            sent = [m for m in self.telegram.sent if int(m["chat_id"]) == self.chat]
            return sent[before:] if len(sent) > before else []

        return await wait_for(replied, timeout=60)

    async def say(self, text: str) -> list[dict]:
        return await self.send(tg_message(self.chat, text, language_code=self.lang))

    async def press(self, data: str) -> list[dict]:
        return await self.send(tg_callback(self.chat, data, language_code=self.lang))


async def referral_for(client: httpx.AsyncClient, channel: str, address: str) -> Referral | None:
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        return await s.scalar(
            select(Referral)
            .join(Contact, Contact.id == Referral.contact_id)
            .where(Contact.matches(channel, address))
        )


async def test_sms_conversation_in_english(app: httpx.AsyncClient, fakes: Fakes) -> None:
    sms = Sms(app, fakes.twilio)
    greeting = await sms.say("hello")
    assert greeting.startswith("Hello! I'm an automated assistant.")
    assert greeting.endswith(
        "Reply 1 for What is the program?, 2 for Is it still open?, 3 for Talk to a person, "
        "4 for Francais."  # SMS: transliterated to GSM-7
    )
    assert "Canada Border Services Agency (CBSA)" in await sms.say("1")
    assert "was not renewed" in await sms.say("is it still open")
    help_text = await sms.say("HELP")
    assert "Reply HUMAN" in help_text and "STOP" in help_text
    handoff = await sms.say("HUMAN")
    assert handoff.startswith("OK. I have passed your request to the program's caseworkers.")
    referral = await referral_for(app, "sms", sms.number)
    assert referral is not None and (referral.channel, referral.language) == ("sms", "en")
    assert (await sms.say("STOP")).startswith("You will get no more messages")
    assert (await sms.say("START")).startswith("Welcome back.")


async def test_sms_conversation_in_french(app: httpx.AsyncClient, fakes: Fakes) -> None:
    sms = Sms(app, fakes.twilio)
    greeting = await sms.say("bonjour")
    assert greeting.startswith("Bonjour! Je suis un assistant automatisé.")
    assert "Répondez 1 pour" in greeting and greeting.endswith("pour English.")
    assert "n'a pas été renouvelé" in await sms.say("deux")
    assert "Répondez HUMAIN" in await sms.say("aide")
    handoff = await sms.say("humain")
    assert "intervenant" in handoff or "personne" in handoff
    referral = await referral_for(app, "sms", sms.number)
    assert referral is not None and referral.language == "fr"
    assert (await sms.say("Arrêt")).startswith("Vous ne recevrez plus de messages")
    assert (await sms.say("REPRENDRE")).startswith("Bon retour.")


async def test_telegram_conversation_in_english(app: httpx.AsyncClient, fakes: Fakes) -> None:
    tg = Tg(app, fakes.telegram, "en")
    [greeting] = await tg.say("/start")
    assert greeting["text"].startswith("Hello! I'm an automated assistant.")
    keyboard = greeting["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard][-1] == "Français"
    [answer] = await tg.press(keyboard[0][0]["callback_data"])
    assert "Canada Border Services Agency (CBSA)" in answer["text"]
    [help_text] = await tg.say("/help")
    assert "Reply HUMAN" in help_text["text"]
    [switched] = await tg.press('/choose_language{"language":"fr"}')
    assert switched["text"] == "D'accord, je vais vous répondre en français."


async def test_telegram_conversation_in_french_then_delete_my_data(
    app: httpx.AsyncClient, fakes: Fakes, stack_settings: Settings
) -> None:
    tg = Tg(app, fakes.telegram, "fr")
    [greeting] = await tg.say("/start")
    assert greeting["text"].startswith("Bonjour! Je suis un assistant automatisé.")
    answer = await tg.say("qui gère le programme")
    assert "L'OIM, à titre de fournisseur de services" in answer[0]["text"]
    [photo] = await tg.send(
        tg_message(
            tg.chat, None, photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
        )
    )
    assert photo["text"].startswith("Désolé, je peux seulement lire du texte.")
    [ask] = await tg.say("/delete")
    assert ask["text"].startswith("Effacer tous vos messages")
    sessions = app.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        contact = await s.scalar(select(Contact).where(Contact.matches("telegram", str(tg.chat))))
        assert contact is not None
        conversation_id = await s.scalar(
            select(Conversation.id).where(Conversation.contact_id == contact.id)
        )
    tracker = create_engine(sync_url(stack_settings.rasa_tracker_db_url))

    def events() -> int:
        with tracker.connect() as conn:
            return conn.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": conversation_id}
            ).scalar_one()

    assert events() > 0
    response = await app.post(
        "/channels/telegram/webhook",
        json=tg_callback(tg.chat, "/delete_confirm", "fr"),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == 200
    await app.app.state.channels.pipeline.drain()  # type: ignore[attr-defined]
    async with sessions() as s:
        assert await s.get(Contact, contact.id) is None
        assert await s.get(Conversation, conversation_id) is None
    assert events() == 0
    tracker.dispose()
    # The receipt, in French, with its reference (README "Privacy" / "Erasure").
    receipt = fakes.telegram.texts(tg.chat)[-1]
    assert receipt.startswith("Vos messages et réponses ont été effacés.")
    assert re.search(r"Référence du reçu : ER-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}\.", receipt)


CRISIS_BY_LANGUAGE = {
    "en": {"start": "i want to go home", "consent": "Before we start", "yes": "yes",
           "crisis": "i cant do this anymore im going to kill myself",
           "guidance": "I'm sorry you are going through this.", "next_question": "Greater Toronto",
           "violence": "my boyfriend is hitting me right now", "help": "Reply HUMAN"},
    "fr": {"start": "je veux rentrer chez moi", "consent": "Avant de commencer", "yes": "oui",
           "crisis": "chu pu capable, jvais me tuer",
           "guidance": "Je suis désolé que vous viviez cela.", "next_question": "Grand Toronto",
           "violence": "mon chum me frappe en ce moment", "help": "Répondez HUMAIN"},
}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_sms_crisis_mid_intake(app: httpx.AsyncClient, fakes: Fakes, language: str) -> None:
    words = CRISIS_BY_LANGUAGE[language]
    sms = Sms(app, fakes.twilio)
    assert words["consent"] in await sms.say(words["start"])
    await sms.say(words["yes"])
    guidance = await sms.say(words["crisis"])
    assert guidance.startswith(words["guidance"]) and "911" in guidance
    referral = await referral_for(app, "sms", sms.number)
    assert referral is not None and referral.flags == ["crisis"] and referral.priority >= 20
    # The form is stopped: a name is not taken as the answer to the first question.
    after = await sms.say("Maria")
    assert words["next_question"] not in after


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_telegram_crisis_then_help_still_works(
    app: httpx.AsyncClient, fakes: Fakes, language: str
) -> None:
    words = CRISIS_BY_LANGUAGE[language]
    tg = Tg(app, fakes.telegram, language)
    await tg.say("/start")
    [guidance] = await tg.say(words["violence"])
    assert guidance["text"].startswith(words["guidance"])
    referral = await referral_for(app, "telegram", str(tg.chat))
    assert referral is not None and referral.flags == ["crisis"]
    [help_text] = await tg.say("/help")
    assert words["help"] in help_text["text"]


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", {"start": "i want to go home", "yes": "yes", "name": "Ana", "pause": "nevermind",
             "skip": "wait no i just meant cancel the question", "restart": "start over",
             "paused": "OK, we can stop here.", "skipped": "OK, let's skip that question.",
             "restarted": "OK, let's start over.", "location": "Do you live in the Greater",
             "status": "Which best describes", "name_q": "What first name"}),
     ("fr", {"start": "je veux rentrer chez moi", "yes": "oui", "name": "Marie",
             "pause": "laisse faire", "skip": "non je voulais juste passer la question",
             "restart": "recommencer", "paused": "D'accord, on arrête ici.",
             "skipped": "D'accord, on passe cette question.",
             "restarted": "D'accord, on recommence.", "location": "Habitez-vous dans la région",
             "status": "Qu'est-ce qui décrit le mieux", "name_q": "Quel prénom"})],
)  # fmt: skip
async def test_telegram_intake_control_words(
    app: httpx.AsyncClient, fakes: Fakes, lang: str, words: dict[str, str]
) -> None:
    """Inside the intake on Telegram: pause (Continue / Start over buttons), continue, skip only
    the question, start over; the same behaviour in both languages (docs/intake.md)."""
    tg = Tg(app, fakes.telegram, lang)
    await tg.say("/start")
    await tg.say(words["start"])
    await tg.say(words["yes"])
    await tg.say(words["name"])
    paused = await tg.say(words["pause"])
    assert paused[-1]["text"].startswith(words["paused"])
    keyboard = paused[-1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == ["/intake_continue", "/intake_restart"]
    resumed = " ".join(m["text"] for m in await tg.press("/intake_continue"))
    assert words["location"] in resumed  # where they left off
    skipped = " ".join(m["text"] for m in await tg.say(words["skip"]))
    assert words["skipped"] in skipped and words["status"] in skipped
    restarted = " ".join(m["text"] for m in await tg.say(words["restart"]))
    assert words["restarted"] in restarted and words["name_q"] in restarted


@pytest.mark.parametrize(
    ("language", "start", "consent"),
    [("en", "i want to go home", "Before we start"), ("fr", "je veux rentrer chez moi",
                                                      "Avant de commencer")],
)  # fmt: skip
async def test_telegram_intake_starts_with_the_consent_statement(
    app: httpx.AsyncClient, fakes: Fakes, language: str, start: str, consent: str
) -> None:
    # A first message that starts the intake on Telegram got "Please answer yes or no." instead
    # of the consent statement (the form's reset slots were validated as empty answers).
    tg = Tg(app, fakes.telegram, language)
    replies = await tg.say(start)
    texts = [m["text"] for m in replies]
    assert texts[0].startswith(consent)
    assert not any(t.startswith(("Please answer yes or no", "Veuillez répondre")) for t in texts)
