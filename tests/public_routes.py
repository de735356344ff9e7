"""The app with every public route on (web chat, SMS, Telegram, preview), for the security and
fuzz tests: the fake Rasa (tests/helpers.py), the fake Twilio and Telegram APIs (tests/fakes.py)
over real HTTP on loopback, and helpers that sign SMS webhooks and carry the Telegram secret."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from bot.settings import Settings
from tests.fakes import TELEGRAM_TOKEN, TWILIO_SID, TWILIO_TOKEN, FakeTelegram, FakeTwilio
from tests.helpers import FakeRasa, echo_answer, make_settings, running_app

PUBLIC = "https://intake.example.org"
OUR_NUMBER = "+14165550000"
TELEGRAM_SECRET = "fuzz-and-security-tests_0123456789abcdef"
WEB = "/channels/web/messages"
SMS = "/channels/sms/inbound"
TELEGRAM = "/channels/telegram/webhook"
PREVIEW = "/channels/preview"


@dataclass
class Fakes:
    rasa: FakeRasa
    twilio: FakeTwilio
    telegram: FakeTelegram


@contextlib.contextmanager
def fakes() -> Iterator[Fakes]:
    rasa, twilio, telegram = FakeRasa(echo_answer), FakeTwilio(), FakeTelegram()
    for server in (rasa, twilio, telegram):
        server.start()
    try:
        yield Fakes(rasa, twilio, telegram)
    finally:
        for server in (rasa, twilio, telegram):
            server.stop()


def all_routes_settings(tmp_path: Path, database_url: str, f: Fakes, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "public_base_url": PUBLIC,
        "cookie_secure": True,
        "twilio_account_sid": TWILIO_SID,
        "twilio_auth_token": TWILIO_TOKEN,
        "twilio_from_number": OUR_NUMBER,
        "twilio_api_base_url": f.twilio.url,
        "telegram_bot_token": TELEGRAM_TOKEN,
        "telegram_webhook_secret": TELEGRAM_SECRET,
        "telegram_api_base_url": f.telegram.base_url,
        "preview_enabled": True,
        "outbox_poll_seconds": 0.2,
        "channel_send_timeout_seconds": 5.0,
        **overrides,
    }
    return make_settings(tmp_path, database_url, f.rasa.url, **values)


@contextlib.asynccontextmanager
async def all_routes_app(
    tmp_path: Path, database_url: str, *, run_worker: bool = True, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    with fakes() as f:
        settings = all_routes_settings(tmp_path, database_url, f, **overrides)
        async with running_app(settings, run_worker=run_worker) as client:
            client.fakes = f  # type: ignore[attr-defined]
            yield client


def sms_signature(params: Mapping[str, str], path: str = SMS) -> str:
    return RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}{path}", dict(params))


def sms_params(body: str, sender: str, sid: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


async def post_sms(client: httpx.AsyncClient, params: Mapping[str, str]) -> httpx.Response:
    return await client.post(
        SMS, data=dict(params), headers={"X-Twilio-Signature": sms_signature(params)}
    )


async def post_telegram(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    return await client.post(
        TELEGRAM,
        content=body,
        headers={
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
            "content-type": "application/json",
        },
    )
