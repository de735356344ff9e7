"""WhatsApp's own rules without a server: the 24-hour window decision, rendering, addresses and
parsing, keywords per channel, settings, and the /chat preview as WhatsApp."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import ImmutableMultiDict

from bot import keywords
from bot.channels import whatsapp
from bot.channels.window import Decision, WindowState, decide, describe
from bot.engine import Button, Reply
from bot.settings import Settings, SettingsError
from tests.helpers import make_settings, running_app

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


# -- the window --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "now", "decision"),
    [
        (WindowState(NOON), NOON + timedelta(hours=1), Decision.SEND),
        (WindowState(NOON), NOON + timedelta(hours=23, minutes=54), Decision.SEND),
        # The last five minutes: a message started now might reach WhatsApp too late.
        (WindowState(NOON), NOON + timedelta(hours=23, minutes=56), Decision.NOTIFY),
        (WindowState(NOON), NOON + timedelta(hours=25), Decision.NOTIFY),
        (WindowState(NOON, notified_at=NOON + timedelta(hours=25)), NOON + timedelta(days=3),
         Decision.HOLD),
        # Twilio said 63016: closed whatever the clock says.
        (WindowState(NOON, refused_at=NOON + timedelta(hours=1)), NOON + timedelta(hours=2),
         Decision.NOTIFY),
        (WindowState(None), NOON, Decision.NOTIFY),  # never wrote on WhatsApp
    ],
)  # fmt: skip
def test_window_decision(state: WindowState, now: datetime, decision: Decision) -> None:
    assert decide(state, now) == decision


def test_what_the_caseworker_page_is_told() -> None:
    later = NOON + timedelta(hours=30)
    assert describe(WindowState(NOON), NOON, True).key == "whatsapp_window_open"
    assert describe(WindowState(NOON), NOON, True).closes_at == NOON + timedelta(
        hours=23, minutes=55
    )
    assert describe(WindowState(NOON), later, True).key == "whatsapp_window_notify"
    assert describe(WindowState(NOON), later, False).key == "whatsapp_window_no_template"
    notified = WindowState(NOON, notified_at=later, held=2)
    assert describe(notified, later, True).key == "whatsapp_window_notified"
    assert describe(notified, later, True).held == 2


# -- rendering ---------------------------------------------------------------------------


def test_render_keeps_accents_and_numbers_the_options_in_bold() -> None:
    reply = Reply(
        "Êtes-vous prêt? « Oui » ou non…",
        (Button("Oui, ça va", "/affirm"), Button("Non", "/deny")),
    )
    [part] = whatsapp.render(reply, "fr")
    assert part.text == (
        "Êtes-vous prêt? « Oui » ou non…\n\nRépondez avec le numéro de votre choix :\n"
        "*1* Oui, ça va\n*2* Non"
    )
    [plain] = whatsapp.render(Reply("Bonjour à tous"), "fr")
    assert plain.text == "Bonjour à tous"  # no formatting added to plain text


def test_render_splits_only_above_1600_characters_at_sentence_ends() -> None:
    sentence = "Une phrase précise sur le programme, avec des accents é, è, ê, ç."
    one = " ".join([sentence] * 20)  # about 1,300 characters: one message (SMS would need many)
    assert len(one) < 1600 and [p.text for p in whatsapp.render(Reply(one), "fr")] == [one]
    many = " ".join([sentence] * 60)
    parts = [p.text for p in whatsapp.render(Reply(many), "fr")]
    assert len(parts) == 3 and all(len(p) <= 1600 and p.endswith("ç.") for p in parts)
    assert " ".join(parts) == many


def test_addresses() -> None:
    assert whatsapp.address("+14155238886") == "whatsapp:+14155238886"
    assert whatsapp.address("whatsapp:+14155238886") == "whatsapp:+14155238886"


def test_parse_whatsapp_fields() -> None:
    base = {"MessageSid": "SM" + "a" * 32, "From": "whatsapp:+14165550100", "Body": "allô"}
    parsed = whatsapp.parse(ImmutableMultiDict(base), 50)
    assert parsed is not None and (parsed.channel, parsed.address, parsed.text) == (
        "whatsapp", "whatsapp:+14165550100", "allô")  # fmt: skip
    location = {**base, "Body": "", "Latitude": "43.6", "Longitude": "-79.4"}
    assert whatsapp.parse(ImmutableMultiDict(location), 50).media  # type: ignore[union-attr]
    assert whatsapp.parse(ImmutableMultiDict({**base, "From": "+14165550100"}), 50) is None
    assert whatsapp.parse(ImmutableMultiDict({**base, "From": "whatsapp:bob"}), 50) is None


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["MessageSid", "From", "Body", "NumMedia", "Latitude", "ButtonPayload"])
            | st.text(max_size=10),
            st.text(max_size=80) | st.just("whatsapp:+14165550100"),
        ),
        max_size=8,
    )
)
def test_any_form_never_crashes_the_whatsapp_parser(fields: list[tuple[str, str]]) -> None:
    parsed = whatsapp.parse(ImmutableMultiDict(fields), 50)
    assert parsed is None or (
        parsed.channel == "whatsapp"
        and parsed.address.startswith("whatsapp:+")
        and len(parsed.text) <= 50
    )


# -- keywords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "sms", "whatsapp_", "telegram"),
    [
        ("STOP", True, True, True),
        ("Arrêt", True, True, True),
        ("unsubscribe", True, True, True),
        ("optout", True, True, False),
        ("opt out", True, True, False),
        ("revoke", True, True, False),
        ("cancel", True, False, False),
        ("end", True, False, False),
        ("quit", True, False, False),
        ("I want to stop my claim", False, False, False),
    ],
)
def test_opt_out_words_per_channel(word: str, sms: bool, whatsapp_: bool, telegram: bool) -> None:
    def opts_out(channel: str) -> bool:
        found = keywords.match(word, channel)
        return found is not None and found.keyword == keywords.Keyword.STOP

    assert (opts_out("sms"), opts_out("whatsapp"), opts_out("telegram"), opts_out("web")) == (
        sms, whatsapp_, telegram, telegram)  # fmt: skip


# -- settings ----------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("TWILIO_", "WHATSAPP_", "TELEGRAM_")) or name in (
            "PUBLIC_BASE_URL", "COOKIE_SECURE"):  # fmt: skip
            monkeypatch.delenv(name)


def _problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        Settings.from_env()
    except SettingsError as exc:
        return exc.problems
    return []


TWILIO = {"TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "token"}


@pytest.mark.usefixtures("clean_env")
def test_whatsapp_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    public = {"PUBLIC_BASE_URL": "https://x.org", "COOKIE_SECURE": "true"}
    ok = _problems(
        monkeypatch,
        **TWILIO,
        **public,
        TWILIO_WHATSAPP_FROM="+14155238886",
        WHATSAPP_TEMPLATE_SID_EN="HX" + "0" * 32,
        WHATSAPP_TEMPLATE_VARIABLES='{"1": "AVRR"}',
    )
    assert ok == []
    settings = Settings.from_env()
    # WhatsApp on, SMS off (no SMS sender): the credentials are there for WhatsApp only.
    assert settings.whatsapp_enabled and not settings.sms_enabled
    assert settings.whatsapp_templates == {"en": "HX" + "0" * 32}
    bad = _problems(
        monkeypatch,
        PUBLIC_BASE_URL="",
        TWILIO_WHATSAPP_FROM="14155238886",
        WHATSAPP_TEMPLATE_SID_FR="not-a-sid",
        WHATSAPP_TEMPLATE_VARIABLES='["AVRR"]',
    )
    assert [p.split(" ")[0] for p in bad] == [
        "WhatsApp",  # needs PUBLIC_BASE_URL
        "TWILIO_WHATSAPP_FROM",
        "WHATSAPP_TEMPLATE_SID_FR",
        "WHATSAPP_TEMPLATE_VARIABLES",
    ]


@pytest.mark.usefixtures("clean_env")
def test_sms_settings_unchanged_by_whatsapp(monkeypatch: pytest.MonkeyPatch) -> None:
    # Credentials alone still mean SMS (and still ask for its sender), as before WhatsApp.
    assert any("TWILIO_FROM_NUMBER" in p for p in _problems(monkeypatch, **TWILIO))
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "+14165550000")
    monkeypatch.setenv("TWILIO_WHATSAPP_FROM", "whatsapp:+14155238886")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://x.org")
    monkeypatch.setenv("COOKIE_SECURE", "true")
    settings = Settings.from_env()
    assert settings.sms_enabled and settings.whatsapp_enabled
    # A WhatsApp sender without credentials is an error too.
    for name in TWILIO:
        monkeypatch.delenv(name)
    assert any("WhatsApp needs TWILIO_ACCOUNT_SID" in p for p in _problems(monkeypatch))


# -- the /chat preview -------------------------------------------------------------------


async def test_preview_as_whatsapp(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'p.db'}", "http://127.0.0.1:9")
    replies = [{"text": "Êtes-vous prêt?", "buttons": [{"title": "Oui", "payload": "/affirm"}]}]
    async with running_app(settings, run_worker=False) as client:
        response = await client.post(
            "/channels/preview", json={"channel": "whatsapp", "language": "fr", "replies": replies}
        )
        assert response.status_code == 200
        text = "Êtes-vous prêt?\n\nRépondez avec le numéro de votre choix :\n*1* Oui"
        assert response.json()["messages"] == [{"text": text, "chars": len(text)}]
        page = await client.get("/chat")
        assert '<option value="whatsapp">' in page.text
        # WhatsApp is off here: its webhook says so.
        off = await client.post("/channels/whatsapp/inbound", data={"Body": "hi"})
        assert (off.status_code, off.json()["error"]) == (404, "channel_disabled")
