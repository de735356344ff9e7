"""A supervisor erases a person's data from the caseworker UI in a real headless Chromium (the
person asked by phone): the card, the confirmation page, the reference, the referral gone from
the queue and its address saying it was erased; in French. A caseworker is not offered it."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from bot.store import migrate
from tests.caseworker_support import PASSWORD, LiveServer, add_user
from tests.helpers import FakeRasa, echo_answer, make_settings, web_post
from tests.intake_support import conversation_of, fill_form, referral_of

REFERENCE = re.compile(r"ER-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")


@pytest.fixture(scope="module")
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa(echo_answer)
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('erasure-browser') / 'intake.db'}"


@pytest.fixture(scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, fake_rasa: FakeRasa
) -> AsyncIterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("data"), database_url, fake_rasa.url)
    migrate.upgrade(database_url)
    await add_user(database_url, "cara")
    await add_user(database_url, "sam", role="supervisor", ui_language="fr")
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


async def log_in(page: Page, server: LiveServer, username: str, language: str) -> None:
    await page.goto(f"{server.url}/caseworker/login?lang={language}")
    await page.get_by_label("Username" if language == "en" else "Nom d'utilisateur").fill(username)
    await page.get_by_label("Password" if language == "en" else "Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Log in" if language == "en" else "Se connecter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Queue" if language == "en" else "File"
    )


async def test_supervisor_erases_after_confirming(
    page: Page, server: LiveServer, database_url: str
) -> None:
    person = f"web-{uuid.uuid4().hex[:10]}"
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await web_post(client, person, "bonjour")
        assert response.status_code == 200
    conversation_id = conversation_of(database_url, "web", person)
    await fill_form(database_url, conversation_id, "fr")
    referral_id = referral_of(database_url, conversation_id)

    await log_in(page, server, "cara", "en")
    await page.goto(f"{server.url}/caseworker/referrals/{referral_id}")
    await expect(page.locator("#h-intake")).to_be_visible()
    await expect(page.locator("#erase-start")).to_have_count(0)  # not for a caseworker
    await page.context.clear_cookies()

    await log_in(page, server, "sam", "fr")
    await page.locator(f'tr[data-referral="{referral_id}"]').get_by_role("link").click()
    await expect(page.locator("#h-erase")).to_have_text("Effacer les données de la personne")
    await page.locator("#erase-start").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Tout effacer au sujet de cette personne?"
    )
    await page.get_by_role("button", name="Oui, effacer maintenant").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Effacé.")
    reference = await page.locator("#erasure-reference").inner_text()
    assert REFERENCE.fullmatch(reference)

    await page.locator("#main").get_by_role("link", name="File", exact=True).click()
    await expect(page.locator(f'tr[data-referral="{referral_id}"]')).to_have_count(0)
    await page.goto(f"{server.url}/caseworker/referrals/{referral_id}")
    await expect(page.locator("#erasure-reference")).to_have_text(reference)
    await expect(page.get_by_role("status")).to_contain_text(
        "Cette demande a été effacée à la demande de la personne."
    )
