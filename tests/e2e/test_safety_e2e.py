"""The safety layer end to end, through the web chat, against the real trained Rasa and action
server, in English and French: a crisis stops the intake form and never starts one, the
classifier alone is enough, and every flag reaches the referral a caseworker sees first."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from actions.intake_texts import text as form_text
from bot import crisis, safety
from bot.engine import api_params
from bot.store.db import sync_url
from bot.store.intake import IntakeProgress
from bot.store.models import Contact, Conversation, Referral
from bot.store.safety import ConversationFlag
from tests.e2e.conftest import Chat, Stack
from tests.helpers import web_address_or_name

pytestmark = pytest.mark.e2e


def referral_of(stack: Stack, user: str) -> tuple[Referral | None, set[str], dict[str, Any]]:
    """The person's referral, their conversation's raised flags, their saved intake answers."""
    engine = create_engine(sync_url(stack.settings.database_url))
    try:
        with Session(engine) as s:
            conversation = s.scalar(
                select(Conversation)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Contact.matches("web", web_address_or_name(user)))
            )
            assert conversation is not None
            referral = s.scalar(
                select(Referral).where(Referral.contact_id == conversation.contact_id)
            )
            flags = set(
                s.scalars(
                    select(ConversationFlag.flag).where(
                        ConversationFlag.conversation_id == conversation.id
                    )
                )
            )
            saved = s.scalar(
                select(IntakeProgress).where(IntakeProgress.conversation_id == conversation.id)
            )
            if referral is not None:
                s.expunge(referral)
            return referral, flags, dict(saved.answers or {}) if saved else {}
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("start", "consent", "crisis_text", "language"),
    [
        ("i want to go home", "yes", "i wanna kms", "en"),
        ("je veux rentrer chez moi", "oui", "jveux mourir", "fr"),
    ],
)
async def test_a_crisis_in_the_middle_of_the_intake_stops_it(
    chat: Chat, stack: Stack, start: str, consent: str, crisis_text: str, language: str
) -> None:
    assert form_text("consent_ask", language) in await chat.text(start)
    assert form_text("ask_first_name", language) in await chat.text(consent)
    guidance = await chat.text(crisis_text)
    assert guidance.startswith(crisis.load().emergency[language]) and "911" in guidance
    assert form_text("ask_first_name", language) not in guidance  # no question after it
    # The form is over: the next message is not taken as the first name, no question follows.
    after = await chat.text("Maria")
    assert form_text("ask_location", language) not in after
    assert form_text("ask_first_name", language) not in after
    referral, flags, answers = referral_of(stack, chat.user)
    assert flags == {"crisis"} and "first_name" not in answers
    assert referral is not None and referral.flags == ["crisis"] and referral.priority >= 20
    # A later "talk to a person" keeps the crisis flag on the referral.
    await chat.text("human" if language == "en" else "humain")
    referral, _, _ = referral_of(stack, chat.user)
    assert referral is not None and "crisis" in referral.flags


@pytest.mark.parametrize(
    ("first", "language"),
    [("honestly theres no point living anymore", "en"), ("ca sert a rien de vivre", "fr")],
)
async def test_a_crisis_as_the_first_message_never_starts_the_intake(
    chat: Chat, stack: Stack, first: str, language: str
) -> None:
    guidance = await chat.text(first)
    assert guidance.startswith(crisis.load().emergency[language])
    assert form_text("consent_ask", language) not in guidance
    referral, flags, _ = referral_of(stack, chat.user)
    assert flags == {"crisis"} and referral is not None and referral.priority >= 20


async def test_the_classifier_alone_catches_what_the_patterns_miss(
    chat: Chat, stack: Stack
) -> None:
    # Words the reviewed patterns do not know (tests/unit/test_safety.py keeps it so), that the
    # intent classifier recognises as urgent_help: the actions give the same answer and flag.
    message = "aidez moi vite svp c grave"
    assert safety.crisis_match(message) is None
    await chat.text("bonjour")
    guidance = await chat.text(message)
    assert guidance.startswith(crisis.load().emergency["fr"])
    referral, flags, _ = referral_of(stack, chat.user)
    assert flags == {"crisis"} and referral is not None and "crisis" in referral.flags


@pytest.mark.parametrize(
    ("message", "flag", "human"),
    [
        ("i have a removal date next week", "urgent_date", "talk to a person"),
        ("je suis expulse vendredi je fais quoi", "urgent_date", "humain"),
        ("will they detain me when i go to the cbsa office", "detention_fear", "HUMAN"),
    ],
)
async def test_a_close_date_or_detention_fear_makes_the_contact_request_urgent(
    chat: Chat, stack: Stack, message: str, flag: str, human: str
) -> None:
    answer = await chat.text(message)
    assert answer and not answer.startswith(crisis.load().emergency["en"])
    for opening in ("Yes.", "No.", "Oui.", "Non."):
        assert not answer.startswith(opening)
    await chat.text(human)
    referral, flags, _ = referral_of(stack, chat.user)
    assert flags == {flag}
    assert referral is not None and referral.flags == [flag] and referral.priority >= 10


async def parse(stack: Stack, text: str) -> tuple[str, float]:
    """The trained model's top intent and confidence for ``text`` (Rasa's /model/parse)."""
    async with httpx.AsyncClient(base_url=stack.settings.rasa_url, timeout=30.0) as rasa:
        response = await rasa.post(
            "/model/parse", params=api_params(stack.settings.rasa_auth_token), json={"text": text}
        )
    response.raise_for_status()
    intent = response.json()["intent"]
    return intent["name"], float(intent["confidence"])


# Messages with no pattern that this model takes for urgent_help with low confidence (measured
# with scripts/safety_bar.py's parser when written); the test picks the first one under the bar
# and fails if none is left, so it never passes without exercising the check.
UNDER_THE_BAR = {
    "en": ["i'm in trouble", "urgent please", "my heart hurts"],
    "fr": ["je me sens perdue", "je suis morte"],
}


@pytest.mark.parametrize(("no", "language"), [("no", "en"), ("non", "fr")])
async def test_the_classifier_alone_under_its_bar_asks_are_you_safe_and_no_is_a_crisis(
    chat: Chat, stack: Stack, no: str, language: str
) -> None:
    under = []
    for message in UNDER_THE_BAR[language]:
        intent, confidence = await parse(stack, message)
        assert safety.crisis_match(message) is None
        if intent == "urgent_help" and confidence < safety.CLASSIFIER_ONLY_BAR:
            under.append(message)
    assert under, "no message left under the bar: pick new ones with scripts/safety_bar.py"
    if language == "fr":
        await chat.text("francais")
    check = await chat.text(under[0])
    assert check == crisis.load().text("check", language)
    referral, flags, _ = referral_of(stack, chat.user)
    assert referral is None and flags == set()  # a check raises nothing
    guidance = await chat.text(no)
    assert guidance.startswith(crisis.load().emergency[language])
    referral, flags, _ = referral_of(stack, chat.user)
    assert flags == {"crisis"} and referral is not None and referral.priority >= 20


async def test_yes_to_the_check_goes_back_to_the_conversation(chat: Chat, stack: Stack) -> None:
    for message in UNDER_THE_BAR["en"]:
        intent, confidence = await parse(stack, message)
        if intent == "urgent_help" and confidence < safety.CLASSIFIER_ONLY_BAR:
            break
    else:
        pytest.fail("no message left under the bar: pick new ones with scripts/safety_bar.py")
    assert await chat.text(message) == crisis.load().text("check", "en")
    assert await chat.text("yes i'm safe") == crisis.load().text("safe", "en")
    answer = await chat.text("what documents do i need to travel")
    assert answer and not answer.startswith(crisis.load().emergency["en"])
    referral, flags, _ = referral_of(stack, chat.user)
    assert referral is None and flags == set()


@pytest.mark.parametrize(
    ("first", "follow_ups", "language"),
    [
        ("i want to die", ["I called 911, they are coming", "ok", "thanks"], "en"),
        ("jveux mourir", ["j'ai appelé le 911", "ok merci"], "fr"),
    ],
)
async def test_after_the_crisis_answer_follow_ups_get_a_short_reply_and_no_form(
    chat: Chat, stack: Stack, first: str, follow_ups: list[str], language: str
) -> None:
    content = crisis.load()
    assert (await chat.text(first)).startswith(content.emergency[language])
    for text in follow_ups:  # the classifier takes "I called 911" for urgent_help: not asked
        assert await chat.text(text) == content.text("support", language)
    # A new crisis still gets the whole answer.
    assert (await chat.text("i took all my pills")).startswith(content.emergency["en"])
    answer = await chat.text("what documents do i need to travel")
    assert form_text("consent_ask", "en") not in answer
    referral, flags, _ = referral_of(stack, chat.user)
    assert flags == {"crisis"} and referral is not None and referral.flags == ["crisis"]


@pytest.mark.parametrize(
    "message",
    [
        "this wait is killing me, any news on my file",
        "my phone is dying, i will write again tomorrow",
        "cette attente me tue, quelqu'un a lu mon dossier",
    ],
)
async def test_look_alike_idioms_get_no_crisis_answer(chat: Chat, message: str) -> None:
    answer = await chat.text(message)
    assert not answer.startswith(tuple(crisis.load().emergency.values()))


@pytest.mark.parametrize(
    ("message", "concern"),
    [
        ("meg akarok halni", "self_harm"),
        ("муж меня бьёт", "violence"),
        ("我的孩子没有呼吸", "medical"),
    ],
)
async def test_a_crisis_in_another_language_gets_the_guidance_in_english_and_french(
    chat: Chat, stack: Stack, message: str, concern: str
) -> None:
    replies = [r["text"] for r in await chat.say(message)]
    content = crisis.load()
    assert replies == ["\n\n".join(content.replies(concern, lang)) for lang in ("en", "fr")]
    referral, flags, _ = referral_of(stack, chat.user)
    assert flags == {"crisis"} and referral is not None and referral.priority >= 20
