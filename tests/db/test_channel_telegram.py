"""Telegram end to end through the real python-telegram-bot client: webhook updates in, the fake
Bot API (real HTTP on loopback) out, on SQLite and PostgreSQL, with the fake echo Rasa."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.store.channels import ContactOptOut, Delivery
from bot.store.models import Direction, Message
from tests.fakes import TELEGRAM_TOKEN, FakeTelegram, tg_callback, tg_message
from tests.helpers import FakeRasa, make_settings, rows, running_app, settle, wait_for

SECRET = "s3cret-Token_for-tests-0123456789abcdef"  # 32-256 of [A-Za-z0-9_-]


def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    language = (body.get("metadata") or {}).get("language")
    if body["message"] == "menu":
        return [
            {
                "text": f"{language}: pick one",
                "buttons": [
                    {"title": "What is it", "payload": "/program_what"},
                    {"title": "Français", "payload": '/choose_language{"language":"fr"}'},
                ],
            }
        ]
    return [{"text": f"{language}: {body['message']}"}]


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa(answer)
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    yield fake
    fake.stop()


def tg_settings(tmp_path: Path, database_url: str, rasa_url: str, telegram: FakeTelegram) -> Any:
    return make_settings(
        tmp_path,
        database_url,
        rasa_url,
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=SECRET,
        telegram_api_base_url=telegram.base_url,
        outbox_poll_seconds=0.1,
        outbox_retry_base_seconds=0.05,
        channel_send_timeout_seconds=5.0,
    )


@pytest.fixture
async def client(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa, telegram: FakeTelegram
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(tg_settings(tmp_path, database_url, fake_rasa.url, telegram)) as c:
        yield c


async def post_update(
    client: httpx.AsyncClient, update: dict[str, Any], secret: str | None = SECRET
) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return await client.post("/channels/telegram/webhook", json=update, headers=headers)


def chat() -> int:
    return random.randint(10_000_000, 99_999_999)


async def texts_to(telegram: FakeTelegram, chat_id: int, count: int) -> list[str]:
    async def enough() -> list[str]:
        texts = telegram.texts(chat_id)
        return texts if len(texts) >= count else []

    return await wait_for(enough, timeout=20)


async def test_application_started_with_get_me_and_text_is_answered(
    client: httpx.AsyncClient, telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    assert telegram.methods()[0] == "getMe"
    person = chat()
    response = await post_update(client, tg_message(person, "hello there"))
    assert response.status_code == 200
    assert await texts_to(telegram, person, 1) == ["en: hello there"]
    metadata = fake_rasa.received[-1]["metadata"]
    # The app's own message id goes with it (exactly once into Rasa: bot/engine.py).
    assert metadata.pop("app_message_id").isdigit()
    assert metadata == {"language": "en", "channel": "telegram"}


async def test_wrong_or_missing_secret_is_rejected(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    for secret in ("wrong", None, SECRET + "x", ""):
        response = await post_update(client, tg_message(chat(), "hi"), secret=secret)
        assert response.status_code == 403
    assert await rows(client, Message) == []


async def test_duplicate_and_concurrent_duplicate_updates_are_processed_once(
    client: httpx.AsyncClient, telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    person = chat()
    update = tg_message(person, "only once")
    assert (await post_update(client, update)).status_code == 200
    assert (await post_update(client, update)).status_code == 200
    racing = tg_message(person, "racing")
    results = await asyncio.gather(*(post_update(client, racing) for _ in range(8)))
    assert all(r.status_code == 200 for r in results)
    await settle(client)
    await texts_to(telegram, person, 2)
    await asyncio.sleep(0.3)
    assert telegram.texts(person) == ["en: only once", "en: racing"]
    assert len(await rows(client, Message, Message.direction == Direction.IN)) == 2


async def test_buttons_are_an_inline_keyboard_and_callback_queries_map_to_payloads(
    client: httpx.AsyncClient, telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    person = chat()
    await post_update(client, tg_message(person, "menu"))
    await texts_to(telegram, person, 1)
    markup = telegram.sent[-1]["reply_markup"]
    assert markup == {
        "inline_keyboard": [
            [{"text": "What is it", "callback_data": "/program_what"}],
            [{"text": "Français", "callback_data": '/choose_language{"language":"fr"}'}],
        ]
    }
    press = tg_callback(person, '/choose_language{"language":"fr"}')
    await post_update(client, press)
    await texts_to(telegram, person, 2)
    assert "answerCallbackQuery" in telegram.methods()
    assert fake_rasa.received[-1]["message"] == "/choose_language"
    assert fake_rasa.received[-1]["metadata"]["language"] == "fr"


async def test_language_code_is_only_the_first_hint(
    client: httpx.AsyncClient, telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    person = chat()
    await post_update(client, tg_message(person, "ok", language_code="fr-CA"))
    assert await texts_to(telegram, person, 1) == ["fr: ok"]
    await post_update(client, tg_message(person, "hello, what is this program about"))
    assert (await texts_to(telegram, person, 2))[-1].startswith("en: ")


async def test_non_text_updates_get_a_reply_or_are_ignored_on_purpose(
    client: httpx.AsyncClient, telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    person = chat()
    photo = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    sticker = {
        "file_id": "s",
        "file_unique_id": "su",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    voice = {"file_id": "v", "file_unique_id": "vu", "duration": 2}
    for extra in ({"photo": photo}, {"sticker": sticker}, {"voice": voice}):
        assert (await post_update(client, tg_message(person, None, **extra))).status_code == 200
    texts = await texts_to(telegram, person, 3)
    assert all(t.startswith("Sorry, I can only read text.") for t in texts)
    ignored = [
        tg_message(person, "edited text", key="edited_message"),
        tg_message(-100123, "group hello", chat_type="group"),
        tg_message(-100456, "channel post", chat_type="channel", key="channel_post"),
        tg_message(person, None, new_chat_title="x"),  # a service message
        {"update_id": 42, "my_chat_member": {"weird": True}},
        {"update_id": 43},
        {"no_update_id": True},
    ]
    for update in ignored:
        assert (await post_update(client, update)).status_code == 200
    response = await client.post(
        "/channels/telegram/webhook",
        content=b"{not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert response.status_code == 200
    await settle(client)
    assert len(telegram.texts()) == 3
    assert fake_rasa.received == []


async def test_commands_start_stop_help(
    client: httpx.AsyncClient, telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    person = chat()
    await post_update(client, tg_message(person, "/start"))
    await texts_to(telegram, person, 1)
    assert fake_rasa.received[-1]["message"] == "/greet"
    await post_update(client, tg_message(person, "/help@intake_bot"))
    assert "Reply HUMAN" in (await texts_to(telegram, person, 2))[-1]
    await post_update(client, tg_message(person, "/language"))
    await texts_to(telegram, person, 3)
    assert fake_rasa.received[-1]["message"] == "/ask_language"
    await post_update(client, tg_message(person, "/stop"))
    assert (await texts_to(telegram, person, 4))[-1].startswith("You will get no more")
    await post_update(client, tg_message(person, "hello?"))
    await settle(client)
    await asyncio.sleep(0.3)
    assert len(telegram.texts(person)) == 4
    await post_update(client, tg_message(person, "/start"))
    assert (await texts_to(telegram, person, 5))[-1].startswith("Welcome back.")


async def test_429_and_5xx_are_retried_until_delivered_once(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    person = chat()
    telegram.fail_next = [429, 502, 500]
    await post_update(client, tg_message(person, "hello flood"))
    assert await texts_to(telegram, person, 1) == ["en: hello flood"]
    await settle(client)
    await asyncio.sleep(0.3)
    assert telegram.texts(person) == ["en: hello flood"]
    [delivery] = await rows(client, Delivery)
    assert delivery.status == "sent" and delivery.attempts >= 2


async def test_blocked_bot_opts_the_contact_out(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    person = chat()
    telegram.blocked.add(person)
    await post_update(client, tg_message(person, "hello"))
    await settle(client)
    await wait_for(lambda: rows(client, ContactOptOut))
    [delivery] = await rows(client, Delivery)
    assert delivery.status == "failed"


async def test_blocking_the_bot_opts_out_at_once_and_is_not_answered(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    person = chat()
    await post_update(client, tg_message(person, "hello"))
    await texts_to(telegram, person, 1)
    bot_user = {"id": 123456, "is_bot": True, "first_name": "Intake"}
    blocked = {
        "update_id": person,
        "my_chat_member": {
            "chat": {"id": person, "type": "private"},
            "from": {"id": person, "is_bot": False, "first_name": "Test"},
            "date": 1_700_000_000,
            "old_chat_member": {"user": bot_user, "status": "member"},
            "new_chat_member": {"user": bot_user, "status": "kicked", "until_date": 0},
        },
    }
    assert (await post_update(client, blocked)).status_code == 200
    assert len(await rows(client, ContactOptOut)) == 1
    await settle(client)
    assert len(telegram.texts(person)) == 1


async def test_delete_my_data_with_confirmation(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    person = chat()
    await post_update(client, tg_message(person, "hello"))
    await texts_to(telegram, person, 1)
    await post_update(client, tg_message(person, "/delete"))
    await texts_to(telegram, person, 2)
    keyboard = telegram.sent[-1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["callback_data"] for row in keyboard] == ["/delete_confirm", "/delete_cancel"]
    await post_update(client, tg_callback(person, "/delete_cancel"))
    assert (await texts_to(telegram, person, 3))[-1] == "OK, nothing was erased."
    # The confirmation payload alone (without the question just before) erases nothing.
    await post_update(client, tg_callback(person, "/delete_confirm"))
    await texts_to(telegram, person, 4)
    assert await rows(client, Message)
    await post_update(client, tg_message(person, "/delete"))
    await texts_to(telegram, person, 5)
    await post_update(client, tg_callback(person, "/delete_confirm"))
    await settle(client)
    assert await rows(client, Message) == []
    assert await rows(client, Delivery) == []


async def test_polling_mode_reads_updates_with_the_same_handler(
    client: httpx.AsyncClient, telegram: FakeTelegram
) -> None:
    from bot.channels import telegram as tg

    person = chat()
    channels = client.app.state.channels  # type: ignore[attr-defined]
    update = tg_message(person, "polled hello")
    telegram.updates = [update]
    offset = await tg.poll_once(
        channels.telegram.bot, channels.pipeline, 2000, None, long_poll_seconds=0
    )
    assert offset == update["update_id"] + 1
    assert await texts_to(telegram, person, 1) == ["en: polled hello"]
    get_updates = [params for method, params in telegram.calls if method == "getUpdates"]
    assert get_updates[-1]["allowed_updates"] == tg.ALLOWED_UPDATES
