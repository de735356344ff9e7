"""What a caseworker reads, end to end: a French and an English intake, each made through the
web chat and through SMS against the real trained Rasa and action server, then the queue and
each referral page in a real headless Chromium, in French and in English: no raw code, no label
of the other language, the consent record, the person's name and countries."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.async_api import Page, expect

from actions.intake_texts import CONSENT_VERSION
from bot.caseworker import i18n
from bot.intake import countries
from bot.settings import Settings
from tests.caseworker_support import PASSWORD, LiveServer, add_user
from tests.e2e.conftest import Chat
from tests.e2e.test_channels_e2e import Fakes, Sms, app, fakes  # noqa: F401 (fixtures)
from tests.e2e.test_intake import EN_ANSWERS, FR_ANSWERS, START
from tests.fakes import FakeTwilio
from tests.intake_support import assert_reads_in, conversation_of, referral_of

pytestmark = pytest.mark.e2e

NAME = {"en": "Ana", "fr": "Marie"}
SEND = {"en": "send", "fr": "envoyer"}
SENT = {"en": "I sent your answers", "fr": "J'ai transmis vos réponses"}


async def web_intake(client: httpx.AsyncClient, language: str) -> str:
    chat = Chat(client, f"web-{uuid.uuid4().hex[:10]}")
    await chat.say("hello" if language == "en" else "bonjour")
    await chat.say(START[language])
    for answer in (EN_ANSWERS if language == "en" else FR_ANSWERS).values():
        await chat.say(answer)
    assert SENT[language] in await chat.text(SEND[language])
    return chat.user


async def sms_intake(client: httpx.AsyncClient, twilio: FakeTwilio, language: str) -> str:
    sms = Sms(client, twilio)
    await sms.say("hello" if language == "en" else "bonjour")
    await sms.say(START[language])
    for answer in (EN_ANSWERS if language == "en" else FR_ANSWERS).values():
        await sms.say(answer)
    assert SENT[language] in await sms.say(SEND[language])
    return sms.number


async def test_intakes_from_web_chat_and_sms_read_in_each_caseworkers_language(
    page: Page,
    app: httpx.AsyncClient,  # noqa: F811
    fakes: Fakes,  # noqa: F811
    stack_settings: Settings,
) -> None:
    # One app answers the people (``app``: channels on); the caseworker app starts once every
    # intake is in, so two apps never race on the same unanswered messages.
    url = stack_settings.database_url
    made: list[tuple[str, str]] = []  # (person's language, referral id)
    for language in ("en", "fr"):
        user = await web_intake(app, language)
        made.append((language, referral_of(url, conversation_of(url, "web", user))))
        number = await sms_intake(app, fakes.twilio, language)
        made.append((language, referral_of(url, conversation_of(url, "sms", number))))

    caseworker_server = LiveServer(stack_settings)  # the database the actions wrote to
    caseworker_server.start()
    try:
        await read_them(page, caseworker_server, url, made)
    finally:
        caseworker_server.stop()


async def read_them(
    page: Page, caseworker_server: LiveServer, url: str, made: list[tuple[str, str]]
) -> None:
    for reader in ("fr", "en"):
        await add_user(url, f"reader-{reader}", ui_language=reader, display_name="Reader")
        await page.context.clear_cookies()
        await page.goto(f"{caseworker_server.url}/caseworker/login?lang={reader}")
        await page.get_by_label(i18n.ui("username", reader)).fill(f"reader-{reader}")
        await page.get_by_label(i18n.ui("password", reader)).fill(PASSWORD)
        await page.get_by_role("button", name=i18n.ui("log_in", reader)).click()
        for _, referral_id in made:
            await expect(page.locator(f'tr[data-referral="{referral_id}"]')).to_be_visible()
        assert_reads_in(reader, await page.locator("main").inner_text())
        for language, referral_id in made:
            await page.goto(f"{caseworker_server.url}/caseworker/referrals/{referral_id}")
            intake = page.locator("#h-intake + dl")
            await expect(intake.locator('[data-field="first_name"] dd')).to_have_text(
                NAME[language]
            )
            await expect(intake.locator('[data-field="citizenship"] dd')).to_have_text(
                countries.name_of("HU", reader)
            )
            await expect(intake.locator('[data-field="return_country"] dd')).to_have_text(
                countries.name_of("HU", reader)
            )
            consent = page.locator("#consent")
            await expect(consent).to_contain_text(i18n.ui("consent_given", reader))
            await expect(consent).to_contain_text(CONSENT_VERSION)
            # Everything but the conversation (the person's and the assistant's own words).
            summary = await page.locator(".facts").inner_text()
            assert_reads_in(reader, summary + await page.locator(".col").first.inner_text())
