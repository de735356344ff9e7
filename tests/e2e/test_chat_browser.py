"""The web chat simulator (/chat) in a real headless Chromium, against the real trained Rasa and
action server: a person writes, gets the answer in their language, and the operator previews
the same replies as SMS (encoding, segments, numbered options) and as Telegram (keyboard)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from bot import knowledge
from tests.caseworker_support import LiveServer
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

PACK = knowledge.load_pack()
# Training examples of program_status: this tests the page and the route, not the classifier.
STILL_OPEN = {
    "en": "is the program still open",
    "fr": "est-ce que le programme est toujours ouvert",
}
PERSON = {"en": "Talk to a person", "fr": "Parler à une personne"}
HANDOFF = {"en": "I have passed your request", "fr": "J'ai transmis votre demande"}


@pytest.fixture(scope="module")
def chat_server(stack: Stack) -> Iterator[LiveServer]:
    """The app on a real port (a browser needs one), on the stack's database, Rasa and action
    server (the action server records handoffs in that database)."""
    live = LiveServer(stack.settings)
    live.start()
    yield live
    live.stop()


async def write(page: Page, text: str) -> None:
    await page.get_by_label("Your message / Votre message").fill(text)
    await page.get_by_role("button", name="Send / Envoyer").click()


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_person_gets_the_answer_in_their_language(
    page: Page, chat_server: LiveServer, language: str
) -> None:
    await page.goto(f"{chat_server.url}/chat")
    await write(page, STILL_OPEN[language])
    answer = PACK.topics["program_status"].answer[language]
    assistant = page.locator(".msg.assistant")
    await expect(assistant.filter(has_text=answer)).to_have_count(1)
    # The caseworker button follows the answer; clicking it hands the conversation over.
    await page.locator(".msg.assistant .buttons button", has_text=PERSON[language]).click()
    await expect(page.locator(".msg.person").last).to_have_text(PERSON[language])
    await expect(assistant.filter(has_text=HANDOFF[language])).to_have_count(1)


async def test_sms_and_telegram_previews_use_the_channels_renderers(
    page: Page, chat_server: LiveServer
) -> None:
    await page.goto(f"{chat_server.url}/chat")
    await page.get_by_label("Preview as / Aperçu").select_option("sms")
    await write(page, STILL_OPEN["en"])
    sms = page.locator(".msg.assistant.sms").first
    # The SMS renderer puts the option in the text as a number and measures the segments.
    await expect(sms).to_contain_text(PACK.topics["program_status"].answer["en"][:40])
    await expect(sms).to_contain_text(f"Reply 1 for {PERSON['en']}")
    await expect(sms.locator(".meta")).to_have_text(re.compile(r"^GSM-7 · [123] segment\(s\)$"))
    # The person answers an SMS with a number: "1" is the person button.
    await page.locator(".buttons button", has_text="1").click()
    await expect(page.locator(".msg.assistant.sms", has_text=HANDOFF["en"])).to_have_count(1)

    await page.get_by_label("Preview as / Aperçu").select_option("telegram")
    await write(page, "what is this program")
    telegram = page.locator(".msg.assistant.telegram").last
    await expect(telegram).to_contain_text(PACK.topics["program_what"].answer["en"][:40])
    await write(page, STILL_OPEN["en"])
    keyboard = page.locator(".msg.assistant.telegram .keyboard button", has_text=PERSON["en"])
    await expect(keyboard).to_have_count(1)


async def test_what_a_person_writes_is_shown_as_text_never_run(
    page: Page, chat_server: LiveServer
) -> None:
    await page.goto(f"{chat_server.url}/chat")
    attack = '<img src=x onerror="window.__xss = 1"> hello'
    await write(page, attack)
    await expect(page.locator(".msg.person").last).to_have_text(attack)
    await expect(page.locator(".msg.assistant")).not_to_have_count(0)
    assert await page.evaluate("window.__xss") is None
