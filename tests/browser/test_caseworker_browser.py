"""The caseworker app in a real headless Chromium (Debian's, driven by Playwright), against the
real app served by uvicorn on a loopback port, with a SQLite database and a fake Rasa.

Set UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/*.png from these runs.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from bot.settings import PROJECT_ROOT
from bot.store import migrate
from tests.caseworker_support import PASSWORD, LiveServer, add_user, make_referral
from tests.helpers import FakeRasa, echo_answer, make_settings

SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
XSS = '<script>window.__xss = 1</script> help <img src=x onerror="window.__xss = 2">'


@pytest.fixture(scope="module")
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa(echo_answer)
    rasa.start()
    yield rasa
    rasa.stop()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('browser') / 'intake.db'}"


@pytest.fixture(scope="module")
async def server(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, fake_rasa: FakeRasa
) -> AsyncIterator[LiveServer]:
    settings = make_settings(tmp_path_factory.mktemp("data"), database_url, fake_rasa.url)
    migrate.upgrade(database_url)
    await add_user(database_url, "cara", display_name="Cara Caseworker")
    await add_user(database_url, "lea", display_name="Léa Intervenante", ui_language="fr")
    await add_user(database_url, "sam", role="supervisor", display_name="Sam Supervisor")
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


async def log_in(page: Page, server: LiveServer, username: str, language: str = "en") -> None:
    await page.goto(f"{server.url}/caseworker/login?lang={language}")
    await page.get_by_label("Username" if language == "en" else "Nom d'utilisateur").fill(username)
    await page.get_by_label("Password" if language == "en" else "Mot de passe").fill(PASSWORD)
    await page.get_by_role("button", name="Log in" if language == "en" else "Se connecter").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Queue" if language == "en" else "File"
    )


async def person_writes(server: LiveServer, user: str, text: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/channels/web/messages", json={"user": user, "text": text})
        assert response.status_code == 200
        return response.json()["replies"]


async def person_polls(server: LiveServer, user: str) -> list[str]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/channels/web/messages", params={"user": user})
        return [r["text"] for r in response.json()["replies"]]


def shot(page: Page, name: str, tmp_path: Path) -> Path:
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


async def test_caseworker_goes_from_login_to_reply_and_close(
    page: Page, server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    await log_in(page, server, "cara")
    person = f"web-{uuid.uuid4().hex[:10]}"

    # A new referral arrives while the queue is open: it appears without a reload.
    await person_writes(server, person, XSS)
    referral_id = make_referral(
        database_url,
        person,
        language="en",
        priority=1,
        intake={
            "first_name": "Amina",
            "country_of_origin": "Kenya",
            "household_size": 3,
            "has_passport": True,
            "phone": "+14165550123",
            "consent": {"given": True, "version": "2026-11", "at": "2026-11-27T06:00:00Z"},
        },
        screening_outcome="likely_eligible",
        screening_reasons=[
            {
                "rule_id": "in_gta",
                "en": "Lives in the Greater Toronto Area",
                "fr": "Habite dans la région du Grand Toronto",
            }
        ],
        flags=["minor_in_household"],
    )
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("Likely eligible")
    await page.screenshot(path=shot(page, "queue.png", tmp_path), full_page=True)

    # Read the intake, the reasons, the flags, the consent record; contact details masked.
    await row.get_by_role("link").click()
    await expect(page.locator("#h-intake + dl")).to_contain_text("Country of origin")
    await expect(page.locator("#h-intake + dl")).to_contain_text("Kenya")
    await expect(page.locator(".reasons")).to_contain_text("Lives in the Greater Toronto Area")
    await expect(page.locator("ul.flags")).to_contain_text("Minor in household")
    await expect(page.locator("#h-consent + dl")).to_contain_text("2026-11")
    await expect(page.locator("#contact-details")).to_contain_text("••••••••0123")
    await expect(page.locator("#contact-details")).not_to_contain_text("+14165550123")

    # What the person wrote is inert text: shown literally, never run, no <img> element.
    message = page.locator(".msg-person .text").first
    await expect(message).to_have_text(XSS)
    assert await page.evaluate("window.__xss") is None
    assert await page.locator("#messages img").count() == 0

    # Claim it
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator("#referral-status")).to_have_text("Claimed")
    await expect(page.locator("#referral-assignee")).to_have_text("Cara Caseworker")

    # Reply: it shows in the conversation and reaches the person through the web chat poll.
    reply = "Hello Amina, I am Cara. When can I call you?"
    await page.get_by_label("Message", exact=True).fill(reply)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".msg-caseworker")).to_contain_text("When can I call you?")
    await expect(page.locator("#conversation-status")).to_contain_text("assistant silent")
    assert reply in await person_polls(server, person)

    # The person answers: the message appears on the open page without a reload.
    assert await person_writes(server, person, "Tomorrow at 10 works") == []  # bot silent
    await expect(page.locator(".msg-person").last).to_have_text(re.compile("Tomorrow at 10"))
    await page.screenshot(path=shot(page, "referral.png", tmp_path), full_page=True)
    # On a phone the columns stack and nothing overflows sideways.
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.screenshot(path=shot(page, "referral-phone.png", tmp_path))
    await page.set_viewport_size({"width": 1366, "height": 900})

    # Reveal the contact details (audited), hand back, close with an outcome.
    await page.get_by_role("button", name="Reveal (recorded)").click()
    await expect(page.locator("#contact-details")).to_contain_text("+14165550123")
    await page.goto(f"{server.url}/caseworker/referrals/{referral_id}")
    await page.get_by_role("button", name="Hand back to the assistant").click()
    await expect(page.locator("#conversation-status")).to_have_text("Assistant answering")
    assert await person_writes(server, person, "one more question") != []  # bot answers again

    await page.get_by_label("Outcome", exact=True).select_option("enrolled")
    await page.locator("#close-note").fill("Intake call booked")
    await page.get_by_role("button", name="Close", exact=True).click()
    await expect(page.locator("#referral-status")).to_have_text("Closed — Enrolled")
    await expect(page.get_by_role("button", name="Reopen")).to_be_visible()


async def test_french_ui_and_canned_reply_in_the_persons_language(
    page: Page, server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    person = f"web-{uuid.uuid4().hex[:10]}"
    await person_writes(server, person, "bonjour, je voudrais parler à quelqu'un")
    referral_id = make_referral(database_url, person, language="fr")
    await log_in(page, server, "lea", language="fr")
    await expect(page.locator(f'tr[data-referral="{referral_id}"]')).to_contain_text(
        "Demande à parler à quelqu'un"
    )
    await page.goto(f"{server.url}/caseworker/referrals/{referral_id}")
    await expect(page.locator("#h-intake + p")).to_contain_text("Aucune réponse au formulaire")
    await page.get_by_label("Réponse type (Français)").select_option("best_time")
    await expect(page.get_by_label("Message", exact=True)).to_have_value(
        "Quand puis-je vous appeler? Est-ce sûr d'appeler ce numéro?"
    )
    await page.get_by_role("button", name="Envoyer").click()
    await expect(page.locator(".msg-caseworker")).to_contain_text("Quand puis-je vous appeler?")
    await page.screenshot(path=shot(page, "referral-fr.png", tmp_path), full_page=True)
    assert "Quand puis-je vous appeler? Est-ce sûr d'appeler ce numéro?" in await person_polls(
        server, person
    )
    await page.get_by_label("Résultat", exact=True).select_option("referred_elsewhere")
    await page.get_by_role("button", name="Fermer", exact=True).click()
    await expect(page.locator("#referral-status")).to_have_text("Fermée — Orienté ailleurs")
    # The caseworker switches the UI to English.
    await page.get_by_role("button", name="English").click()
    await expect(page.locator("#referral-status")).to_have_text("Closed — Referred elsewhere")


async def test_supervisor_pages_are_for_supervisors_only(page: Page, server: LiveServer) -> None:
    await log_in(page, server, "cara")
    nav = page.get_by_role("navigation")
    await expect(nav.get_by_role("link", name="Audit log")).to_have_count(0)
    response = await page.goto(f"{server.url}/caseworker/supervisor/audit")
    assert response is not None and response.status == 403
    await expect(page.locator(".error")).to_have_text(
        "Your role does not give access to this page."
    )
    response = await page.goto(f"{server.url}/caseworker/supervisor/numbers")
    assert response is not None and response.status == 403

    await page.context.clear_cookies()
    await log_in(page, server, "sam")
    await page.get_by_role("navigation").get_by_role("link", name="Audit log").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    await page.get_by_label("Action").fill("view")
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("tbody tr").first).to_contain_text("view")
    await page.get_by_role("navigation").get_by_role("link", name="Export").click()
    await expect(page.locator(".warning")).to_contain_text("personal data")
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("referrals-")


async def test_caseworker_changes_own_password_in_the_browser(
    page: Page, server: LiveServer, database_url: str
) -> None:
    await add_user(database_url, "dora", display_name="Dora Caseworker", ui_language="fr")
    await log_in(page, server, "dora", "fr")
    await page.get_by_role("link", name="Mon mot de passe").click()
    await page.get_by_label("Mot de passe actuel").fill(PASSWORD)
    await page.get_by_label("Nouveau mot de passe", exact=True).fill("un tout nouveau secret")
    await page.get_by_label("Nouveau mot de passe, à nouveau").fill("un autre secret ici")
    await page.get_by_role("button", name="Changer mon mot de passe").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Les deux nouveaux mots de passe sont différents."
    )
    await page.get_by_label("Mot de passe actuel").fill(PASSWORD)
    await page.get_by_label("Nouveau mot de passe", exact=True).fill("un tout nouveau secret")
    await page.get_by_label("Nouveau mot de passe, à nouveau").fill("un tout nouveau secret")
    await page.get_by_role("button", name="Changer mon mot de passe").click()
    await expect(page.get_by_role("status")).to_have_text("Mot de passe changé.")
