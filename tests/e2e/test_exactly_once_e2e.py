"""Exactly once into Rasa, against the real Rasa 3.6 server: the app's message id travels in the
metadata, Rasa keeps it on the user event of its tracker, and ``replies_in_tracker`` gives back
the replies Rasa gave to that message (what a retry after a crash uses instead of sending the
message again)."""

from __future__ import annotations

import uuid

import pytest

from bot.engine import APP_MESSAGE_ID, RasaEngine
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


async def test_the_tracker_gives_back_the_replies_to_a_message_by_its_app_id(
    stack: Stack,
) -> None:
    engine: RasaEngine = stack.client.app.state.engine  # type: ignore[attr-defined]
    sender = uuid.uuid4().hex
    assert await engine.replies_in_tracker(sender, "1") is None  # a conversation Rasa never saw
    first = await engine.send(sender, "bonjour", {"language": "fr", APP_MESSAGE_ID: "1"})
    second = await engine.send(sender, "/program_what", {"language": "fr", APP_MESSAGE_ID: "2"})
    assert first and second
    assert await engine.replies_in_tracker(sender, "1") == first
    assert await engine.replies_in_tracker(sender, "2") == second
    assert await engine.replies_in_tracker(sender, "3") is None  # never sent: send it
