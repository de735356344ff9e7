"""The caseworker app in a real headless Chromium (Debian's, driven by Playwright), against the
real app served by uvicorn on a loopback port, with a SQLite database and a fake Rasa. The
referrals' intakes are made by the real form code (tests/intake_support.py), in both languages.

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

from actions.intake_texts import CONSENT_VERSION
from bot.settings import PROJECT_ROOT
from bot.store import migrate
from tests.caseworker_support import PASSWORD, LiveServer, add_user
from tests.helpers import FakeRasa, echo_answer, make_settings, web_address, web_poll, web_post
from tests.intake_support import assert_reads_in, conversation_of, fill_form, referral_of

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
    await add_user(database_url, "cara", display_name="Cara Diallo")
    await add_user(database_url, "lea", display_name="Léa Tremblay", ui_language="fr")
    await add_user(database_url, "sam", role="supervisor", display_name="Sam Okafor")
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
        response = await web_post(client, user, text)
        assert response.status_code == 200
        return response.json()["replies"]


async def person_polls(server: LiveServer, user: str) -> list[str]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await web_poll(client, user)
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

    # A new referral arrives while the queue is open: it appears without a reload. Its intake
    # is made by the real form code from the answers a person types (tests/intake_support.py).
    await person_writes(server, person, XSS)
    conversation_id = conversation_of(database_url, "web", person)
    await fill_form(database_url, conversation_id, "en")
    referral_id = referral_of(database_url, conversation_id)
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    await expect(row).to_be_visible()
    await expect(row).to_contain_text("Ana")
    await expect(row).to_contain_text("Hungary → Romania")
    await expect(row).to_contain_text("Likely eligible")
    await expect(row).to_contain_text("Children travelling")
    assert_reads_in("en", await page.locator("main").inner_text())
    await page.screenshot(path=shot(page, "queue.png", tmp_path), full_page=True)

    # Read the intake, the reasons, the flags, the consent record; contact details masked.
    await row.get_by_role("link").click()
    intake = page.locator("#h-intake + dl")
    await expect(intake.locator('[data-field="citizenship"] dd')).to_have_text("Hungary")
    await expect(intake.locator('[data-field="return_country"]')).to_contain_text("Romania")
    await expect(intake.locator('[data-field="immigration_status"]')).to_contain_text(
        "Claim refused"
    )
    await expect(intake.locator('[data-field="decision_date"]')).to_contain_text(
        "last week (as said, not a date)"
    )
    await expect(intake.locator('[data-field="prior_return"]')).to_contain_text(
        "As typed, not understood: “blorp”"
    )
    await expect(page.locator(".reasons")).to_contain_text("Refused refugee claim")
    await expect(page.locator("ul.flags")).to_contain_text("Health or mobility needs")
    await expect(page.locator("#consent")).to_contain_text("Given")
    await expect(page.locator("#consent")).to_contain_text(CONSENT_VERSION)
    await expect(page.locator("#contact-details")).not_to_contain_text(person)
    assert_reads_in("en", await page.locator("main").inner_text())

    # What the person wrote is inert text: shown literally, never run, no <img> element.
    message = page.locator(".msg-person .text").first
    await expect(message).to_have_text(XSS)
    assert await page.evaluate("window.__xss") is None
    assert await page.locator("#messages img").count() == 0

    # Claim it
    await page.get_by_role("button", name="Claim").click()
    await expect(page.locator("#referral-status")).to_have_text("Claimed")
    await expect(page.locator("#referral-assignee")).to_have_text("Cara Diallo")

    # Reply: it shows in the conversation and reaches the person through the web chat poll.
    reply = "Hello Ana, I am Cara. When can I call you?"
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
    # A web chat person's address: the keyed hash of their token (no name, no token).
    await expect(page.locator("#contact-details")).to_contain_text(web_address(person))
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
    await person_writes(server, person, "bonjour, je voudrais rentrer chez moi")
    conversation_id = conversation_of(database_url, "web", person)
    await fill_form(database_url, conversation_id, "fr")
    referral_id = referral_of(database_url, conversation_id)
    await log_in(page, server, "lea", language="fr")
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    await expect(row).to_contain_text("Marie")
    await expect(row).to_contain_text("Hongrie → Roumanie")
    await expect(row).to_contain_text("Formulaire d'accueil")
    await expect(row).to_contain_text("Enfants du voyage")
    assert_reads_in("fr", await page.locator("main").inner_text())
    await page.screenshot(path=shot(page, "queue-fr.png", tmp_path), full_page=True)
    await page.goto(f"{server.url}/caseworker/referrals/{referral_id}")
    intake = page.locator("#h-intake + dl")
    await expect(intake.locator('[data-field="citizenship"] dd')).to_have_text("Hongrie")
    await expect(intake.locator('[data-field="immigration_status"]')).to_contain_text(
        "Mesure de renvoi reçue"
    )
    await expect(intake.locator('[data-field="area"] dd')).to_have_text("Oui")
    await expect(intake.locator('[data-field="passport"] dd')).to_have_text("Expiré")
    await expect(intake.locator('[data-field="prior_return"]')).to_contain_text(
        "Tel qu'écrit, non compris : “bof bof”"
    )
    await expect(page.locator("#consent")).to_contain_text("Donné")
    await expect(page.locator("ul.flags")).to_contain_text("Enfants du voyage")
    assert_reads_in("fr", await page.locator("main").inner_text())
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
    await add_user(database_url, "dora", display_name="Dora Nguyen", ui_language="fr")
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


@pytest.mark.parametrize("language", ["en", "fr"])
async def test_a_crisis_arrives_on_top_of_the_open_queue_and_draws_attention(
    page: Page, server: LiveServer, database_url: str, language: str
) -> None:
    username = f"duty-{language}"  # its own account: other tests change their users' language
    await add_user(database_url, username, display_name="On duty", ui_language=language)
    await log_in(page, server, username, language)
    # An ordinary intake referral first, with flags that raise its priority...
    ordinary = f"web-{uuid.uuid4().hex[:10]}"
    await person_writes(server, ordinary, "hello")
    await fill_form(database_url, conversation_of(database_url, "web", ordinary), "en")
    await expect(page.locator("#urgent-alert")).to_be_hidden()
    # ...then a person in crisis writes while the caseworker looks at the queue.
    person = f"web-{uuid.uuid4().hex[:10]}"
    replies = await person_writes(server, person, "i dont want to live anymore")
    assert "911" in replies[0]["text"]
    referral_id = referral_of(database_url, conversation_of(database_url, "web", person))
    alert = page.locator("#urgent-alert")
    await expect(alert).to_be_visible()
    await expect(alert).to_have_text(
        "A new urgent referral is at the top of the queue."
        if language == "en"
        else "Une nouvelle demande urgente est en haut de la file."
    )
    # Above every ordinary referral (urgent ones among themselves: longest waiting first).
    row = page.locator(f'tr[data-referral="{referral_id}"]')
    await expect(row).to_have_class("prio-urgent")
    ids = await page.locator("#queue-rows tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.referral, r.className])"
    )
    position = [rid for rid, _ in ids].index(referral_id)
    assert all(cls == "prio-urgent" for _, cls in ids[: position + 1])
    ordinary_id = referral_of(database_url, conversation_of(database_url, "web", ordinary))
    assert [rid for rid, _ in ids].index(ordinary_id) > position
    await expect(row).to_contain_text("Urgent")
    await expect(row).to_contain_text(
        "Crisis: danger, self-harm or medical emergency"
        if language == "en"
        else "Crise : danger, idées suicidaires ou urgence médicale"
    )
    await expect(page).to_have_title(re.compile(r"^\(\d+\) "))
    assert_reads_in(language, await page.locator("main").inner_text())
