"""Reading the replies Rasa gave to one message back from its tracker (exactly once into Rasa)."""

from __future__ import annotations

import pytest

from bot.engine import (
    APP_MESSAGE_ID,
    TURN_SETTLED_SECONDS,
    AnswerInProgress,
    Button,
    Reply,
    replies_after,
)


def user(app_id: str | None, at: float = 100.0) -> dict:
    metadata = {"language": "en", APP_MESSAGE_ID: app_id} if app_id else {"language": "en"}
    return {"event": "user", "text": "hi", "metadata": metadata, "timestamp": at}


def bot(text: str, buttons: list[dict] | None = None, at: float = 101.0) -> dict:
    return {"event": "bot", "text": text, "data": {"buttons": buttons}, "timestamp": at}


LISTEN = {"event": "action", "name": "action_listen", "timestamp": 102.0}


def test_the_replies_of_the_message_with_that_id_and_no_other() -> None:
    events = [
        {"event": "session_started", "timestamp": 1.0},
        user("7"),
        bot("first"),
        LISTEN,
        user("8"),
        {"event": "action", "name": "utter_menu", "timestamp": 103.0},
        bot("pick", [{"title": "A person", "payload": "/human_handoff"}]),
        {"event": "slot", "name": "language", "value": "en"},
        LISTEN,
    ]
    assert replies_after(events, "7") == [Reply("first")]
    assert replies_after(events, "8") == [Reply("pick", (Button("A person", "/human_handoff"),))]
    assert replies_after(events, "9") is None
    assert replies_after([], "7") is None
    assert replies_after([user(None), bot("x"), LISTEN], "7") is None


def test_a_turn_ended_by_the_next_message_is_complete() -> None:
    assert replies_after([user("7"), bot("a"), user("8")], "7") == [Reply("a")]


def test_a_turn_without_action_listen_is_in_progress_until_it_is_old() -> None:
    events = [user("7", at=1000.0), bot("a", at=1001.0)]
    with pytest.raises(AnswerInProgress):
        replies_after(events, "7", now=1002.0)
    late = 1001.0 + TURN_SETTLED_SECONDS + 1
    assert replies_after(events, "7", now=late) == [Reply("a")]
