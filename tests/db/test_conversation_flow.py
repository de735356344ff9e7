"""The message path on SQLite and on the real PostgreSQL, with Rasa replaced by a fake HTTP
server (the end-to-end tests in tests/e2e use the real trained Rasa)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.i18n import t
from bot.store.models import Conversation, ConversationStatus, InboundStatus, Message
from tests.helpers import FakeRasa, wait_for, web_poll, web_post


async def send(client: httpx.AsyncClient, text: str, user: str = "u1", **extra: Any) -> dict:
    response = await web_post(client, user, text, **extra)
    assert response.status_code == 200, response.text
    return response.json()


async def count(client: httpx.AsyncClient, *where: Any) -> int:
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        return await s.scalar(select(func.count()).select_from(Message).where(*where)) or 0


async def test_message_goes_to_engine_with_language_and_reply_comes_back(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    body = await send(client, "bonjour, c'est quoi le programme")
    assert [r["text"] for r in body["replies"]] == ["fr: bonjour, c'est quoi le programme"]
    sent = fake_rasa.received[-1]
    metadata = sent["metadata"]
    # The app's own message id goes with it (exactly once into Rasa: bot/engine.py).
    assert metadata.pop("app_message_id").isdigit()
    assert metadata == {"language": "fr", "channel": "web"}
    assert len(sent["sender"]) == 32  # the opaque conversation id, not the user's id
    assert sent["sender"] != "u1"
    # Sticky: "ok" stays French.
    body = await send(client, "ok")
    assert body["replies"][0]["text"] == "fr: ok"


async def test_duplicate_delivery_is_answered_once(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    first = await send(client, "hello there", id="m-1")
    again = await send(client, "hello there", id="m-1")
    assert again["duplicate"] is True and first["duplicate"] is False
    assert again["replies"] == first["replies"]
    assert len(fake_rasa.received) == 1
    assert await count(client, Message.direction == "in") == 1


async def test_concurrent_duplicates_race_to_one_message(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    await send(client, "hello")  # the conversation and its token exist: the page retries
    results = await asyncio.gather(*(send(client, "hi all", id="same") for _ in range(8)))
    assert sum(1 for r in results if not r["duplicate"]) == 1
    assert len(fake_rasa.received) == 2
    assert await count(client, Message.direction == "in") == 2


async def test_rasa_down_keeps_the_message_and_answers_it_later(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    await send(client, "hello", user="u2")
    fake_rasa.stop()

    down = await send(client, "what is the program", user="u2")
    assert [r["text"] for r in down["replies"]] == [
        "Thanks, we got your message. The assistant is briefly unavailable and will answer "
        "you shortly."
    ]
    # A second message during the outage is kept too, without a second notice.
    again = await send(client, "and who runs it", user="u2")
    assert again["replies"] == []
    assert await count(client, Message.status == InboundStatus.PENDING) == 2
    health = await client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["engine"] == "unavailable"

    fake_rasa.start()
    last_id = down["replies"][-1]["id"]

    async def answered() -> list[str]:
        r = await web_poll(client, "u2", last_id)
        texts = [x["text"] for x in r.json()["replies"]]
        return texts if len(texts) == 2 else []

    # The retry worker answers both, in order.
    assert await wait_for(answered) == ["en: what is the program", "en: and who runs it"]
    assert await count(client, Message.status == InboundStatus.PENDING) == 0
    assert (await client.get("/healthz")).status_code == 200


async def test_french_notice_when_rasa_is_down(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    fake_rasa.stop()
    body = await send(client, "bonjour je veux rentrer chez moi", user="u3")
    assert body["replies"][0]["text"].startswith("Merci, nous avons bien reçu votre message.")
    fake_rasa.start()


async def test_conversation_taken_by_caseworker_is_not_answered_by_the_bot(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    await send(client, "hello", user="u4")
    sessions = client.app.state.conversations._sessions  # type: ignore[attr-defined]
    async with sessions() as s:
        conversation = await s.scalar(select(Conversation))
        assert conversation is not None
        conversation.status = ConversationStatus.HUMAN
        await s.commit()
    body = await send(client, "are you there", user="u4")
    assert body["replies"] == []
    assert len(fake_rasa.received) == 1
    # It stays for the caseworker, and the retry worker leaves it alone.
    await asyncio.sleep(0.5)
    assert await count(client, Message.status == InboundStatus.RECEIVED) == 1
    # The app's own keywords still work while a caseworker has the conversation.
    help_reply = await send(client, "AIDE", user="u4")
    assert help_reply["replies"][0]["text"] == t("help", "fr")
    stop = await send(client, "STOP", user="u4")
    assert stop["replies"][0]["text"] == t("opted_out", "fr")  # AIDE made it French
    assert len(fake_rasa.received) == 1
    assert await count(client, Message.status == InboundStatus.RECEIVED) == 1


async def test_long_text_emoji_and_injection_reach_rasa_safely(
    client: httpx.AsyncClient, fake_rasa: FakeRasa
) -> None:
    text = "🙏 " + "é" * 1990
    body = await send(client, text, user="u5")
    assert body["replies"][0]["text"].endswith("é")
    await send(client, '/greet{"name":"x"}', user="u5")
    assert fake_rasa.received[-1]["message"] == 'greet{"name":"x"}'


async def test_healthz_ok_with_database_and_engine(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "engine": "ok"}
