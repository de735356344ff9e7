"""End-to-end conversations through the web chat API against the real trained Rasa and the
real action server (rasa 3.6.21 + rasa-sdk 3.21 in two Python environments)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.store.models import Contact, Conversation, ConversationStatus, Referral
from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.e2e


async def test_english_conversation(chat: Chat) -> None:
    greeting = await chat.say("hello")
    assert greeting[0]["text"].startswith("Hello! I'm an automated assistant.")
    titles = [b["title"] for b in greeting[0]["buttons"]]
    assert titles == ["What is the program?", "Is it still open?", "Talk to a person", "Français"]
    answer = await chat.text("what is this program about")
    assert "Canada Border Services Agency (CBSA)" in answer
    assert "It ran from 2012 to 2015." in answer
    assert (await chat.text("thank you")).startswith("You're welcome.")
    assert (await chat.text("bye")).startswith("Goodbye.")


async def test_french_conversation(chat: Chat) -> None:
    greeting = await chat.say("bonjour")
    assert greeting[0]["text"].startswith("Bonjour! Je suis un assistant automatisé.")
    assert greeting[0]["buttons"][-1] == {
        "title": "English",
        "payload": '/choose_language{"language":"en"}',
    }
    answer = await chat.text("c quoi ce programme")
    assert "Agence des services frontaliers du Canada (ASFC)" in answer
    # "merci" is short: the conversation stays in French.
    assert (await chat.text("merci")).startswith("Avec plaisir.")


async def test_language_switch_by_word_button_and_menu(chat: Chat) -> None:
    assert (await chat.text("hi")).startswith("Hello!")
    assert await chat.text("Français") == "D'accord, je vais vous répondre en français."
    assert (await chat.text("ok")).startswith("D'accord.")  # sticky: still French
    menu = await chat.say("/language")
    assert menu[0]["text"] == "Which language do you prefer? / Quelle langue préférez-vous?"
    english = next(b for b in menu[0]["buttons"] if b["title"] == "English")
    assert await chat.text(english["payload"]) == "OK, I will reply in English."
    assert (await chat.text("where was it available")).startswith(
        "The program was available only in and around the Greater Toronto Area."
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("is the program still open? can i apply now", "was not renewed"),
        ("who runs it, is it CBSA or IOM", "IOM, as the service provider"),
        ("is it only in toronto", "only in and around the Greater Toronto Area"),
        ("am i eligible if my claim was refused", "CBSA set and checked the criteria"),
        ("wat do ppl get from the program", "up to CAN$2,000"),
        ("is the money given in cash", "(now closed) was not paid in cash"),
        ("le programme est encore ouvert?", "n'a pas été renouvelé"),
        ("qui gère le programme", "L'OIM, à titre de fournisseur de services"),
        ("c'est seulement à toronto?", "uniquement dans la région du Grand Toronto"),
        ("qui peut participer au programme", "C'est l'ASFC qui fixait et vérifiait les critères"),
        ("qu'est-ce qu'on reçoit si on part", "jusqu'à 2 000 $CAN"),
        ("on reçoit l'argent en main?", "n'était pas versée en argent comptant"),
    ],
)
async def test_program_questions(chat: Chat, question: str, expected: str) -> None:
    assert expected in await chat.text(question)


async def test_fallback_offers_topics_and_a_person(chat: Chat) -> None:
    await chat.say("hello")
    replies = await chat.say("qwerty uiop")
    assert replies[0]["text"].startswith("Sorry,")
    assert replies[0]["buttons"][-1] == {"title": "Talk to a person", "payload": "/human_handoff"}
    french = Chat(chat.client, chat.user + "-fr")
    await french.say("bonjour")
    replies = await french.say("qwerty uiop")
    assert replies[0]["text"].startswith("Désolé,")
    assert replies[0]["buttons"][-1]["title"] == "Parler à une personne"


async def test_talk_to_a_person_runs_the_custom_action(chat: Chat, stack: Stack) -> None:
    """A custom action round trip: Rasa calls the action server, which writes to the app's store."""
    answer = await chat.text("i want to talk to a real person")
    assert answer.startswith("OK. I have passed your request to the program's caseworkers.")
    sessions = stack.client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        conversation = await s.scalar(
            select(Conversation).join(Contact).where(Contact.matches("web", chat.address))
        )
        assert conversation is not None
        assert conversation.status == ConversationStatus.HANDOFF_REQUESTED
        assert conversation.handoff_requested_at is not None
        referral = await s.scalar(
            select(Referral).where(Referral.conversation_id == conversation.id)
        )
    assert referral is not None
    assert (referral.kind, referral.status, referral.language) == ("contact_request", "open", "en")
