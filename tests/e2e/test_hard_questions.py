"""Issue 10, items 3 and 6, end to end (web chat -> app -> real trained Rasa -> real action
server -> content pack): the hard questions get their honest answers in both languages, and a
message in a language the assistant does not speak gets the bilingual reply and a person."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import knowledge
from bot.i18n import t
from bot.store.models import Contact, Conversation, Referral
from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.e2e

PERSON = {
    "en": {"title": "Talk to a person", "payload": "/human_handoff"},
    "fr": {"title": "Parler à une personne", "payload": "/human_handoff"},
}


@pytest.mark.parametrize(
    ("language", "message", "topic"),
    [
        # The messages of the issue, which used to get a wrong or frightening answer.
        ("en", "will they detain me when i go to the cbsa office", "detention_fear"),
        ("fr", "vont-ils m'arreter a l'ASFC", "detention_fear"),
        ("en", "i have a removal date next week", "removal_imminent"),
        ("fr", "je suis expulse vendredi je fais quoi", "removal_imminent"),
        ("fr", "jai une date de renvoi la semaine prochaine", "removal_imminent"),
        ("en", "when will someone answer me", "response_time"),
        ("fr", "quand est-ce qu'une personne va me repondre", "response_time"),
        ("en", "what happens if I don't show up", "missed_removal"),
        ("fr", "qu'est-ce qui arrive si je ne me presente pas", "missed_removal"),
    ],
)
async def test_hard_questions_get_their_honest_answer(
    chat: Chat, language: str, message: str, topic: str
) -> None:
    await chat.say("hello" if language == "en" else "bonjour")
    replies = await chat.say(message)
    pack = knowledge.load_pack()
    assert [r["text"] for r in replies] == pack.replies(topic, language)
    assert replies[-1]["buttons"] == [PERSON[language]]
    text = replies[0]["text"]
    assert "32" not in text  # never the pilot's average timeline for a close date
    assert not knowledge.opens_with_bare_yes_no(text)


async def test_another_language_gets_the_bilingual_reply_then_a_contact_request(
    chat: Chat, stack: Stack
) -> None:
    replies = await chat.say("hola buenas tardes, necesito ayuda, no hablo ingles")
    assert [r["text"] for r in replies] == [t("unsupported_language", "en")]
    button = replies[0]["buttons"][0]
    assert button["payload"] == "/human_handoff"
    handoff = await chat.text(button["payload"])  # the person presses "Talk to a person"
    assert handoff.startswith("OK. I have passed your request to the program's caseworkers.")
    sessions = stack.client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        referral = await s.scalar(
            select(Referral)
            .join(Conversation, Conversation.id == Referral.conversation_id)
            .join(Contact, Contact.id == Conversation.contact_id)
            .where(Contact.matches("web", chat.address))
        )
    assert referral is not None and referral.kind == "contact_request"


async def test_a_chinese_message_in_a_french_conversation_keeps_french(chat: Chat) -> None:
    await chat.say("bonjour")
    replies = await chat.say("你好，我需要帮助")
    assert replies[0]["text"] == t("unsupported_language", "fr")
    assert (await chat.text("c quoi le programme")).startswith("Le programme pilote d'ARVR")
