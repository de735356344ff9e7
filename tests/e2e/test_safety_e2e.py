"""The safety layer end to end, through the web chat, against the real trained Rasa and action
server, in English and French: a crisis stops the intake form and never starts one, the
classifier alone is enough, and every flag reaches the referral a caseworker sees first."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from actions.intake_texts import text as form_text
from bot import crisis, safety
from bot.store.db import sync_url
from bot.store.intake import IntakeProgress
from bot.store.models import Contact, Conversation, Referral
from bot.store.safety import ConversationFlag
from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.e2e


def referral_of(stack: Stack, user: str) -> tuple[Referral | None, set[str], dict[str, Any]]:
    """The person's referral, their conversation's raised flags, their saved intake answers."""
    engine = create_engine(sync_url(stack.settings.database_url))
    try:
        with Session(engine) as s:
            conversation = s.scalar(
                select(Conversation)
                .join(Contact, Contact.id == Conversation.contact_id)
                .where(Contact.matches("web", user))
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
