"""Rasa stopped in the middle of a conversation: nothing is lost, the answer comes later.

Runs last among the end-to-end tests (it restarts the shared Rasa server)."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import Chat, Stack
from tests.helpers import wait_for, web_poll

pytestmark = pytest.mark.e2e


async def test_message_sent_while_rasa_is_down_is_answered_when_it_returns(
    stack: Stack, chat: Chat
) -> None:
    assert (await chat.text("bonjour")).startswith("Bonjour!")
    stack.services.stop("rasa")

    replies = await chat.say("qui gère le programme")
    assert [r["text"] for r in replies] == [
        "Merci, nous avons bien reçu votre message. L'assistant est momentanément "
        "indisponible et vous répondra sous peu."
    ]
    assert (await stack.client.get("/healthz")).status_code == 503

    stack.services.start_rasa()  # same tracker store: the conversation continues
    await asyncio.to_thread(stack.services.wait_ready)

    async def answer() -> str:
        response = await web_poll(stack.client, chat.user, replies[-1]["id"])
        return " ".join(r["text"] for r in response.json()["replies"])

    text = await wait_for(answer, timeout=30)
    assert "l'ASFC déterminait l'admissibilité" in text
    assert (await stack.client.get("/healthz")).status_code == 200
    # The conversation goes on in French after the outage.
    assert (await chat.text("merci")).startswith("Avec plaisir.")
