"""The web chat simulator (/chat) in a real headless Chromium, against the real trained Rasa and
action server: a person writes, gets the answer in their language, and the operator previews
the same replies as SMS (encoding, segments, numbered options) and as Telegram (keyboard).

On a shared computer (issue 12): the conversation's token is kept in the tab's sessionStorage,
never localStorage or a URL; a new visit (another tab) or a reload replays nothing; "Leave now /
Quitter" (or Esc twice) clears the chat from the browser and replaces the page with the
operator's neutral site, so Back does not show the chat."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.async_api import Page, Request, expect
from starlette.requests import Request as StarletteRequest
from starlette.responses import HTMLResponse
from starlette.routing import Route

from bot import knowledge
from tests.caseworker_support import LiveServer
from tests.e2e.conftest import Stack
from tests.helpers import LoopbackServer

pytestmark = pytest.mark.e2e

PACK = knowledge.load_pack()
# Training examples of program_status: this tests the page and the route, not the classifier.
STILL_OPEN = {
    "en": "is the program still open",
    "fr": "est-ce que le programme est toujours ouvert",
}
PERSON = {"en": "Talk to a person", "fr": "Parler à une personne"}
HANDOFF = {"en": "I have passed your request", "fr": "J'ai transmis votre demande"}


async def _neutral_page(request: StarletteRequest) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><title>Weather</title><h1>Weather {request.url.path}</h1>")


@pytest.fixture(scope="module")
def exit_site() -> Iterator[LoopbackServer]:
    """The operator's neutral site (WEB_EXIT_URL), on loopback: the tests have no internet."""
    site = LoopbackServer([Route("/{path:path}", _neutral_page)])
    site.start()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def chat_server(stack: Stack, exit_site: LoopbackServer) -> Iterator[LiveServer]:
    """The app on a real port (a browser needs one), on the stack's database, Rasa and action
    server (the action server records handoffs in that database)."""
    live = LiveServer(replace(stack.settings, web_exit_url=f"{exit_site.url}/weather"))
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


TOKEN_KEY = "intake-chat-token"
LEAVE = re.compile(r"^Leave now \/ Quitter")  # "\/": the pattern travels as a JS regex


async def storage(page: Page) -> dict[str, dict[str, str]]:
    return await page.evaluate(
        """() => ({session: {...sessionStorage}, local: {...localStorage}})"""
    )


async def answered(page: Page, count: int) -> None:
    await expect(page.locator(".msg.assistant")).to_have_count(count)


async def test_the_token_lives_in_the_tab_only_and_never_in_a_url(
    page: Page, chat_server: LiveServer
) -> None:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    await page.goto(f"{chat_server.url}/chat")
    await write(page, STILL_OPEN["en"])
    await answered(page, 1)
    stored = await storage(page)
    token = stored["session"][TOKEN_KEY]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert stored["local"] == {}  # nothing outlives the tab
    # The page polls with the token in the header; no URL it asks for carries it.
    async with page.expect_request(lambda r: r.method == "GET" and "/channels/web/" in r.url):
        pass
    api = [r for r in requests if "/channels/web/" in r.url]
    assert api and all(token not in r.url for r in requests)
    polls = [r for r in api if r.method == "GET"]
    assert polls
    for poll in polls:
        assert (await poll.all_headers()).get("authorization") == f"Bearer {token}"
        assert "after=0" not in poll.url  # never the whole history


