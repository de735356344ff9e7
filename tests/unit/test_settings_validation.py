"""Every setting is checked when the app starts: one clear line per problem, all of them at once,
and ``intake run`` exits non-zero before starting anything (bot/settings.py)."""

from __future__ import annotations

import os

import pytest

from bot import cli
from bot.settings import Settings, SettingsError

GOOD_SECRET = "A" * 16 + "b_c-" * 4  # 32 characters of Telegram's alphabet


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the machine running the tests leaks in."""
    for name in list(os.environ):
        if name.startswith(("TWILIO_", "TELEGRAM_", "RATE_LIMIT_")) or name in (
            "PUBLIC_BASE_URL", "COOKIE_SECURE", "APP_PORT", "RASA_PORT", "ACTIONS_PORT",
            "APP_HOST", "PREVIEW_ENABLED", "RASA_AUTH_TOKEN", "MAX_BODY_BYTES", "MAX_TEXT_CHARS",
        ):  # fmt: skip
            monkeypatch.delenv(name)


def problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        Settings.from_env()
    except SettingsError as exc:
        return exc.problems
    return []


def test_the_defaults_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    assert problems(monkeypatch) == []
    settings = Settings.from_env()
    assert settings.preview_enabled  # a local run: loopback, no public address
    assert len(settings.rasa_auth_token) >= 32


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "a"}, "TELEGRAM_WEBHOOK_SECRET"),
        ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "a" * 31}, "32-256"),
        ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": "a b" * 20}, "A-Z a-z 0-9"),
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, "TELEGRAM_WEBHOOK_SECRET"),
        (
            {
                "TWILIO_ACCOUNT_SID": "AC1",
                "TWILIO_AUTH_TOKEN": "t",
                "TWILIO_FROM_NUMBER": "+14165550000",
            },
            "SMS needs PUBLIC_BASE_URL",
        ),
        ({"TWILIO_ACCOUNT_SID": "AC1"}, "must be set together"),
        ({"PUBLIC_BASE_URL": "https://intake.example.org"}, "COOKIE_SECURE must be true"),
        ({"PUBLIC_BASE_URL": "intake.example.org"}, "PUBLIC_BASE_URL must be"),
        ({"APP_PORT": "70000"}, "APP_PORT must be a port number"),
        ({"RASA_PORT": "8000"}, "three different ports"),
        ({"ACTIONS_PORT": "five"}, "ACTIONS_PORT must be a whole number"),
        ({"COOKIE_SECURE": "maybe"}, "COOKIE_SECURE must be true or false"),
        ({"MAX_BODY_BYTES": "1000"}, "MAX_BODY_BYTES (1000) must leave room"),
        ({"RATE_LIMIT_WEB_POST_ADDRESS": "lots"}, "RATE_LIMIT_WEB_POST_ADDRESS must look like"),
        ({"RATE_LIMIT_STORAGE_URL": "memcached://x"}, "RATE_LIMIT_STORAGE_URL"),
        ({"RASA_AUTH_TOKEN": "short"}, "RASA_AUTH_TOKEN"),
        ({"DEFAULT_LANGUAGE": "es"}, "DEFAULT_LANGUAGE"),
        ({"RASA_URL": "localhost:5005"}, "RASA_URL must be an http"),
    ],
)
def test_each_problem_has_its_own_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    found = problems(monkeypatch, **env)
    assert len(found) == 1, found
    assert expected in found[0]


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    found = problems(
        monkeypatch,
        APP_PORT="0",
        COOKIE_SECURE="perhaps",
        TELEGRAM_BOT_TOKEN="1:x",
        TELEGRAM_WEBHOOK_SECRET="short",
    )
    assert len(found) == 3
    assert any("APP_PORT" in p for p in found)
    assert any("COOKIE_SECURE" in p for p in found)
    assert any("TELEGRAM_WEBHOOK_SECRET" in p for p in found)


def test_a_valid_channel_configuration_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (
        problems(
            monkeypatch,
            PUBLIC_BASE_URL="https://intake.example.org",
            COOKIE_SECURE="true",
            TWILIO_ACCOUNT_SID="AC" + "0" * 32,
            TWILIO_AUTH_TOKEN="token",
            TWILIO_FROM_NUMBER="+14165550000",
            TELEGRAM_BOT_TOKEN="1:x",
            TELEGRAM_WEBHOOK_SECRET=GOOD_SECRET,
            RATE_LIMIT_STORAGE_URL="redis://127.0.0.1:6379/0",
        )
        == []
    )
    settings = Settings.from_env()
    assert not settings.preview_enabled  # a public deployment: off unless turned on


def test_intake_run_refuses_to_start_with_bad_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:x")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "x")
    monkeypatch.setenv("APP_PORT", "99999")
    assert cli.main(["run"]) == 1
    err = capsys.readouterr().err
    assert "TELEGRAM_WEBHOOK_SECRET must be 32-256 characters" in err
    assert "APP_PORT must be a port number" in err
    assert err.count("\n  - ") == 2
