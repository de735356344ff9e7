"""The intake end to end, through the web chat API, against the real trained Rasa and the real
action server, in English and French.

Session expiry is simulated by moving the conversation's events two days back in Rasa's SQL
tracker store (a SQLite file in the test data directory): Rasa then starts a new session on the
next message, exactly as it would after the 60-minute expiry of core.yml.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from bot import crypto
from bot.caseworker import security
from bot.caseworker import service as caseworker_service
from bot.store.db import sync_url
from bot.store.intake import IntakeProgress
from bot.store.models import (
    Contact,
    Conversation,
    ConversationStatus,
    InboundStatus,
    Message,
    Referral,
)
from tests.e2e.conftest import Chat, Stack

pytestmark = pytest.mark.e2e

EN_ANSWERS: dict[str, str] = {
    "consent": "ya",
    "first_name": "ana",
    "location": "brampton",
    "status": "my claim was refused",
    "decision_date": "march 3",
    "citizenship": "hungray",
    "return_country": "same",
    "party": "2 kids",
    "age": "34",
    "passport": "idk",
    "health": "no",
    "safety": "no",
    "criminality": "prefer not to say",
    "prior_return": "no",
    "contact": "here, evenings",
    "notes": "no",
}
FR_ANSWERS: dict[str, str] = {
    "consent": "oui",
    "first_name": "marie",
    "location": "oui",
    "status": "ma demande a été refusée",
    "decision_date": "3 mars",
    "citizenship": "hongroise",
    "return_country": "le même",
    "party": "moi et mes 2 enfants",
    "age": "34 ans",
    "passport": "jsp",
    "health": "non",
    "safety": "non",
    "criminality": "je préfère ne pas le dire",
    "prior_return": "non",
    "contact": "ici, le soir",
    "notes": "non",
}
START = {"en": "i want to go home", "fr": "je veux rentrer chez moi"}
QUESTION_START = {  # how each question begins, to know which one the assistant asked
    "en": {
        "first_name": "Thank you. What first name",
        "location": "Do you live in the Greater Toronto Area",
        "status": "Which best describes your immigration situation?",
        "citizenship": "What is your country of citizenship?",
        "party": "Who would travel with you?",
        "age": "How old are you?",
        "passport": "Do you have a valid passport",
        "confirm": 'Reply "send"',
        "paused": "OK, we can stop here. I saved your answers.",
        "skipped": "OK, let's skip that question.",
        "restarted": "OK, let's start over.",
    },
    "fr": {
        "first_name": "Merci. Quel prénom",
        "location": "Habitez-vous dans la région du Grand Toronto",
        "status": "Qu'est-ce qui décrit le mieux votre situation",
        "citizenship": "De quel pays avez-vous la citoyenneté?",
        "party": "Qui voyagerait avec vous?",
        "age": "Quel âge avez-vous?",
        "passport": "Avez-vous un passeport",
        "confirm": "Répondez « envoyer »",
        "paused": "D'accord, on arrête ici. J'ai gardé vos réponses.",
        "skipped": "D'accord, on passe cette question.",
        "restarted": "D'accord, on recommence.",
    },
}


@pytest.fixture
def db(stack: Stack) -> Iterator[Session]:
    engine = create_engine(sync_url(stack.settings.database_url))
    with Session(engine) as session:
        yield session
    engine.dispose()


def conversation_of(db: Session, chat: Chat) -> Conversation:
    db.expire_all()
    conversation = db.scalar(
        select(Conversation)
        .join(Contact)
        .where(Contact.matches("web", chat.address))
        .order_by(Conversation.created_at.desc())
    )
    assert conversation is not None
    return conversation


def referral_of(db: Session, chat: Chat) -> Referral | None:
    conversation = conversation_of(db, chat)
    return db.scalar(select(Referral).where(Referral.contact_id == conversation.contact_id))


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in replies)


async def answer_until(chat: Chat, answers: dict[str, str], stop: str | None = None) -> str:
    """Give the answers in order (stopping before ``stop``); returns the last replies' text."""
    last = ""
    for field, answer in answers.items():
        if field == stop:
            break
        last = texts(await chat.say(answer))
    return last


