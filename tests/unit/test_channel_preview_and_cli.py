"""The /chat simulator endpoint and the Telegram operator commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.channels import telegram as tg
from tests.fakes import TELEGRAM_TOKEN, FakeTelegram
from tests.helpers import make_settings, running_app


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram()
    fake.start()
    yield fake
    fake.stop()


async def test_preview_renders_with_the_channels_own_renderers(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'p.db'}", "http://127.0.0.1:9")
    replies = [
        {
            "text": "Êtes-vous prêt?",
            "buttons": [{"title": "Oui", "payload": "/affirm"}, {"title": "Non", "payload": "/x"}],
        }
    ]
    async with running_app(settings, run_worker=False) as client:
        sms = await client.post(
            "/channels/preview", json={"channel": "sms", "language": "fr", "replies": replies}
        )
        assert sms.status_code == 200
        assert sms.json()["messages"] == [
            {
                "text": "Etes-vous pret?\nRépondez 1 pour Oui, 2 pour Non.",  # SMS: GSM-7 only
                "encoding": "GSM-7",
                "segments": 1,
            }
        ]
        telegram = await client.post(
            "/channels/preview", json={"channel": "telegram", "language": "fr", "replies": replies}
        )
        assert telegram.json()["messages"] == [
            {
                "text": "Êtes-vous prêt?",
                "keyboard": [
                    [{"text": "Oui", "callback_data": "/affirm"}],
                    [{"text": "Non", "callback_data": "/x"}],
                ],
            }
        ]
        for bad in ({"channel": "fax", "replies": []}, {"channel": "sms", "replies": "x"}, []):
            response = await client.post("/channels/preview", json=bad)
            assert response.status_code == 422
            assert response.json()["error"] == "invalid_preview"
        page = await client.get("/chat")
        assert 'id="preview-channel"' in page.text and "innerHTML" not in page.text
        # Channels without credentials are switched off, clearly.
        off = await client.post("/channels/sms/inbound", data={"Body": "hi"})
        assert off.status_code == 404 and off.json()["error"] == "channel_disabled"
        off = await client.post("/channels/telegram/webhook", json={"update_id": 1})
        assert off.status_code == 404


SECRET = "abc_DEF-123" * 3  # 33 characters of Telegram's alphabet


def test_telegram_webhook_command_registers_url_secret_and_updates(
    fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TELEGRAM_TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", fake_telegram.base_url)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://intake.example.org/")
    monkeypatch.setenv("COOKIE_SECURE", "true")
    assert cli.main(["telegram-webhook"]) == 0
    [params] = [p for method, p in fake_telegram.calls if method == "setWebhook"]
    assert params["url"] == "https://intake.example.org/channels/telegram/webhook"
    assert params["secret_token"] == SECRET
    assert params["allowed_updates"] == tg.ALLOWED_UPDATES
    assert "webhook registered" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN"),
        ({"PUBLIC_BASE_URL": "http://insecure.example.org"}, "https://"),
        ({"TELEGRAM_WEBHOOK_SECRET": "has spaces"}, "TELEGRAM_WEBHOOK_SECRET"),
    ],
)
def test_telegram_webhook_command_explains_bad_settings(
    env: dict[str, str], error: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    base = {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "PUBLIC_BASE_URL": "https://intake.example.org",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "COOKIE_SECURE": "true",
    }
    for key, value in {**base, **env}.items():
        monkeypatch.setenv(key, value)
    assert cli.main(["telegram-webhook"]) == 1
    assert error in capsys.readouterr().err


def test_polling_warns_that_it_removes_the_webhook() -> None:
    assert "removes the webhook" in cli.POLLING_WARNING
    assert "separate development bot" in cli.POLLING_WARNING
