"""The custom actions that read the content pack, run with rasa_sdk's real Tracker and dispatcher
(the end-to-end tests run them through a real Rasa)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from actions import knowledge as kaction
from actions import store as action_store
from actions.actions import ActionClarify
from bot import crisis, knowledge
from bot.store import migrate
from bot.store.db import sync_url
from bot.store.models import Contact, Conversation, Referral


@pytest.fixture
def store_with_c1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app's store (SQLite) with conversation "c1", the sender id of ``_tracker``."""
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    migrate.upgrade(url)
    engine = create_engine(sync_url(url))
    with Session(engine) as s:
        contact = Contact(channel="web", address="unit")
        s.add(contact)
        s.flush()
        s.add(Conversation(id="c1", contact_id=contact.id, channel="web"))
        s.commit()
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    action_store.store.cache_clear()
    yield url
    action_store.store.cache_clear()


def _tracker(
    intent: str,
    language: str,
    ranking: list[tuple[str, float]] = (),
    text: str = "...",
    confidence: float = 0.9,
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }
    return Tracker("c1", {"language": language}, latest, [], False, None, {}, "action_listen")


def _run(action, tracker: Tracker) -> list[dict]:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker, {}))
    return dispatcher.messages


def test_answer_in_the_slot_language_with_caseworker_button() -> None:
    pack = knowledge.load_pack()
    fr = _run(kaction.ActionAnswerTopic(), _tracker("arc", "fr"))
    assert fr[0]["text"] == pack.topics["arc"].answer["fr"]
    assert fr[0]["buttons"] == [{"title": "Parler à une personne", "payload": "/human_handoff"}]
    en = _run(kaction.ActionAnswerTopic(), _tracker("program_where", "en"))
    assert en[0]["text"] == pack.topics["program_where"].answer["en"]
    assert en[0]["buttons"] == []  # this topic offers no caseworker


def test_status_notice_follows_topics_that_ask_for_it() -> None:
    pack = knowledge.load_pack()
    messages = _run(kaction.ActionAnswerTopic(), _tracker("how_to_apply", "en"))
    assert [m["text"] for m in messages] == pack.replies("how_to_apply", "en")
    assert messages[-1]["text"] == pack.status.notice["en"]
    assert messages[0]["buttons"] == [] and messages[-1]["buttons"]


def test_unknown_topic_says_so_and_offers_a_person() -> None:
    messages = _run(kaction.ActionAnswerTopic(), _tracker("no_such_topic", "fr"))
    assert messages[0]["text"].startswith("Désolé, je n'ai pas encore de réponse")
    assert messages[0]["buttons"][0]["payload"] == "/human_handoff"


def test_operator_edit_is_live_and_a_broken_edit_keeps_the_last_good_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack_file = tmp_path / "program.yml"
    shutil.copy(knowledge.PACK_PATH, pack_file)
    monkeypatch.setattr(knowledge, "PACK_PATH", pack_file)
    before = _run(kaction.ActionAnswerTopic(), _tracker("costs", "en"))[0]["text"]
    text = pack_file.read_text(encoding="utf-8").replace(before, "Edited by the operator.")
    pack_file.write_text(text, encoding="utf-8")
    os.utime(pack_file, ns=(1, 10**18))  # a new mtime even on coarse clocks
    assert _run(kaction.ActionAnswerTopic(), _tracker("costs", "en"))[0]["text"] == (
        "Edited by the operator."
    )
    pack_file.write_text("topics: [not, a, mapping", encoding="utf-8")
    os.utime(pack_file, ns=(1, 2 * 10**18))
    assert _run(kaction.ActionAnswerTopic(), _tracker("costs", "en"))[0]["text"] == (
        "Edited by the operator."
    )


def test_clarify_offers_likeliest_topics_but_never_out_of_scope() -> None:
    ranking = [("nlu_fallback", 0.7), ("amount", 0.4), ("out_of_scope", 0.3), ("costs", 0.2)]
    messages = _run(ActionClarify(), _tracker("nlu_fallback", "fr", ranking))
    titles = [b["title"] for b in messages[0]["buttons"]]
    assert titles == ["Quel montant?", "Dois-je payer?", "Parler à une personne"]


def test_clarify_on_gibberish_guesses_nothing() -> None:
    ranking = [("nonsense", 0.9), ("amount", 0.06)]
    messages = _run(ActionClarify(), _tracker("nonsense", "en", ranking))
    assert messages[0]["text"].startswith("Sorry, I didn't understand.")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/human_handoff"]


@pytest.mark.parametrize(
    ("text", "guessed", "language"),
    [
        ("je veux mettre fin à mes jours", "departure_order", "fr"),
        ("i want to end my life", "nlu_fallback", "en"),
        ("my husband hits me every night", "family", "en"),
        ("Il me FRAPPE", "nonsense", "fr"),
    ],
)
def test_safety_net_answers_urgent_messages_whatever_the_model_guessed(
    text: str, guessed: str, language: str, store_with_c1: str
) -> None:
    action = ActionClarify() if guessed in ("nlu_fallback", "nonsense") else None
    tracker = _tracker(guessed, language, [(guessed, 0.6)], text=text)
    messages = _run(action or kaction.ActionAnswerTopic(), tracker)
    assert len(messages) == 1 and "911" in messages[0]["text"]
    assert messages[0]["text"].startswith(crisis.load().emergency[language])
    # The same urgent referral as when the app's own safety layer answers.
    engine = create_engine(sync_url(store_with_c1))
    with Session(engine) as s:
        referral = s.scalar(select(Referral).where(Referral.conversation_id == "c1"))
        assert referral is not None and "crisis" in referral.flags and referral.priority >= 20
    engine.dispose()


def test_the_classifier_alone_is_enough(store_with_c1: str) -> None:
    # Words no pattern knows, that the intent classifier recognised as urgent_help.
    tracker = _tracker("urgent_help", "en", [("urgent_help", 0.7)], text="it is all too dark")
    messages = _run(kaction.ActionAnswerTopic(), tracker)
    assert len(messages) == 1 and messages[0]["text"].startswith(crisis.load().emergency["en"])


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_classifier_alone_under_its_bar_gets_the_gentle_check_and_no_referral(
    language: str, store_with_c1: str
) -> None:
    under = kaction.CLASSIFIER_ONLY_BAR - 0.01
    tracker = _tracker("urgent_help", language, text="this wait is killing me", confidence=under)
    messages = _run(kaction.ActionAnswerTopic(), tracker)
    assert [m["text"] for m in messages] == [crisis.load().text("check", language)]
    assert "911" in messages[0]["text"]
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/human_handoff"]
    engine = create_engine(sync_url(store_with_c1))
    with Session(engine) as s:
        assert s.scalars(select(Referral)).all() == []
    engine.dispose()


def test_a_pattern_hit_gets_the_whole_answer_whatever_the_confidence(store_with_c1: str) -> None:
    tracker = _tracker("urgent_help", "en", text="i want to kill myself", confidence=0.31)
    messages = _run(kaction.ActionAnswerTopic(), tracker)
    assert messages[0]["text"].startswith(crisis.load().emergency["en"])


def test_safety_net_leaves_fear_of_return_to_its_own_answer() -> None:
    pack = knowledge.load_pack()
    tracker = _tracker("fear_of_return", "en", text="they will kill me if i go back home")
    messages = _run(kaction.ActionAnswerTopic(), tracker)
    assert messages[0]["text"] == pack.topics["fear_of_return"].answer["en"]