async def full_intake(chat: Chat, language: str, overrides: dict[str, str] | None = None) -> str:
    answers = {**(EN_ANSWERS if language == "en" else FR_ANSWERS), **(overrides or {})}
    await chat.say("hello" if language == "en" else "bonjour")
    consent = await chat.say(START[language])
    assert len(consent) == 4  # what and why, the closed pilot, who sees it, the question
    summary = await answer_until(chat, answers)
    assert QUESTION_START[language]["confirm"] in summary
    return summary


# -- consent ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_consent_declined_is_respected(chat: Chat, db: Session, language: str) -> None:
    await chat.say("hello" if language == "en" else "bonjour")
    consent = await chat.say(START[language])
    assert "CBSA" in texts(consent) or "ASFC" in texts(consent)
    assert [b["title"] for b in consent[-1]["buttons"]] == (
        ["Yes", "No"] if language == "en" else ["Oui", "Non"]
    )
    declined = texts(await chat.say("no" if language == "en" else "non merci"))
    assert declined.startswith("OK, I won't ask" if language == "en" else "D'accord, je ne")
    # They can still ask questions.
    question = (
        "is the program still open" if language == "en" else "le programme est encore ouvert?"
    )
    answer = texts(await chat.say(question))
    assert ("not renewed" if language == "en" else "n'a pas été renouvelé") in answer
    conversation = conversation_of(db, chat)
    saved = db.scalar(
        select(IntakeProgress).where(IntakeProgress.conversation_id == conversation.id)
    )
    assert saved is not None and saved.consent_given is False and saved.answers == {}
    assert saved.consent_at is not None and saved.consent_version
    assert referral_of(db, chat) is None


# -- a complete intake with messy answers, and each screening outcome -------------------


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_complete_intake_with_messy_answers(chat: Chat, db: Session, language: str) -> None:
    summary = await full_intake(chat, language)
    if language == "en":
        for line in ("Name: Ana", "Lives in the GTA: yes (Brampton)", "Citizenship: Hungary",
                     "Return to: Hungary", "Travelling: 1 adult(s), 2 child(ren)",
                     "Passport: don't know", "Decision date: march 3", "Age: 34"):  # fmt: skip
            assert line in summary
    else:
        for line in ("Prénom: Marie", "Citoyenneté: Hongrie", "Situation: Demande refusée",
                     "Voyageurs: 1 adulte(s), 2 enfant(s)", "Âge: 34"):  # fmt: skip
            assert line in summary
    done = texts(await chat.say("send" if language == "en" else "envoyer"))
    assert (
        "Your situation looks like" if language == "en" else "Votre situation ressemble"
    ) in done
    assert (
        "will reply here as soon as possible" if language == "en" else "dès que possible"
    ) in done
    referral = referral_of(db, chat)
    assert referral is not None
    assert (referral.kind, referral.status, referral.language, referral.channel) == (
        "intake", "open", language, "web",
    )  # fmt: skip
    assert referral.screening_outcome == "likely_eligible"
    assert [r["rule_id"] for r in referral.screening_reasons] == ["failed_claim_in_gta"]
    assert referral.screening_reasons[0]["fr"] and referral.screening_reasons[0]["en"]
    assert "children_travelling" in referral.flags and referral.priority >= 1
    intake = referral.intake
    assert intake["citizenship"] == intake["return_country"] == "HU"
    assert (intake["adults"], intake["children"]) == (1, 2)
    assert intake["passport"] == "unknown" and intake["immigration_status"] == "refused"
    assert intake["decision_date"].endswith("-03-03")
    assert referral.conversation_id == conversation_of(db, chat).id
    saved = db.scalar(
        select(IntakeProgress).where(IntakeProgress.conversation_id == referral.conversation_id)
    )
    assert saved is not None
    assert (saved.status, saved.consent_given, saved.referral_id) == (
        "submitted",
        True,
        referral.id,
    )


