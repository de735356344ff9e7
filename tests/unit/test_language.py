"""Language detection and the sticky-language rules (issue 2, item 3)."""

from __future__ import annotations

import pytest

from bot.language import asks_for_language_menu, detect, explicit_switch, resolve


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", "en"),
        ("can i bring my kids", "en"),
        ("wat if i change my mind", "en"),
        ("is the program still open", "en"),
        ("bonjour", "fr"),
        ("cmb d'argent on donne", "fr"),
        ("jai peur de rentrer", "fr"),
        ("c quoi ce programme", "fr"),
        ("Qu'est-ce que l'ARVR?", "fr"),
        ("est ce que je peux partir avec mes enfants", "fr"),
        ("ok", None),
        ("1", None),
        ("👍", None),
    ],
)
def test_detect(text: str, expected: str | None) -> None:
    assert detect(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("English", "en"),
        ("english please", "en"),
        ("in English", "en"),
        ("anglais", "en"),
        ("en anglais svp", "en"),
        ("Français", "fr"),
        ("francais", "fr"),
        ("en français s'il vous plaît", "fr"),
        ("French please", "fr"),
        ("parlez français", "fr"),
        ("I speak English and French", None),
        ("is the program in english", None),
    ],
)
def test_explicit_switch(text: str, expected: str | None) -> None:
    assert explicit_switch(text) == expected


def test_language_menu_requests() -> None:
    assert asks_for_language_menu("/language")
    assert asks_for_language_menu("Langue")
    assert not asks_for_language_menu("what language is the form in")


def test_first_message_sets_the_language() -> None:
    assert resolve(None, "bonjour je voudrais de l'aide", None, "en") == "fr"
    assert resolve(None, "hello i need help", None, "fr") == "en"


def test_first_message_without_clue_uses_channel_hint_then_default() -> None:
    assert resolve(None, "ok", "fr-CA", "en") == "fr"
    assert resolve(None, "ok", None, "en") == "en"
    assert resolve(None, "1", "de", "fr") == "fr"


@pytest.mark.parametrize("text", ["ok", "1", "merci", "thanks", "oui", "yes", "allo", "👍"])
def test_short_messages_keep_the_current_language(text: str) -> None:
    assert resolve("fr", text, None, "en") == "fr"
    assert resolve("en", text, None, "en") == "en"


def test_a_clear_message_in_the_other_language_switches() -> None:
    assert resolve("en", "est-ce que le programme est encore ouvert", None, "en") == "fr"
    assert resolve("fr", "is the program still open for people like me", None, "fr") == "en"


def test_explicit_switch_wins_over_everything() -> None:
    assert resolve("fr", "English", "fr", "fr") == "en"
    assert resolve("en", "français", "en", "en") == "fr"
