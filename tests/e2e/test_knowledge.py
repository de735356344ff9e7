"""Program knowledge end to end: web chat API -> app -> real trained Rasa -> real action server
-> content pack. Every topic, in each language, gets its pack answer in that language."""

from __future__ import annotations

import pytest
import yaml

from bot import crisis, knowledge
from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import Chat

pytestmark = pytest.mark.e2e

PERSON = {
    "en": {"title": "Talk to a person", "payload": "/human_handoff"},
    "fr": {"title": "Parler à une personne", "payload": "/human_handoff"},
}


def _samples(language: str) -> dict[str, list[str]]:
    """Two questions per topic, taken from the training data (the held-out set measures how
    well unseen wording is understood: `intake evaluate`); here we test the whole route."""
    samples: dict[str, list[str]] = {}
    for path in sorted((PROJECT_ROOT / "nlu" / "data").glob(f"nlu_*{language}.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            lines = [ln.strip()[2:] for ln in block["examples"].splitlines() if ln.strip()]
            samples.setdefault(block["intent"], []).extend(lines[:2])
    return samples


@pytest.mark.parametrize(("language", "hello"), [("en", "hello"), ("fr", "bonjour")])
async def test_every_topic_answered_in_the_right_language(
    chat: Chat, language: str, hello: str
) -> None:
    pack = knowledge.load_pack()
    samples = _samples(language)
    await chat.say(hello)
    wrong = []
    for topic_id in pack.topics:
        if topic_id in ("urgent_help",):
            continue  # its own test below
        for question in samples[topic_id][:2]:
            replies = await chat.say(question)
            expected = pack.replies(topic_id, language)
            if [r["text"] for r in replies] != expected:
                wrong.append((topic_id, question, [r["text"][:60] for r in replies]))
            elif pack.topics[topic_id].offer_caseworker:
                assert replies[-1]["buttons"] == [PERSON[language]], topic_id
    assert wrong == []


@pytest.mark.parametrize(
    ("hello", "gibberish", "start"),
    [
        ("hello", "zxq vbnm plork", "Sorry, I didn't understand."),
        ("bonjour", "asdfgh", "Désolé,"),
    ],
)
async def test_gibberish_gets_the_not_understood_reply(
    chat: Chat, hello: str, gibberish: str, start: str
) -> None:
    await chat.say(hello)
    replies = await chat.say(gibberish)
    assert replies[0]["text"].startswith(start)
    language = "en" if hello == "hello" else "fr"
    assert replies[0]["buttons"] == [PERSON[language]]  # no topic guessed from noise


@pytest.mark.parametrize(
    ("hello", "question", "language"),
    [
        ("hello", "how do i make a refugee claim", "en"),
        ("hello", "where can i work", "en"),
        ("bonjour", "comment je fais pour demander l'asile", "fr"),
    ],
)
async def test_out_of_scope_says_what_it_can_do_and_offers_a_person(
    chat: Chat, hello: str, question: str, language: str
) -> None:
    await chat.say(hello)
    replies = await chat.say(question)
    pack = knowledge.load_pack()
    assert replies[0]["text"] == pack.topics["out_of_scope"].answer[language]
    assert replies[-1]["buttons"] == [PERSON[language]]


@pytest.mark.parametrize(
    ("hello", "message", "language"),
    [
        ("hello", "please help my boyfriend is hitting me", "en"),
        ("bonjour", "aidez moi je suis en danger", "fr"),
        # DIET used to misread this one; the action's safety net catches it whatever the model says.
        ("bonjour", "je veux mettre fin a mes jours", "fr"),
        ("hello", "i want to end my life", "en"),
    ],
)
async def test_danger_points_to_911_and_a_person_without_any_pitch(
    chat: Chat, hello: str, message: str, language: str
) -> None:
    await chat.say(hello)
    replies = await chat.say(message)
    text = " ".join(r["text"] for r in replies)
    assert "911" in text
    # A person is not only offered: the conversation is already on top of the caseworker queue.
    assert crisis.load().caseworker[language] in text
    for pitch in ("program", "programme", "2,000", "2 000", "ticket", "billet"):
        assert pitch not in text