@pytest.mark.parametrize(
    ("language", "overrides", "outcome", "rule", "says"),
    [
        ("en", {"status": "appeal pending"}, "needs_review", "appeal_or_review_pending",
         "need a caseworker to look"),
        ("fr", {"location": "non"}, "likely_not_eligible", "lives_outside_gta",
         "ne correspond peut-être pas"),
        ("en", {"location": "no", "criminality": "yes"}, "likely_not_eligible",
         "lives_outside_gta", "may not fit your situation"),
    ],
)  # fmt: skip
async def test_screening_outcomes(
    chat: Chat, db: Session, language: str, overrides: dict, outcome: str, rule: str, says: str
) -> None:
    await full_intake(chat, language, overrides)
    done = texts(await chat.say("send" if language == "en" else "envoyer"))
    assert says in done
    for word in ("refused", "not eligible", "refusé", "inadmissible"):
        assert word not in done.lower()  # never told they are refused
    referral = referral_of(db, chat)
    assert referral is not None and referral.screening_outcome == outcome
    assert referral.screening_reasons[0]["rule_id"] == rule
    if "criminality" in overrides:  # reviewed, never a refusal on its own
        assert {"rule_id": "criminality_mentioned"}.items() <= next(
            r for r in referral.screening_reasons if r["rule_id"] == "criminality_mentioned"
        ).items()


async def test_second_submission_updates_the_open_referral(chat: Chat, db: Session) -> None:
    await full_intake(chat, "en")
    await chat.say("send")
    first = referral_of(db, chat)
    assert first is not None
    again = await chat.say("i want to go home")
    assert texts(again).startswith("You already sent your answers")
    restart = next(b for b in again[0]["buttons"] if b["title"] == "Start over")
    assert QUESTION_START["en"]["first_name"] in texts(await chat.say(restart["payload"]))
    await answer_until(chat, {k: v for k, v in EN_ANSWERS.items() if k != "consent"} | {
        "status": "appeal pending"})  # fmt: skip
    await chat.say("send")
    db.expire_all()
    rows = db.scalars(select(Referral).where(Referral.contact_id == first.contact_id)).all()
    assert len(rows) == 1 and rows[0].id == first.id
    assert rows[0].screening_outcome == "needs_review"


# -- correction, interruptions, coming back ----------------------------------------------


@pytest.mark.parametrize(
    ("language", "change", "new_country", "shown"),
    [("en", "change my country", "Mexique", "Citizenship: Mexico"),
     ("fr", "corriger le pays", "mexicain", "Citoyenneté: Mexique")],
)  # fmt: skip
async def test_correction_at_the_summary(
    chat: Chat, db: Session, language: str, change: str, new_country: str, shown: str
) -> None:
    await full_intake(chat, language)
    asked = texts(await chat.say(change))
    assert QUESTION_START[language]["citizenship"] in asked
    summary = texts(await chat.say(new_country))
    assert shown in summary and QUESTION_START[language]["confirm"] in summary
    await chat.say("send" if language == "en" else "envoyer")
    referral = referral_of(db, chat)
    assert referral is not None and referral.intake["citizenship"] == "MX"
    assert referral.intake["first_name"] in ("Ana", "Marie")  # nothing else was asked again


@pytest.mark.parametrize(
    ("language", "question", "answer_part"),
    [("en", "wait, is the program still open?", "not renewed"),
     ("fr", "attendez, le programme est encore ouvert?", "n'a pas été renouvelé")],
)  # fmt: skip
async def test_question_in_the_middle_of_the_form(
    chat: Chat, language: str, question: str, answer_part: str
) -> None:
    answers = EN_ANSWERS if language == "en" else FR_ANSWERS
    await chat.say("hello" if language == "en" else "bonjour")
    await chat.say(START[language])
    asked = await answer_until(chat, answers, stop="citizenship")
    assert QUESTION_START[language]["citizenship"] in asked
    replies = texts(await chat.say(question))
    assert answer_part in replies
    assert QUESTION_START[language]["citizenship"] in replies  # the form resumes
    after = texts(await chat.say(answers["citizenship"]))
    assert ("Which country do you want to return to?" if language == "en"
            else "Dans quel pays voulez-vous retourner?") in after  # fmt: skip


