"""Bad input on every public route gets a clear answer, never a 500, on SQLite and PostgreSQL:
what can be stored is stored (NUL and lone surrogates replaced, ids bounded) and answered; what
cannot is acknowledged with a log line free of personal data (issue 13, docs/security.md)."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import DataError

from bot.store.models import Direction, Message
from tests.fakes import tg_message
from tests.helpers import rows, settle, web_poll, web_post, web_token
from tests.public_routes import (
    PREVIEW,
    WEB,
    all_routes_app,
    post_sms,
    post_telegram,
    sms_params,
)


@pytest.fixture
async def client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with all_routes_app(tmp_path, database_url) as c:
        yield c


async def inbound(client: httpx.AsyncClient, channel: str) -> list[Message]:
    return await rows(
        client, Message, Message.channel == channel, Message.direction == Direction.IN
    )


async def still_answers(client: httpx.AsyncClient) -> None:
    response = await web_post(client, "after-the-storm", "hello")
    assert response.status_code == 200
    assert response.json()["replies"][0]["text"] == "en: hello"


async def test_deeply_nested_json_is_a_clear_4xx_on_the_web_and_acknowledged_on_telegram(
    client: httpx.AsyncClient,
) -> None:
    nested = b"[" * 2000 + b"]" * 2000
    response = await client.post(WEB, content=nested, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
    response = await client.post(PREVIEW, content=nested)
    assert response.status_code == 422 and response.json()["error"] == "invalid_preview"
    # Telegram would only resend a 4xx: acknowledged, and nothing stored.
    assert (await post_telegram(client, nested)).status_code == 200
    assert await inbound(client, "telegram") == []
    await still_answers(client)


async def test_lone_surrogates_and_nul_are_replaced_stored_and_answered(
    client: httpx.AsyncClient,
) -> None:
    body = b'{"text": "hi \\ud800 there \\u0000 end"}'
    response = await client.post(WEB, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["replies"][0]["text"] == "en: hi \ufffd there \ufffd end"
    [stored] = await inbound(client, "web")
    assert stored.text == "hi \ufffd there \ufffd end"

    chat_id = random.randint(10_000_000, 99_999_999)
    update = tg_message(chat_id, "PLACEHOLDER")
    raw = json.dumps(update).replace("PLACEHOLDER", "bonjour \\ud800 \\u0000!").encode()
    assert (await post_telegram(client, raw)).status_code == 200
    await settle(client)
    [stored] = await inbound(client, "telegram")
    assert stored.text == "bonjour \ufffd \ufffd!"
    assert client.fakes.telegram.texts(chat_id)  # type: ignore[attr-defined]


async def test_nul_in_sms_body_sender_and_sid_is_stored_replaced(
    client: httpx.AsyncClient,
) -> None:
    params = sms_params("help\x00me", "+1416555\x000101", "SM\x00" + "a" * 30)
    response = await post_sms(client, params)
    assert response.status_code == 200 and "<Response" in response.text
    await settle(client)
    [stored] = await inbound(client, "sms")
    assert stored.text == "help\ufffdme"
    assert stored.channel_message_id == "SM\ufffd" + "a" * 30
    # A redelivery of the same poison message is recognised as the duplicate it is.
    assert (await post_sms(client, params)).status_code == 200
    assert len(await inbound(client, "sms")) == 1


async def test_huge_telegram_ids_are_acknowledged_and_ignored(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    huge = int("9" * 200)
    caplog.set_level(logging.INFO)
    for update in (tg_message(huge, "hello"), tg_message(12345678, "hello", update_id=huge)):
        response = await post_telegram(client, json.dumps(update).encode())
        assert response.status_code == 200
    assert await inbound(client, "telegram") == []
    assert "reason=id_out_of_range" in caplog.text
    assert "9" * 20 not in caplog.text
    await still_answers(client)


async def test_a_message_the_database_refuses_is_acknowledged_with_a_log_line_free_of_pii(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the database refuses (here: a DataError like PostgreSQL's for a value it cannot
    hold), Twilio and Telegram get their 200, so they do not redeliver it for ever."""
    service = client.app.state.conversations  # type: ignore[attr-defined]

    async def refuse(_msg: object) -> None:
        raise DataError("INSERT ...", {}, Exception("invalid byte sequence"))

    monkeypatch.setattr(service, "accept", refuse)
    caplog.set_level(logging.INFO)
    response = await post_sms(client, sms_params("my secret text", "+14165550199", "SM" + "b" * 32))
    assert response.status_code == 200
    update = tg_message(23456789, "another secret text")
    assert (await post_telegram(client, json.dumps(update).encode())).status_code == 200
    assert caplog.text.count("inbound not storable, acknowledged and dropped") == 2
    for secret in ("secret text", "+14165550199", "23456789"):
        assert secret not in caplog.text


async def test_poll_with_a_huge_or_bad_after_is_a_clear_answer(client: httpx.AsyncClient) -> None:
    await web_post(client, "poller", "hello")
    huge = await web_poll(client, "poller", "100000000000000000000")
    assert huge.status_code == 200 and huge.json() == {"replies": []}
    negative = await web_poll(client, "poller", "-5")
    assert [r["text"] for r in negative.json()["replies"]] == ["en: hello"]
    for bad in ("abc", "1e5", "", "9" * 40):
        response = await web_poll(client, "poller", bad)
        assert response.status_code == 422 and response.json()["error"] == "invalid_after"
    # A token with one character more is not the token: refused, never matched loosely.
    token = web_token(client, "poller")
    assert token is not None
    longer = await client.get(WEB, headers={"Authorization": f"Bearer {token}x"})
    assert longer.status_code == 401


async def test_web_message_ids_never_collide_across_users(client: httpx.AsyncClient) -> None:
    first = await web_post(client, "a:b", "first", id="c")
    second = await web_post(client, "a", "second", id="b:c")
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is False
    assert [r["text"] for r in second.json()["replies"]] == ["en: second"]
    again = await web_post(client, "a", "second", id="b:c")
    assert again.json()["duplicate"] is True


async def test_a_person_cannot_inject_an_intent_behind_slashes_and_spaces(
    client: httpx.AsyncClient,
) -> None:
    fake_rasa = client.fakes.rasa  # type: ignore[attr-defined]
    for text in ('/ /greet{"name": "x"}', " //  /greet", "/unknown_intent"):
        response = await web_post(client, "injector", text)
        assert response.status_code == 200
        assert not fake_rasa.received[-1]["message"].startswith("/"), text
