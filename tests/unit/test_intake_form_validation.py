"""validate_intake_form itself (the rasa_sdk action), without Rasa: any text for any question
gets a reply or moves the form on, never an exception. Uses a real SQLite store for the saves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from actions import intake
from actions import store as action_store
from bot import crisis, referrals
from bot.intake import progress
from bot.store import migrate
from bot.store.db import sync_url
from bot.store.models import Contact, Conversation, Referral

DOMAIN: dict[str, Any] = {"responses": {"utter_program_status": [{"text": "closed"}]}}


@pytest.fixture(scope="module")
def conversation_id(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('form') / 'intake.db'}"
    migrate.upgrade(url)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DATABASE_URL", url)
    action_store.store.cache_clear()
    engine = create_engine(sync_url(url))
    with Session(engine) as s:
        contact = Contact(channel="web", address="unit")
        s.add(contact)
        s.flush()
        conversation = Conversation(contact_id=contact.id, channel="web")
        s.add(conversation)
        s.commit()
        progress.record_consent(s, conversation.id, True, "test", "en")
        yield conversation.id
    monkeypatch.undo()
    action_store.store.cache_clear()
    engine.dispose()


def tracker(conversation_id: str, slot: str, text: str, intent: str = "nlu_fallback",
            confidence: float = 0.5, language: str = "en") -> Tracker:  # fmt: skip
    slots = {"language": language, "requested_slot": slot, slot: text,
             "intake_citizenship": {"citizenship": "HU"}}  # fmt: skip
    message = {"text": text, "intent": {"name": intent, "confidence": confidence},
               "metadata": {"channel": "web", "language": language}}  # fmt: skip
    return Tracker(conversation_id, slots, message, [], False, None, {"name": "intake_form"},
                   "action_listen")  # fmt: skip


def validate(conversation_id: str, slot: str, text: str, **kwargs: Any) -> tuple[dict, list]:
    dispatcher = CollectingDispatcher()
    result = asyncio.run(
        intake.ValidateIntakeForm().validate_answer(
            slot, text, dispatcher, tracker(conversation_id, slot, text, **kwargs), DOMAIN
        )
    )
    return result, dispatcher.messages


def test_a_valid_answer_is_normalised_and_saved(conversation_id: str) -> None:
    result, messages = validate(conversation_id, "intake_citizenship", "hongroise")
    assert result == {"intake_citizenship": {"citizenship": "HU"}, "intake_reask": None}
    assert messages == []
    with Session(action_store.store()) as s:
        saved = progress.get(s, conversation_id)
        assert saved is not None and saved.answers["citizenship"] == "HU"


def test_an_unclear_answer_is_asked_again_then_kept_as_written(conversation_id: str) -> None:
    result, _ = validate(conversation_id, "intake_citizenship", "blorp")
    assert result == {"intake_citizenship": None, "intake_reask": "intake_citizenship"}
    dispatcher = CollectingDispatcher()
    second = tracker(conversation_id, "intake_citizenship", "blorp")
    second.slots["intake_reask"] = "intake_citizenship"
    result = asyncio.run(intake.ValidateIntakeForm().validate_answer(
        "intake_citizenship", "blorp", dispatcher, second, DOMAIN))  # fmt: skip
    assert result["intake_citizenship"] == {"citizenship": "unknown",
                                            "citizenship_as_written": "blorp"}  # fmt: skip


def test_a_question_mid_form_is_answered_and_the_question_stays(conversation_id: str) -> None:
    result, messages = validate(conversation_id, "intake_citizenship", "is it still open?",
                                intent="program_status", confidence=0.95)  # fmt: skip
    assert result == {"intake_citizenship": None}
    # Program topics are answered from the content pack, in the person's language.
    assert messages[0]["text"].startswith("The pilot ran from June 29, 2012 to March 31, 2015")
    result, messages = validate(
        conversation_id, "intake_citizenship", "c'est encore ouvert?",
        intent="program_status", confidence=0.95, language="fr",
    )  # fmt: skip
    assert result == {"intake_citizenship": None}
    assert "n'a pas été renouvelé" in messages[0]["text"]


def test_a_less_certain_question_counts_only_when_it_is_not_an_answer(
    conversation_id: str,
) -> None:
    # Not a country: a topic at 0.7 is taken as the question it is.
    result, messages = validate(
        conversation_id, "intake_citizenship", "attendez, le programme est encore ouvert?",
        intent="program_status", confidence=0.7, language="fr",
    )  # fmt: skip
    assert result == {"intake_citizenship": None}
    assert "n'a pas été renouvelé" in messages[0]["text"]
    # A valid answer at the same confidence stays an answer.
    result, _ = validate(conversation_id, "intake_citizenship", "Hongrie?",
                         intent="program_status", confidence=0.7, language="fr")  # fmt: skip
    assert result["intake_citizenship"]["citizenship"] == "HU"


def test_later_pauses_the_form(conversation_id: str) -> None:
    result, _ = validate(conversation_id, "intake_party", "plus tard", language="fr")
    assert result == {"intake_party": None, "intake_stage": "paused"}


def test_correction_clears_only_that_answer(conversation_id: str) -> None:
    result, messages = validate(conversation_id, "intake_confirm", "corriger le pays",
                                language="fr")  # fmt: skip
    assert result == {"intake_confirm": None, "intake_citizenship": None, "intake_reask": None}
    assert messages[0]["text"] == "D'accord, corrigeons cela."


SLOTS = [f.slot for f in intake.FIELDS if f.slot not in ("intake_consent",)]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(slot=st.sampled_from(SLOTS), text=st.text(max_size=200),
       language=st.sampled_from(["en", "fr"]))  # fmt: skip
def test_no_text_crashes_the_form_validation(
    conversation_id: str, slot: str, text: str, language: str
) -> None:
    result, messages = validate(conversation_id, slot, text, language=language)
    assert slot in result
    for message in messages:
        assert message.get("text") or message.get("response")


def test_ask_actions_exist_for_every_question() -> None:
    for field in intake.FIELDS:
        action = getattr(intake, f"ActionAsk_{field.slot}")()
        assert action.name() == f"action_ask_{field.slot}"


def test_session_start_without_progress_is_rasa_default(tmp_path: Path) -> None:
    dispatcher = CollectingDispatcher()
    t = Tracker("no-such-conversation", {"language": "fr", "requested_slot": "x"}, {}, [],
                False, None, {}, "action_listen")  # fmt: skip
    events = asyncio.run(intake.ActionSessionStart().run(dispatcher, t, {}))
    assert events[0]["event"] == "session_started"
    assert {"event": "slot", "name": "language", "value": "fr"}.items() <= events[1].items()
    assert events[-1]["name"] == "action_listen" and dispatcher.messages == []


def _asked(slot: str, language: str, channel: str, slots: dict[str, Any]) -> list[dict]:
    dispatcher = CollectingDispatcher()
    message = {"text": "x", "metadata": {"channel": channel}}
    t = Tracker("c", {"language": language, **slots}, message, [], False, None, {}, "x")
    intake.ask(slot, t, dispatcher)
    return dispatcher.messages


FILLED = {
    "intake_first_name": {"first_name": "Ana"},
    "intake_location": {"area": "gta", "city": "Brampton"},
    "intake_citizenship": {"citizenship": "HU"},
    "intake_health": {"health_needs": "yes", "health_details": "wheelchair"},
    "intake_criminality": {"criminality": "yes"},
}


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize("channel", ["sms", "web", "telegram"])
def test_every_question_fits_in_three_sms(language: str, channel: str) -> None:
    from bot.sms import cost

    for field in intake.FIELDS:
        for again in (None, field.slot):
            messages = _asked(field.slot, language, channel, {**FILLED, "intake_reask": again})
            assert messages
            for message in messages:
                if channel == "sms":
                    assert cost(message["text"]).segments <= 3, (field.slot, message["text"])


@pytest.mark.parametrize("language", ["en", "fr"])
def test_sms_summary_echoes_no_answer(language: str) -> None:
    sms = " ".join(m["text"] for m in _asked("intake_confirm", language, "sms", FILLED))
    for private in ("Ana", "Brampton", "wheelchair", "Hungary", "Hongrie"):
        assert private not in sms
    web = " ".join(m["text"] for m in _asked("intake_confirm", language, "web", FILLED))
    assert "Ana" in web and "wheelchair" in web


def test_phone_is_asked_only_on_telegram() -> None:
    domain_slots = [f.slot for f in intake.FIELDS]
    form = intake.ValidateIntakeForm()
    for channel, expected in (("telegram", True), ("sms", False), ("web", False)):
        t = Tracker("c", {}, {"metadata": {"channel": channel}}, [], False, None, {}, "x")
        slots = asyncio.run(form.required_slots(domain_slots, CollectingDispatcher(), t, {}))
        assert ("intake_phone" in slots) is expected
    paused = Tracker("c", {"intake_stage": "paused"}, {}, [], False, None, {}, "x")
    assert asyncio.run(form.required_slots(domain_slots, CollectingDispatcher(), paused, {})) == []


def test_danger_mid_form_gets_urgent_help_and_stops_the_questions(conversation_id: str) -> None:
    for text, language, intent, confidence in (
        ("i want to end my life", "en", "nlu_fallback", 0.3),  # the patterns
        ("je veux mettre fin a mes jours", "fr", "nlu_fallback", 0.3),
        ("everything is grey and heavy", "en", "urgent_help", 0.62),  # the classifier alone
    ):
        result, messages = validate(conversation_id, "intake_party", text, language=language,
                                    intent=intent, confidence=confidence)  # fmt: skip
        assert result == {"intake_party": None, "intake_stage": "crisis"}
        assert len(messages) == 1 and "911" in messages[0]["text"]
        assert crisis.load().replies(None, language)[-1] in messages[0]["text"]
    # The conversation is flagged and on top of the queue: an urgent contact request.
    with Session(action_store.store()) as s:
        referral = s.scalar(select(Referral).where(Referral.conversation_id == conversation_id))
        assert referral is not None and "crisis" in referral.flags and referral.priority >= 20
        assert referrals.raised_flags(s, conversation_id) == {"crisis"}


def test_a_low_confidence_urgent_help_guess_on_a_real_answer_is_an_answer(
    conversation_id: str,
) -> None:
    result, messages = validate(conversation_id, "intake_citizenship", "hongroise",
                                intent="urgent_help", confidence=0.3)  # fmt: skip
    assert result == {"intake_citizenship": {"citizenship": "HU"}, "intake_reask": None}
    assert messages == []