async def test_unclear_answer_is_asked_again_once_with_an_example(chat: Chat) -> None:
    await chat.say("hello")
    await chat.say(START["en"])
    await answer_until(chat, EN_ANSWERS, stop="citizenship")
    again = texts(await chat.say("blorp"))
    assert again.startswith("Sorry, I didn't understand that answer.")
    assert 'for example "Hungary"' in again
    # A second unclear answer is kept as written for the caseworker, and the form moves on.
    moved_on = texts(await chat.say("blorp again"))
    assert "Which country do you want to return to?" in moved_on


def _age_tracker(stack: Stack, conversation_id: str, seconds: float) -> int:
    """Move a conversation's events back in time in Rasa's SQL tracker store (its event data
    is encrypted with the app's keys: bot/rasa_plugins/encrypted_tracker_store.py)."""
    keyring = crypto.current()
    engine = create_engine(stack.settings.rasa_tracker_db_url)
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT id, timestamp, data FROM events WHERE sender_id = :s"),
            {"s": conversation_id},
        ).all()
        for row_id, timestamp, data in rows:
            event = json.loads(keyring.decrypt(data))
            event["timestamp"] = float(event.get("timestamp") or timestamp) - seconds
            conn.execute(
                text("UPDATE events SET timestamp = :t, data = :d WHERE id = :i"),
                {
                    "t": float(timestamp) - seconds,
                    "d": keyring.encrypt(json.dumps(event)),
                    "i": row_id,
                },
            )
    engine.dispose()
    return len(rows)


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_resume_after_the_session_expired(
    chat: Chat, db: Session, stack: Stack, language: str
) -> None:
    answers = EN_ANSWERS if language == "en" else FR_ANSWERS
    await chat.say("hello" if language == "en" else "bonjour")
    await chat.say(START[language])
    asked = await answer_until(chat, answers, stop="status")
    assert QUESTION_START[language]["status"] in asked
    conversation = conversation_of(db, chat)
    saved = db.scalar(
        select(IntakeProgress).where(IntakeProgress.conversation_id == conversation.id)
    )
    assert saved is not None and saved.answers["area"] == "gta"  # kept in the app's store
    assert _age_tracker(stack, conversation.id, 2 * 24 * 3600) > 0
    back = await chat.say("hello" if language == "en" else "bonjour")
    offer = next(
        r for r in back if r["buttons"] and r["buttons"][0]["payload"] == "/intake_continue"
    )
    assert offer["text"].startswith("Welcome back" if language == "en" else "Bon retour")
    resumed = texts(await chat.say("/intake_continue"))
    assert QUESTION_START[language]["status"] in resumed  # where they left off
    await answer_until(chat, {k: v for k, v in answers.items() if k not in (
        "consent", "first_name", "location")})  # fmt: skip
    await chat.say("send" if language == "en" else "envoyer")
    referral = referral_of(db, chat)
    assert referral is not None and referral.intake["area"] == "gta"
    assert referral.intake["first_name"] in ("Ana", "Marie")


# -- a person ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "ask"),
    [("en", "i want to talk to a person"), ("fr", "je veux parler à quelqu'un")],
)
async def test_talk_to_a_person_in_the_middle_of_intake(
    chat: Chat, db: Session, language: str, ask: str
) -> None:
    answers = EN_ANSWERS if language == "en" else FR_ANSWERS
    await chat.say("hello" if language == "en" else "bonjour")
    await chat.say(START[language])
    await answer_until(chat, answers, stop="status")
    replies = texts(await chat.say(ask))
    assert ("A caseworker will reply here as soon as possible" if language == "en"
            else "Un intervenant vous répondra ici dès que possible") in replies  # fmt: skip
    assert QUESTION_START[language]["status"] in replies  # they may keep answering
    conversation = conversation_of(db, chat)
    assert conversation.status == ConversationStatus.HANDOFF_REQUESTED
    referral = referral_of(db, chat)
    assert referral is not None
    assert (referral.kind, referral.language) == ("contact_request", language)
    assert referral.intake["area"] == "gta" and referral.intake["first_name"] in ("Ana", "Marie")