async def test_a_new_visit_or_a_reload_replays_nothing(page: Page, chat_server: LiveServer) -> None:
    await page.goto(f"{chat_server.url}/chat")
    await write(page, STILL_OPEN["en"])
    answer = PACK.topics["program_status"].answer["en"]
    await expect(page.locator(".msg.assistant").filter(has_text=answer)).to_have_count(1)
    first_token = (await storage(page))["session"][TOKEN_KEY]
    async with page.expect_response(  # a poll has moved past the answer the page has
        lambda r: r.request.method == "GET" and "/channels/web/" in r.url
    ):
        pass

    # The same tab reloaded: the conversation continues, its earlier messages are not shown
    # again (the next poll asks only after the last message this visit saw).
    async with page.expect_response(
        lambda r: r.request.method == "GET" and "/channels/web/" in r.url
    ) as polled:
        await page.reload()
    assert (await (await polled.value).json()) == {"replies": []}
    await expect(page.locator(".msg")).to_have_count(0)

    # Another tab on the same computer: a new visit, a new conversation, nothing of the first.
    other = await page.context.new_page()
    await other.goto(f"{chat_server.url}/chat")
    assert TOKEN_KEY not in (await storage(other))["session"]
    await write(other, "what is this program")
    await expect(other.locator(".msg.assistant")).not_to_have_count(0)
    await expect(other.locator(".msg.assistant").filter(has_text=answer)).to_have_count(0)
    await expect(other.locator(".msg.person")).to_have_count(1)
    assert (await storage(other))["session"][TOKEN_KEY] != first_token
    await other.close()


@pytest.mark.parametrize("how", ["button", "keyboard", "escape"])
async def test_leave_now_clears_the_chat_and_back_does_not_show_it(
    page: Page, chat_server: LiveServer, exit_site: LoopbackServer, how: str
) -> None:
    await page.goto(f"{exit_site.url}/before")  # where the person was before the chat
    await page.goto(f"{chat_server.url}/chat")
    await write(page, STILL_OPEN["fr"])
    await answered(page, 1)
    assert TOKEN_KEY in (await storage(page))["session"]
    leave = page.get_by_role("button", name=LEAVE)
    await expect(leave).to_be_visible()
    if how == "button":
        await leave.click()
    elif how == "keyboard":  # the first stop of the tab order, then Enter
        await page.reload()  # the same tab: the conversation is still in its storage
        assert TOKEN_KEY in (await storage(page))["session"]
        await page.keyboard.press("Tab")
        await expect(leave).to_be_focused()
        await page.keyboard.press("Enter")
    else:
        await page.get_by_label("Your message / Votre message").press("Escape")
        await page.keyboard.press("Escape")
    await expect(page).to_have_url(f"{exit_site.url}/weather")
    await expect(page.get_by_role("heading")).to_have_text("Weather /weather")
    # Back goes to where the person was before, never to the chat.
    await page.go_back()
    await expect(page).to_have_url(f"{exit_site.url}/before")
    # The chat's storage in this tab is empty: opening /chat again starts from nothing.
    await page.goto(f"{chat_server.url}/chat")
    assert await storage(page) == {"session": {}, "local": {}}
    await expect(page.locator(".msg")).to_have_count(0)


async def test_one_escape_alone_does_not_leave(page: Page, chat_server: LiveServer) -> None:
    await page.goto(f"{chat_server.url}/chat")
    await write(page, STILL_OPEN["en"])
    await answered(page, 1)
    await page.get_by_label("Your message / Votre message").press("Escape")
    await write(page, "what is this program")  # still here, still the same conversation
    await answered(page, 2)
    await expect(page).to_have_url(f"{chat_server.url}/chat")


async def test_the_quick_exit_and_privacy_note_speak_french_too(
    page: Page, chat_server: LiveServer
) -> None:
    await page.goto(f"{chat_server.url}/chat")
    leave = page.get_by_role("button", name=LEAVE)
    await expect(leave).to_contain_text("Quitter")
    await expect(leave).to_contain_text("Échap Échap")
    assert "Quitter cette page maintenant" in (await leave.get_attribute("title") or "")
    await expect(page.locator("#privacy-note")).to_contain_text(
        "Sur un ordinateur partagé, appuyez sur « Quitter »"
    )
    # Always on screen: fixed in the corner, even after a long conversation scrolls.
    assert await leave.evaluate("b => getComputedStyle(b).position") == "fixed"
