"""The caseworker UI words exist in both languages; texts sent to people fit the SMS budget;
values are displayed, masked and exported safely."""

from __future__ import annotations

import pytest

from bot import sms
from bot.caseworker import i18n, service


def test_every_ui_text_and_value_exists_in_english_and_french() -> None:
    tables = [i18n.UI, i18n.CANNED, i18n.CANNED_LABELS, i18n.STATUS]
    tables += list(i18n.VALUES.values())
    for table in tables:
        for key, texts in table.items():
            assert set(texts) == {"en", "fr"}, key
            assert texts["en"].strip() and texts["fr"].strip(), key


@pytest.mark.parametrize("table", [i18n.CANNED, i18n.STATUS], ids=["canned", "status"])
def test_texts_sent_to_people_fit_in_two_sms_segments(table: dict) -> None:
    for key, texts in table.items():
        for language, text in texts.items():
            cost = sms.cost(text)
            assert cost.segments <= 2, (key, language, cost)


def test_status_messages_fit_in_one_sms_when_they_can() -> None:
    # English status messages are plain GSM-7 and take one segment.
    for texts in i18n.STATUS.values():
        assert sms.cost(texts["en"]) == sms.SmsCost("GSM-7", len(texts["en"]), 1)


def test_masking_keeps_only_the_last_four_characters_of_long_values() -> None:
    assert service.mask("+14165550123") == "••••••••0123"
    assert service.mask("1234567") == "•••••••"  # short: nothing shown
    assert service.mask(12345678) == "••••5678"


def test_referral_values_read_from_the_vocabulary() -> None:
    assert i18n.value("outcome", "referred_elsewhere", "fr") == "Orienté ailleurs"
    assert i18n.value("screening", "likely_not_eligible", "fr") == "Probablement non admissible"
    assert i18n.value("kind", "intake", "fr") == "Formulaire d'accueil"
    assert i18n.value("screening", "some_new_outcome", "en") == "Some new outcome"


def test_intake_is_split_into_answers_and_contact_details() -> None:
    answers, contact = service.split_intake(
        {"first_name": "A", "phone": "+14165550123", "citizenship": "HU"}
    )
    assert answers == {"first_name": "A", "citizenship": "HU"}
    assert contact == {"phone": "+14165550123"}


@pytest.mark.parametrize("raw", ["=HYPERLINK(1)", "+1416", "-2", "@SUM(A1)"])
def test_export_cells_that_spreadsheets_would_run_are_made_text(raw: str) -> None:
    assert service._cell(raw) == "'" + raw
    assert service._cell("Amina") == "Amina"


def test_times_are_shown_in_the_program_time_zone() -> None:
    from datetime import UTC, datetime

    from bot.caseworker.routes import common as routes

    zone = routes.zone_named("America/Toronto")
    assert routes.zone_named("Nowhere/Atlantis") is UTC  # an unknown zone falls back to UTC
    saved = routes.templates.globals.get("display_zone")
    routes.templates.globals["display_zone"] = zone
    try:
        winter = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
        assert routes.local_time(winter) == "2026-11-27 07:00 EST"
        naive_summer = datetime(2026, 7, 1, 12, 0)  # SQLite gives naive UTC back
        assert routes.local_time(naive_summer) == "2026-07-01 08:00 EDT"
    finally:
        routes.templates.globals["display_zone"] = saved