async def test_assistant_silent_while_a_caseworker_owns_the_conversation(
    chat: Chat, db: Session, stack: Stack
) -> None:
    """Take-over and hand-back through the caseworker queue's own service (what its buttons do)."""
    await chat.say("hello")
    await chat.say("i want to talk to a person")
    conversation = conversation_of(db, chat)
    referral = referral_of(db, chat)
    assert referral is not None
    sessions = stack.client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        user = await security.create_user(s, "cw-intake", "a long enough password", "caseworker")
        await caseworker_service.take_over(s, user, await s.get(Referral, referral.id))
        await s.commit()
    assert await chat.say("hello? is anyone there") == []  # for the caseworker, not the bot
    waiting = db.scalar(
        select(Message).where(Message.conversation_id == conversation.id).order_by(
            Message.id.desc()).limit(1)
    )  # fmt: skip
    assert waiting is not None and waiting.status == InboundStatus.RECEIVED
    async with sessions() as s:
        await caseworker_service.hand_back(s, user, await s.get(Referral, referral.id))
        await s.commit()
    db.refresh(waiting)
    assert waiting.status == InboundStatus.HANDLED  # never answered late by the assistant
    answer = texts(await chat.say("what is this program about"))
    assert "Canada Border Services Agency (CBSA)" in answer  # the assistant answers again


# -- issue 10: the age, status and place as people write them; control words ---------------


async def start_and_answer_until(chat: Chat, language: str, stop: str) -> str:
    answers = EN_ANSWERS if language == "en" else FR_ANSWERS
    await chat.say("hello" if language == "en" else "bonjour")
    await chat.say(START[language])
    return await answer_until(chat, answers, stop=stop)


@pytest.mark.parametrize(
    ("language", "party", "age"),
    [("en", ["just me, im 16"], None), ("fr", ["juste moi jai 16 ans"], None),
     ("en", ["just me"], "16"), ("fr", ["seule"], "16 ans")],
)  # fmt: skip
async def test_a_minor_alone_is_recognised_and_flagged(
    chat: Chat, db: Session, language: str, party: list[str], age: str | None
) -> None:
    asked = await start_and_answer_until(chat, language, stop="party")
    assert QUESTION_START[language]["party"] in asked
    for answer in party:
        replies = texts(await chat.say(answer))
        assert QUESTION_START[language]["party"] not in replies  # never the same question again
    if age is None:  # the age was in the party answer: not asked again
        assert QUESTION_START[language]["passport"] in replies
    else:  # a lone traveller who gave no age is asked for it, once
        assert QUESTION_START[language]["age"] in replies
        assert QUESTION_START[language]["passport"] in texts(await chat.say(age))
    answers = EN_ANSWERS if language == "en" else FR_ANSWERS
    rest = list(answers)[list(answers).index("passport") :]
    summary = await answer_until(chat, {k: answers[k] for k in rest})
    assert ("Age: 16" if language == "en" else "Âge: 16") in summary
    await chat.say("send it" if language == "en" else "ok envoie")
    referral = referral_of(db, chat)
    assert referral is not None and referral.kind == "intake"
    assert (referral.intake["age"], referral.intake["minor_alone"]) == (16, True)
    assert (referral.intake["adults"], referral.intake["children"]) == (0, 1)
    assert "unaccompanied_minor" in referral.flags
    assert referral.screening_outcome == "needs_review"


@pytest.mark.parametrize(
    ("language", "overrides", "expected", "outcome"),
    [
        ("fr", {"status": "ma demande a ete refusee ... pis mon appel aussi"},
         {"immigration_status": "refused"}, "likely_eligible"),
        ("en", {"status": "got rejected by irb in august, no appeal"},
         {"immigration_status": "refused"}, "likely_eligible"),
        ("en", {"status": "i appealed and waiting"}, {"immigration_status": "appeal_pending"},
         "needs_review"),
        ("fr", {"location": "non, je suis a Montreal"}, {"area": "outside", "city": "Montréal"},
         "likely_not_eligible"),
        ("en", {"location": "im in ottawa"}, {"area": "outside", "city": "Ottawa"},
         "likely_not_eligible"),
        ("fr", {"return_country": "la meme chose", "criminality": "prefere pas dire"},
         {"return_country": "HU", "criminality": "prefer_not_to_say"}, "likely_eligible"),
        ("en", {"return_country": "same as before", "safety": "rather not say"},
         {"return_country": "HU", "safety_concerns": "prefer_not_to_say"}, "likely_eligible"),
    ],
)  # fmt: skip
async def test_answers_as_people_write_them(
    chat: Chat, db: Session, language: str, overrides: dict, expected: dict, outcome: str
) -> None:
    await full_intake(chat, language, overrides)
    done = texts(await chat.say("ok send" if language == "en" else "ok envoie"))
    assert ("will reply here" if language == "en" else "dès que possible") in done
    referral = referral_of(db, chat)
    assert referral is not None and referral.screening_outcome == outcome
    assert expected.items() <= referral.intake.items()


@pytest.mark.parametrize(
    ("language", "pause", "skip"),
    [("en", "nevermind", "wait no i just meant cancel the question"),
     ("en", "forget it", "i just meant skip the question"),
     ("fr", "laisse faire", "non je voulais juste passer la question"),
     ("fr", "annuler", "non je voulais juste annuler la question")],
)  # fmt: skip
async def test_pause_then_skip_only_the_question(
    chat: Chat, db: Session, language: str, pause: str, skip: str
) -> None:
    asked = await start_and_answer_until(chat, language, stop="citizenship")
    assert QUESTION_START[language]["citizenship"] in asked
    paused = await chat.say(pause)
    assert texts(paused).startswith(QUESTION_START[language]["paused"])
    assert [b["payload"] for b in paused[-1]["buttons"]] == ["/intake_continue", "/intake_restart"]
    replies = texts(await chat.say(skip))  # never silence: that question skipped, the next one
    assert QUESTION_START[language]["skipped"] in replies
    assert ("Which country do you want to return to?" if language == "en"
            else "Dans quel pays voulez-vous retourner?") in replies  # fmt: skip
    saved = db.scalar(
        select(IntakeProgress).where(IntakeProgress.conversation_id == conversation_of(db, chat).id)
    )
    assert saved is not None and saved.answers["citizenship"] == "unknown"
    assert saved.answers["area"] == "gta"  # the answers before the pause were kept


@pytest.mark.parametrize(
    ("language", "skip"),
    [("en", "wait no i just meant cancel the question"),
     ("fr", "non je voulais juste passer la question")],
)  # fmt: skip
async def test_skip_the_question_inside_the_form(chat: Chat, language: str, skip: str) -> None:
    await start_and_answer_until(chat, language, stop="passport")
    replies = texts(await chat.say(skip))
    assert QUESTION_START[language]["skipped"] in replies
    assert ("health or mobility" if language == "en" else "santé ou de mobilité") in replies


@pytest.mark.parametrize(("language", "word"), [("en", "start over"), ("fr", "recommencer")])
async def test_start_over_inside_the_form(
    chat: Chat, db: Session, language: str, word: str
) -> None:
    await start_and_answer_until(chat, language, stop="citizenship")
    replies = texts(await chat.say(word))
    assert QUESTION_START[language]["restarted"] in replies
    assert QUESTION_START[language]["first_name"] in replies  # the consent is not asked again
    saved = db.scalar(
        select(IntakeProgress).where(IntakeProgress.conversation_id == conversation_of(db, chat).id)
    )
    assert saved is not None and saved.answers == {} and saved.consent_given
